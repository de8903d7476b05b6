import json
from pathlib import Path

import pytest

from model_deploy.stage_config import (
    STAGES,
    Autoscaling,
    ConfigError,
    load_all,
    load_stage_config,
    parse_stage_config,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

VALID = {"instance_type": "ml.m5.large", "instance_count": 2, "variant_name": "AllTraffic"}


def parse(**changes):
    data = dict(VALID)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not ...}
    return parse_stage_config("prod", data, "config/prod.json")


def test_shipped_configs_are_valid():
    configs = load_all(CONFIG_DIR)
    assert list(configs) == list(STAGES)
    assert configs["dev"].autoscaling is None
    assert configs["prod"].autoscaling == Autoscaling(2, 4, 100.0, 300, 60)
    assert all(c.network_isolation for c in configs.values())


def test_defaults():
    config = parse()
    assert config.autoscaling is None and config.tags == {} and config.network_isolation


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"instance_type": ...}, "config/prod.json: missing required key instance_type"),
        ({"instance_type": "m5.large"}, "instance_type 'm5.large' is not a SageMaker instance type"),
        ({"instance_count": 0}, "instance_count must be a whole number >= 1, got 0"),
        ({"instance_count": True}, "instance_count must be a whole number >= 1, got True"),
        ({"instance_count": "2"}, "instance_count must be a whole number >= 1, got '2'"),
        ({"variant_name": "all traffic"}, "variant_name 'all traffic' must be 1-63 letters"),
        ({"network_isolation": "yes"}, "network_isolation must be true or false"),
        ({"instance_typo": "x"}, "unknown key(s) instance_typo"),
        ({"autoscaling": []}, "autoscaling must be an object or null"),
        (
            {"autoscaling": {"min_capacity": 1, "max_capacity": 2}},
            "autoscaling is missing required key target_invocations_per_instance",
        ),
        (
            {"autoscaling": {"min_capacity": 2, "max_capacity": 1, "target_invocations_per_instance": 5}},
            "autoscaling.max_capacity (1) must be >= min_capacity (2)",
        ),
        (
            {"autoscaling": {"min_capacity": 3, "max_capacity": 4, "target_invocations_per_instance": 5}},
            "instance_count (2) must lie between autoscaling min_capacity (3) and max_capacity (4)",
        ),
        (
            {"autoscaling": {"min_capacity": 1, "max_capacity": 4, "target_invocations_per_instance": 0}},
            "target_invocations_per_instance must be a number > 0, got 0",
        ),
        (
            {"autoscaling": {"min_capacity": 1, "max_capacity": 4, "target_invocations_per_instance": 5,
                             "scale_in_cooldown_seconds": -1}},
            "autoscaling.scale_in_cooldown_seconds must be a whole number >= 0, got -1",
        ),
        (
            {"autoscaling": {"min_capacity": 1, "max_capacity": 4, "target_invocations_per_instance": 5,
                             "cooldown": 1}},
            "unknown autoscaling key(s) cooldown",
        ),
        ({"tags": {"sagemaker:project-name": "x"}}, "reserved prefix"),
        ({"tags": {"team": 5}}, "tag 'team' must have a string value"),
    ],
)
def test_invalid_configs_name_file_and_key(changes, message):
    with pytest.raises(ConfigError) as error:
        parse(**changes)
    assert str(error.value).startswith("config/prod.json: ")
    assert message in str(error.value)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"dev\.json: file not found"):
        load_stage_config(tmp_path, "dev")
    (tmp_path / "dev.json").write_text('{"instance_type": "ml.m5.large",}')
    with pytest.raises(ConfigError, match=r"dev\.json: invalid JSON at line 1 column 33"):
        load_stage_config(tmp_path, "dev")
    (tmp_path / "dev.json").write_text(json.dumps([VALID]))
    with pytest.raises(ConfigError, match="must be a JSON object"):
        load_stage_config(tmp_path, "dev")


def test_extra_tags_are_sorted():
    config = parse(tags={"team": "ml", "cost-center": "42"})
    assert list(config.tags) == ["cost-center", "team"]
