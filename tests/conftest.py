"""Shared fixtures: the default config, a fresh in-memory render, and dist/ as committed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from src.config import PlatformConfig, load_config
from src.render import render_all

# The emulator fixtures (emu, packaged, deployed) of the modules that drive the CLI.
pytest_plugins = ["tests.emulator"]

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"


@pytest.fixture(scope="session")
def config() -> PlatformConfig:
    return load_config()


@pytest.fixture(scope="session")
def rendered(config: PlatformConfig) -> dict[str, str]:
    return render_all(config)


@pytest.fixture(scope="session")
def templates(rendered: dict[str, str]) -> dict[str, dict]:
    """dist-relative path -> parsed template, from a fresh render."""
    return {path: json.loads(text) for path, text in rendered.items()}


def resources_of(template: dict, resource_type: str | None = None) -> dict[str, dict]:
    return {
        name: res
        for name, res in template.get("Resources", {}).items()
        if resource_type is None or res["Type"] == resource_type
    }


def walk(node):
    """Every value in a JSON tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.fixture
def figures(request):
    """Measured figures for the end of the test output: kept in build/figures/ (tests run in
    several processes) and printed by the session summary."""

    def emit(lines: list[str]) -> None:
        from tests.lifecycle.figures import write_lines

        write_lines(request.node.nodeid, lines)

    return emit


@pytest.fixture(scope="module")
def server():
    """A moto server on 127.0.0.1 for one test module; yields its endpoint URL."""
    from src.local import moto_server

    with moto_server() as endpoint:
        yield endpoint


# The deploy apps a project's deploy repository may be seeded with: app dir -> (module, env only
# that app needs). Each renders dev/preprod/prod templates that the project's pipeline deploys.
DEPLOY_APPS = {
    "deploy_app": ("model_deploy.build", {"MODEL_EXECUTION_ROLE_NAME": "mlops-sagemaker-model-execution"}),
    "batch_deploy_app": ("batch_deploy.build", {"BATCH_EXECUTION_ROLE_NAME": "mlops-sagemaker-batch-execution",
                                                "BATCH_SCHEDULER_ROLE_NAME": "mlops-batch-scheduler"}),
}


@pytest.fixture(scope="module", params=sorted(DEPLOY_APPS))
def deploy_stage_templates(request, tmp_path_factory) -> Path:
    """A deploy app's dev/preprod/prod stage templates, rendered by the app itself (every test
    using them runs once per deploy app; `.name` of the directory is the app)."""
    app = request.param
    module, app_env = DEPLOY_APPS[app]
    out = tmp_path_factory.mktemp("stage-templates") / app
    env = {
        "PATH": os.environ["PATH"],
        "SAGEMAKER_PROJECT_NAME": "demo-project",
        "SAGEMAKER_PROJECT_ID": "p-abc123",
        "MODEL_PACKAGE_GROUP_NAME": "demo-project-p-abc123",
        "ARTIFACT_BUCKET": "mlops-p-abc123-artifacts-123456789012",
        "ARTIFACT_BUCKET_KMS_ID": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "DEV_ACCOUNT_ID": "123456789012",
        "PREPROD_ACCOUNT_ID": "210987654321",
        "PROD_ACCOUNT_ID": "310987654321",
        "DEPLOYMENT_REGION": "eu-west-1",
        **app_env,
    }
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/demo-project-p-abc123/3"
    result = subprocess.run(
        [sys.executable, "-m", module, "--output-dir", str(out), "--model-package-arn", arn],
        cwd=ROOT / "seed_code" / app,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["dev.template.json", "preprod.template.json", "prod.template.json"]
    return out


# --- lifecycle figures (tests/lifecycle/figures.py) ----------------------------------------
# Defect ids of passed regression tests; filled in the controller process (xdist sends every
# worker's reports there).
DEFECTS_CAUGHT: set[str] = set()


def pytest_configure(config):
    config.addinivalue_line("markers", "defect(id): regression test of a defect the lifecycle tests found")
    if not hasattr(config, "workerinput"):
        from tests.lifecycle import figures

        figures.clear()


def pytest_runtest_setup(item):
    for marker in item.iter_markers("defect"):
        item.user_properties.append(("defect", marker.args[0]))


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        DEFECTS_CAUGHT.update(value for key, value in report.user_properties if key == "defect")


def pytest_terminal_summary(terminalreporter, config):
    from tests.lifecycle import figures

    for lines in figures.printed_lines():
        terminalreporter.write_line("")
        for line in lines:
            terminalreporter.write_line(line)
    line = figures.summary(DEFECTS_CAUGHT)
    if line:
        terminalreporter.write_line("")
        terminalreporter.write_line(line)
