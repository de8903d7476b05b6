"""Dockerfile, docker-build.sh and the two buildspecs (no Docker engine here:
the script is checked with bash -n, shellcheck and its DRY_RUN mode)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

APP_DIR = Path(__file__).resolve().parents[1]
SCRIPT = APP_DIR / "docker-build.sh"
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-abalone-demo"


def run_script(**env):
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={"PATH": os.environ["PATH"], "DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        cwd="/",
    )


def test_bash_syntax():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_shellcheck_clean():
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    result = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checks_for_the_commit_tag_then_pushes_only_it():
    result = run_script(ECR_REPOSITORY_URI=REPO, CODEBUILD_RESOLVED_SOURCE_VERSION="abc123")
    assert result.returncode == 0, result.stderr
    commands = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert commands == [
        "aws ecr describe-images --region eu-west-1 --repository-name sagemaker-abalone-demo "
        "--image-ids imageTag=abc123",
        "aws ecr get-login-password --region eu-west-1 | docker login --username AWS "
        "--password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        f"docker build --pull --tag {REPO}:abc123 .",
        f"docker push {REPO}:abc123",
    ]


def test_latest_only_outside_codebuild():
    result = run_script(ECR_REPOSITORY_URI=REPO)
    assert result.returncode == 0, result.stderr
    pushes = [line for line in result.stdout.splitlines() if line.startswith("+ docker push")]
    assert pushes == [f"+ docker push {REPO}:latest"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "ECR_REPOSITORY_URI must be set"),
        ({"ECR_REPOSITORY_URI": REPO + ":v1"}, "is not <account>.dkr.ecr.<region>.amazonaws.com/<repository>"),
    ],
)
def test_rejects_bad_environment(env, message):
    result = run_script(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_dockerfile_builds_the_container_package():
    text = (APP_DIR / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM public.ecr.aws/docker/library/python:3.11")
    copies = re.findall(r"^COPY (\S+) (\S+)$", text, re.M)
    for source, _ in copies:
        assert (APP_DIR / source).exists(), source
    assert ("container/requirements.txt", "/opt/program/requirements.txt") in copies
    assert ("container/abalone_model", "/opt/program/abalone_model") in copies
    assert 'ENTRYPOINT ["python3", "-m", "abalone_model"]' in text
    assert "PYTHONPATH=/opt/program" in text
    assert "EXPOSE 8080" in text


def test_entrypoint_commands_sagemaker_uses():
    """`docker run IMAGE train|serve` becomes `python3 -m abalone_model train|serve`."""
    result = subprocess.run(
        [sys.executable, "-m", "abalone_model", "serve", "--help"],
        cwd=APP_DIR / "container", capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0 and "--model-dir" in result.stdout


def test_docker_buildspec_runs_the_script():
    spec = yaml.safe_load((APP_DIR / "docker-buildspec.yml").read_text())
    assert spec["version"] == 0.2
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    assert "bash ./docker-build.sh" in commands


def test_pipeline_buildspec_installs_app_and_runs_cli():
    spec = yaml.safe_load((APP_DIR / "buildspec.yml").read_text())
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    assert any(re.search(r"pip install .*\s\.$", c) for c in commands)
    assert any(c.startswith("run-pipeline") for c in commands)
