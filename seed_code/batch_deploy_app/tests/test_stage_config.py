import json
from pathlib import Path

import pytest

from batch_deploy.stage_config import STAGES, ConfigError, StageConfig, load_all, load_stage_config, parse_stage_config

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

VALID = {
    "instance_type": "ml.m5.large",
    "instance_count": 2,
    "input_uri": "s3://mlops-batch-prod-data/input/",
    "output_uri": "s3://mlops-batch-prod-data/output/",
    "schedule_expression": "cron(0 6 * * ? *)",
}


def parse(**changes):
    data = dict(VALID)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not ...}  # ... removes a key
    return parse_stage_config("prod", data, "config/prod.json")


def test_shipped_configs_are_valid_and_scheduled():
    configs = load_all(CONFIG_DIR)
    assert list(configs) == list(STAGES)
    for stage, config in configs.items():
        assert config.stage == stage
        assert config.schedule_enabled and config.network_isolation
        assert config.input_uri.startswith(f"s3://mlops-batch-{stage}-data/")
    assert configs["prod"].batch_strategy == "MultiRecord" and configs["prod"].max_payload_mb == 6
    assert configs["dev"].batch_strategy is None and configs["dev"].max_payload_mb is None


def test_defaults():
    assert parse() == StageConfig(
        stage="prod",
        instance_type="ml.m5.large",
        instance_count=2,
        input_uri="s3://mlops-batch-prod-data/input/",
        output_uri="s3://mlops-batch-prod-data/output/",
        schedule_expression="cron(0 6 * * ? *)",
        schedule_timezone="UTC",
        schedule_enabled=True,
        content_type="text/csv",
        split_type="Line",
        accept="text/csv",
        assemble_with="Line",
        max_payload_mb=None,
        batch_strategy=None,
        network_isolation=True,
        tags={},
    )


def test_every_optional_field_is_read():
    config = parse(
        schedule_timezone="Europe/Paris",
        schedule_enabled=False,
        content_type="application/jsonlines",
        split_type="RecordIO",
        accept="application/x-recordio-protobuf",
        assemble_with="None",
        max_payload_mb=0,
        batch_strategy="SingleRecord",
        network_isolation=False,
        tags={"team": "ml", "cost-center": "42"},
    )
    assert (config.schedule_timezone, config.schedule_enabled) == ("Europe/Paris", False)
    assert (config.content_type, config.split_type) == ("application/jsonlines", "RecordIO")
    assert (config.accept, config.assemble_with) == ("application/x-recordio-protobuf", "None")
    assert (config.max_payload_mb, config.batch_strategy) == (0, "SingleRecord")
    assert config.network_isolation is False
    assert list(config.tags) == ["cost-center", "team"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"instance_type": ...}, "missing required key instance_type"),
        ({"input_uri": ...}, "missing required key input_uri"),
        ({"schedule_expression": ...}, "missing required key schedule_expression"),
        ({"instance_typo": "x"}, "unknown key(s) instance_typo (allowed: accept, assemble_with, batch_strategy,"),
        ({"instance_type": "m5.large"}, "instance_type 'm5.large' is not a SageMaker instance type like 'ml.m5.large'"),
        ({"instance_count": 0}, "instance_count must be a whole number between 1 and 100, got 0"),
        ({"instance_count": 101}, "instance_count must be a whole number between 1 and 100, got 101"),
        ({"instance_count": True}, "instance_count must be a whole number between 1 and 100, got True"),
        ({"instance_count": "2"}, "instance_count must be a whole number between 1 and 100, got '2'"),
        (
            {"input_uri": "s3://Data/in/"},
            (
                "input_uri 's3://Data/in/' bucket name 'Data' must be 3-63 lowercase letters, digits, dots or "
                "hyphens, starting and ending with a letter or digit"
            ),
        ),
        (
            {"output_uri": "s3://mlops-batch-prod-data"},
            (
                "output_uri 's3://mlops-batch-prod-data' must look like 's3://bucket/prefix' "
                "(a key prefix after the bucket is required)"
            ),
        ),
        (
            {"output_uri": "s3://mlops-batch-prod-data/input/"},
            "output_uri 's3://mlops-batch-prod-data/input/' must differ from input_uri",
        ),
        (
            {"output_uri": "s3://mlops-batch-prod-data/input/scores/"},
            (
                "output_uri 's3://mlops-batch-prod-data/input/scores/' must not start with the input prefix "
                "'s3://mlops-batch-prod-data/input/': the next run would read this run's output as input"
            ),
        ),
        (
            {"schedule_expression": "rate(1 days)"},
            "schedule_expression 'rate(1 days)' must use the singular unit with 1: 'rate(1 day)'",
        ),
        (
            {"schedule_timezone": "Mars/Olympus Mons"},
            (
                "schedule_timezone 'Mars/Olympus Mons' must be an IANA time zone name such as 'UTC' or "
                "'Europe/Paris' (at most 50 characters)"
            ),
        ),
        ({"schedule_enabled": "yes"}, "schedule_enabled must be true or false, got 'yes'"),
        ({"content_type": "csv"}, "content_type 'csv' is not a MIME type like 'text/csv'"),
        ({"accept": "text/${x}"}, "accept 'text/${x}' is not a MIME type like 'text/csv'"),
        ({"split_type": "line"}, "split_type must be one of 'None', 'Line', 'RecordIO', 'TFRecord', got 'line'"),
        ({"assemble_with": "RecordIO"}, "assemble_with must be one of 'None', 'Line', got 'RecordIO'"),
        ({"max_payload_mb": 101}, "max_payload_mb must be a whole number between 0 and 100, got 101"),
        ({"max_payload_mb": 6.5}, "max_payload_mb must be a whole number between 0 and 100, got 6.5"),
        (
            {"batch_strategy": "AllRecords"},
            "batch_strategy must be one of 'MultiRecord', 'SingleRecord', got 'AllRecords'",
        ),
        (
            {"batch_strategy": "MultiRecord", "split_type": "None"},
            "batch_strategy needs split_type 'Line', 'RecordIO' or 'TFRecord', not 'None'",
        ),
        ({"network_isolation": 1}, "network_isolation must be true or false, got 1"),
        ({"tags": []}, "tags must be an object of key/value strings"),
        ({"tags": {"sagemaker:project-name": "x"}}, "tag key 'sagemaker:project-name' uses a reserved prefix"),
        ({"tags": {"AWS:owner": "x"}}, "tag key 'AWS:owner' uses a reserved prefix"),
        ({"tags": {"team": 5}}, "tag 'team' must have a string value of at most 256 characters"),
        ({"tags": {"te{am}": "x"}}, "tag key 'te{am}' is not a valid tag key"),
    ],
)
def test_invalid_configs_name_file_and_field(changes, message):
    with pytest.raises(ConfigError) as error:
        parse(**changes)
    assert str(error.value).startswith(f"config/prod.json: {message}"), str(error.value)
    assert "\n" not in str(error.value)


def test_not_an_object():
    with pytest.raises(ConfigError, match=r"^dev\.json: must be a JSON object$"):
        parse_stage_config("dev", [VALID], "dev.json")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"dev\.json: file not found$"):
        load_stage_config(tmp_path, "dev")
    (tmp_path / "dev.json").write_text('{"instance_type": "ml.m5.large",}')
    with pytest.raises(ConfigError, match=r"dev\.json: invalid JSON at line 1 column 33"):
        load_stage_config(tmp_path, "dev")


def test_every_stage_file_is_required(tmp_path):
    for stage in ("dev", "prod"):
        (tmp_path / f"{stage}.json").write_text(json.dumps(VALID))
    with pytest.raises(ConfigError, match=r"preprod\.json: file not found$"):
        load_all(tmp_path)
