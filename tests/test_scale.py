"""Many account sets: a 64-set config validates, renders every template, and goes through
package and deploy on the emulator (figures, not timed assertions: bench/scale.py measures)."""

from __future__ import annotations

import json
import time

import pytest

from bench.configs import config_with_sets
from bench.scale import package_and_deploy, reset
from src import contracts
from src.aws import Aws, AwsOptions
from src.config import PlatformConfig, parse_config
from src.lint import lint_templates
from src.local import emulator_session
from src.render import render_all
from src.templates import registry
from src.templates.products import PRODUCTS, ProductScope

SETS = 64


@pytest.fixture(scope="module")
def config() -> PlatformConfig:
    return parse_config(config_with_sets(SETS), "64-sets.yaml")


@pytest.fixture(scope="module")
def rendered(config) -> dict[str, str]:
    return render_all(config)


def test_generated_config_has_distinct_accounts_and_dev_account_regions():
    data = config_with_sets(SETS)
    sets = data["account_sets"]
    accounts = [s[k] for s in sets for k in ("dev_account", "preprod_account", "prod_account")]
    assert len(set(accounts)) == 3 * SETS
    assert len({(s["dev_account"], s["region"]) for s in sets}) == SETS
    assert len({s["region"] for s in sets}) > 1


def test_64_sets_validate(config):
    assert [s.name for s in config.account_sets] == [s["name"] for s in config_with_sets(SETS)["account_sets"]]
    assert len(config.regions) == 4


def test_every_template_of_64_sets_is_rendered(config, rendered):
    assert list(rendered) == list(registry.plan(config))
    for account_set in config.account_sets:
        name = account_set.name
        own = [contracts.dist_service_catalog(name), contracts.dist_pipeline(name)]
        own += [p.dist_path(name) for p in PRODUCTS if p.scope is ProductScope.PER_SET]
        assert set(own) <= set(rendered), name
    assert len([path for path in rendered if path.startswith("sets/")]) == SETS * len(own)


def test_every_rendered_template_is_deterministic_json(rendered):
    for path, text in rendered.items():
        assert text.endswith("}\n") and text.isascii(), path
        assert json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n" == text, path


def test_per_set_templates_name_their_own_set(config, rendered):
    for account_set in config.account_sets:
        text = rendered[contracts.dist_service_catalog(account_set.name)]
        assert account_set.dev_account in text and account_set.prod_account in text


def test_shared_templates_do_not_grow_with_the_sets(rendered):
    """Templates every set shares take the sets' accounts as parameters: with 64 sets they are
    those of 2 sets (as cfn-lint checks them in dist/)."""
    few = render_all(parse_config(config_with_sets(2)))
    shared = [path for path in rendered if not path.startswith("sets/")]
    assert shared and all(rendered[path] == few[path] for path in shared)


def test_last_sets_service_catalog_and_pipeline_templates_pass_cfn_lint(config, rendered):
    """A spot check: linting all 260 templates takes minutes, and the sets differ only in values."""
    last = config.account_sets[-1]
    chosen = {path: rendered[path] for path in (contracts.dist_service_catalog(last.name),
                                                 contracts.dist_pipeline(last.name))}
    findings = lint_templates(chosen, sorted({last.region, config.pipeline.region}))
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.emulator
def test_64_sets_package_and_deploy_on_the_emulator(server, config, tmp_path, figures):
    reset(server)
    start = time.perf_counter()
    run = package_and_deploy(server, config, tmp_path / "package", poll_seconds=0.05)
    total = time.perf_counter() - start
    assert run.failed == [], run.log
    # Every set's Service Catalog stack is up in its own DEV account and region, and its
    # parameters point at the packaged seed code.
    aws = Aws(AwsOptions(region=config.pipeline.region, endpoint_url=server),
              session=emulator_session(config.pipeline.region))
    for account_set in (config.account_sets[0], config.account_sets[-1]):
        dev = aws.in_account(account_set.dev_account, config.app_prefix)
        cfn = dev.client("cloudformation", account_set.region)
        name = contracts.service_catalog_stack_name(config.app_prefix, account_set.name)
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        seed = dev.client("ssm", account_set.region).get_parameter(Name=contracts.SSM_SEED_BUILD)["Parameter"]
        assert seed["Value"].startswith("seed/")
    figures([
        (f"{SETS} account sets on the emulator ({run.stacks} stacks): package {run.package_seconds:.1f} s "
         f"({run.package_calls} API calls), deploy {run.deploy_seconds:.1f} s ({run.deploy_calls} API calls), "
         f"test {total:.1f} s"),
    ])
