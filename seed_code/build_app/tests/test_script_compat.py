"""The job scripts run inside SageMaker images with older Python and libraries."""

import ast

import pytest

from model_build.artifacts import SCRIPTS

ALLOWED_IMPORTS = {
    "__future__", "argparse", "glob", "json", "logging", "math", "os", "pickle",
    "sys", "tarfile", "tempfile", "numpy", "pandas", "sklearn", "xgboost",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_parses_as_python_3_8(name):
    ast.parse(SCRIPTS[name].read_text(), feature_version=(3, 8))


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_is_self_contained(name):
    """Each script is uploaded alone, so it may only import what the image has."""
    tree = ast.parse(SCRIPTS[name].read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports break when the script runs alone"
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
