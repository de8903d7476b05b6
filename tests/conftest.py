"""Shared fixtures: the default config, a fresh in-memory render, and dist/ as committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from src.config import PlatformConfig, load_config
from src.render import render_all

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
    """Print measured figures into the test output, past pytest's capture."""

    def emit(lines: list[str]) -> None:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))

    return emit
