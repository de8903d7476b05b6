"""A corpus of bad inputs, one mistake each: each gives exactly one clear line naming the field
(validation reports every problem, and one mistake is one problem), exit 1, and leaves dist/
untouched. Runs the real `build.py build` command in-process."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import build
from tests.conftest import DIST, ROOT

BASE = """\
app_prefix: mlops
pipeline:
  account_id: "111111111111"
  region: eu-west-1
repository:
  name: mlops-sm-project-template
  branch: main
account_sets:
  - name: first
    dev_account: "222222222222"
    preprod_account: "333333333333"
    prod_account: "444444444444"
    region: eu-west-1
service_catalog:
  portfolio_name: SageMaker Organization Templates
  product_version: "1.0"
"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


SECOND_SET = """  - name: {name}
    dev_account: "555555555555"
    preprod_account: "666666666666"
    prod_account: "777777777777"
    region: {region}
"""

# (case id, config text, the field the message must name, a fragment it must contain)
CASES = [
    ("dev-account-11-digits", edit('dev_account: "222222222222"', 'dev_account: "22222222222"'),
     "account_sets[0].dev_account", "exactly 12 digits"),
    ("preprod-account-13-digits", edit('preprod_account: "333333333333"', 'preprod_account: "3333333333333"'),
     "account_sets[0].preprod_account", "exactly 12 digits"),
    ("prod-account-letters", edit('prod_account: "444444444444"', 'prod_account: "44444444444x"'),
     "account_sets[0].prod_account", "exactly 12 digits"),
    ("account-with-dashes", edit('prod_account: "444444444444"', 'prod_account: "4444-4444-4444"'),
     "account_sets[0].prod_account", "exactly 12 digits"),
    ("account-unquoted-number", edit('account_id: "111111111111"', "account_id: 111111111111"),
     "pipeline.account_id", "quoted string of 12 digits"),
    ("unknown-region", edit("  region: eu-west-1\nrepository", "  region: eu-west-9\nrepository"),
     "pipeline.region", "is not an AWS region name"),
    ("region-typo", edit("    region: eu-west-1\nservice", "    region: us-east-11\nservice"),
     "account_sets[0].region", "did you mean us-east-1?"),
    ("region-empty", edit("    region: eu-west-1\nservice", '    region: ""\nservice'),
     "account_sets[0].region", "must be 1-64 characters"),
    ("duplicate-set-names", BASE.replace("service_catalog:", SECOND_SET.format(name="first", region="eu-west-1") + "service_catalog:"),
     "account_sets[1].name", "duplicate account set name 'first'"),
    ("set-name-uppercase", edit("- name: first", "- name: First"), "account_sets[0].name", "lowercase letters"),
    ("set-name-17-chars", edit("- name: first", "- name: abcdefghijklmnopq"), "account_sets[0].name", "must be 1-16 characters"),
    ("set-name-like-a-project-id", edit("- name: first", "- name: p-first"), "account_sets[0].name", "reserved for SageMaker project ids"),
    ("set-name-underscore", edit("- name: first", "- name: my_set"), "account_sets[0].name", "is not allowed"),
    ("prefix-too-long", edit("app_prefix: mlops", "app_prefix: abcdefghijklmnopq"), "app_prefix", "must be 2-16 characters"),
    ("prefix-trailing-dash", edit("app_prefix: mlops", "app_prefix: mlops-"), "app_prefix", "not ending with '-'"),
    ("names-too-long-for-buckets", edit("app_prefix: mlops", "app_prefix: platform-prefix").replace("- name: first", "- name: a-very-long-name"),
     "account_sets[0].name", "> 63 characters"),
    ("missing-prefix", edit("app_prefix: mlops\n", ""), "app_prefix", "is required"),
    ("missing-pipeline", edit('pipeline:\n  account_id: "111111111111"\n  region: eu-west-1\n', ""), "pipeline", "is required"),
    ("missing-pipeline-region", edit("  region: eu-west-1\nrepository", "repository"), "pipeline.region", "is required"),
    ("missing-account-sets", BASE.split("account_sets:")[0] + "service_catalog: {}\n", "account_sets", "is required"),
    ("empty-account-sets", BASE.split("account_sets:")[0] + "account_sets: []\n", "account_sets", "at least one account set"),
    ("account-sets-mapping", BASE.split("account_sets:")[0] + "account_sets:\n  first: {}\n", "account_sets",
     "must be a list of account sets"),
    ("account-set-string", BASE.split("account_sets:")[0] + "account_sets:\n  - first\n", "account_sets[0]", "must be a mapping"),
    ("missing-prod-account", edit('    prod_account: "444444444444"\n', ""), "account_sets[0].prod_account", "is required"),
    ("prefix-wrong-type", edit("app_prefix: mlops", "app_prefix: [mlops]"), "app_prefix", "must be a string, got a list"),
    ("branch-wrong-type", edit("branch: main", "branch: 7"), "repository.branch", "must be a string, got int"),
    ("unknown-top-level-key", BASE + "colour: blue\n", "colour", "unknown key"),
    ("unknown-set-key", edit("    region: eu-west-1\nservice", "    region: eu-west-1\n    stage: dev\nservice"),
     "account_sets[0].stage", "unknown key"),
    ("unknown-service-catalog-key", BASE + "  owner: me\n", "service_catalog.owner", "unknown key"),
    ("repo-name-dot-git", edit("name: mlops-sm-project-template", "name: templates.git"), "repository.name", "must not end with '.git'"),
    ("repo-name-space", edit("name: mlops-sm-project-template", "name: my templates"), "repository.name", "is not allowed"),
    ("branch-double-slash", edit("branch: main", "branch: feature//x"), "repository.branch", "is not allowed"),
    ("role-parameter-no-slash", BASE + "  execution_role_parameter: mlops/role/lead\n",
     "service_catalog.execution_role_parameter", "starting with '/'"),
    ("product-version-space", edit('product_version: "1.0"', 'product_version: "1 0"'), "service_catalog.product_version", "is not allowed"),
    ("portfolio-name-too-long", edit("portfolio_name: SageMaker Organization Templates", "portfolio_name: " + "p" * 101),
     "service_catalog.portfolio_name", "must be 1-100 characters"),
    ("prefix-reserved-by-s3", edit("app_prefix: mlops", "app_prefix: xn--ml"), "app_prefix", "starts with a prefix S3 reserves"),
    ("repo-name-not-ascii", edit("name: mlops-sm-project-template", "name: répo"), "repository.name", "is not allowed"),
    ("same-dev-account-and-region",
     BASE.replace("service_catalog:", SECOND_SET.format(name="second", region="eu-west-1").replace("555555555555", "222222222222") + "service_catalog:"),
     "account_sets[1].dev_account", "same DEV account and region as account_sets[0]"),
    ("assets-bucket-uppercase", BASE + "assets_bucket: My-Bucket\n", "assets_bucket", "is not allowed"),
    ("assets-bucket-many-regions",
     BASE.replace("service_catalog:", SECOND_SET.format(name="second", region="us-east-1") + "service_catalog:")
     + "assets_bucket: my-assets\n", "assets_bucket", "serves one region"),
]

FILE_CASES = [
    ("malformed-yaml", "app_prefix: mlops\npipeline: [unclosed\n", "malformed YAML at line 3"),
    ("tab-indentation", "app_prefix: mlops\npipeline:\n\taccount_id: '111111111111'\n", "malformed YAML at line 3"),
    ("empty-file", "# nothing here\n", "file is empty"),
    ("top-level-list", "- app_prefix: mlops\n", "(top level): must be a mapping, got a list"),
]

RESULTS: list[str] = []


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def dist_copy(tmp_path) -> Path:
    copy = tmp_path / "dist"
    shutil.copytree(DIST, copy)
    return copy


def _build(config_text: str, tmp_path: Path, dist: Path):
    config = tmp_path / "platform.yaml"
    config.write_text(config_text)
    before = _tree_digest(dist)
    result = CliRunner().invoke(build.cli, ["--config", str(config), "build", "--dist", str(dist)])
    assert _tree_digest(dist) == before, "dist/ was modified"
    return config, result


def _single_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("case,text,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_config_names_the_field_and_writes_nothing(case, text, field, fragment, tmp_path, dist_copy):
    config, result = _build(text, tmp_path, dist_copy)
    line = _single_error_line(result)
    assert line.startswith(f"Error: invalid config: {config}: {field}: "), line
    assert fragment in line, line
    RESULTS.append(case)


@pytest.mark.parametrize("case,text,fragment", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_config_file_gives_one_line_and_writes_nothing(case, text, fragment, tmp_path, dist_copy):
    config, result = _build(text, tmp_path, dist_copy)
    line = _single_error_line(result)
    assert line.startswith(f"Error: invalid config: {config}: "), line
    assert fragment in line, line
    RESULTS.append(case)


@pytest.mark.parametrize(
    "app,missing",
    [("deploy_app", "buildspec.yml"), ("byoc_build_app", "Dockerfile"), ("build_app", None)],
    ids=["deploy-app-missing-buildspec", "byoc-missing-dockerfile", "build-app-missing"],
)
def test_incomplete_seed_code_gives_one_line_and_writes_nothing(app, missing, tmp_path, dist_copy, monkeypatch):
    seed = tmp_path / "seed_code"
    shutil.copytree(ROOT / "seed_code", seed, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    if missing:
        (seed / app / missing).unlink()
    else:
        shutil.rmtree(seed / app)
    monkeypatch.setattr(build, "SEED_CODE", seed)
    _, result = _build(BASE, tmp_path, dist_copy)
    line = _single_error_line(result)
    expected = f"missing {missing}" if missing else "directory missing"
    assert line.startswith(f"Error: seed_code/{app}: {expected}"), line
    RESULTS.append(f"seed-{app}")


def test_several_mistakes_give_a_count_and_one_indented_line_each(tmp_path, dist_copy):
    text = edit("app_prefix: mlops", "app_prefix: MLOps").replace("  region: eu-west-1\nrepository",
                                                                  "  regoin: eu-west-1\nrepository")
    config, result = _build(text, tmp_path, dist_copy)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "Error: invalid config: 2 problems",
        f"  {config}: app_prefix: 'MLOps' is not allowed: lowercase letters, digits and '-', starting with a letter, "
        "not ending with '-'",
        f"  {config}: pipeline.regoin: unknown key 'regoin' (did you mean 'region'?)",
    ]


def test_the_corpus_is_large_enough_and_fully_run(figures):
    """Runs last in this module: counts the bad inputs that were actually exercised."""
    total = len(CASES) + len(FILE_CASES) + 3
    figures([f"bad-input corpus: {len(RESULTS)} of {total} cases gave one clear line and left dist/ untouched"])
    assert total >= 30
    assert len(RESULTS) == total
