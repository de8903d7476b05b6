"""StackDeployer details that the emulator cannot show (it never pages stack events)."""

from __future__ import annotations

import datetime

from src.deploy.changeset import StackDeployer


def _event(n: int, status: str, logical_id: str = "Res", reason: str = "") -> dict:
    return {
        "EventId": f"e{n}",
        "Timestamp": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=n),
        "ResourceStatus": status,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::S3::Bucket",
        "ResourceStatusReason": reason,
    }


class PagedEvents:
    """describe_stack_events serving newest-first pages of two events."""

    def __init__(self, events: list[dict]):
        self.newest_first = sorted(events, key=lambda e: e["Timestamp"], reverse=True)
        self.calls = 0

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict:
        self.calls += 1
        start = int(NextToken or 0)
        page = {"StackEvents": self.newest_first[start : start + 2]}
        if start + 2 < len(self.newest_first):
            page["NextToken"] = str(start + 2)
        return page


def test_first_failure_is_found_beyond_the_first_page_of_events():
    old = [_event(0, "CREATE_COMPLETE", "Stack")]
    new = [
        _event(1, "CREATE_FAILED", "Bucket", "name taken"),
        _event(2, "CREATE_FAILED", "Key", "Resource creation cancelled"),
        _event(3, "ROLLBACK_IN_PROGRESS", "Stack"),
        _event(4, "DELETE_COMPLETE", "Key"),
        _event(5, "ROLLBACK_COMPLETE", "Stack"),
    ]
    cfn = PagedEvents(old + new)
    message = StackDeployer(cfn, echo=lambda _: None)._first_failure("s", {"e0"})
    assert message == "first failure: Bucket (AWS::S3::Bucket): name taken"
    assert cfn.calls == 3  # read back to the page holding a known event, not further


def test_new_events_come_oldest_first_and_only_once():
    cfn = PagedEvents([_event(i, "CREATE_IN_PROGRESS", f"R{i}") for i in range(5)])
    deployer = StackDeployer(cfn, echo=lambda _: None)
    seen = {"e0"}
    assert [e["EventId"] for e in deployer._new_events("s", seen)] == ["e1", "e2", "e3", "e4"]
    assert deployer._new_events("s", seen) == []


class FailedCreate:
    """A stack left in ROLLBACK_COMPLETE; records what the deployer does to it."""

    def __init__(self):
        self.deleted = False

    def describe_stacks(self, StackName: str) -> dict:
        return {"Stacks": [{"StackStatus": "ROLLBACK_COMPLETE"}]}

    def delete_stack(self, **_):
        self.deleted = True


def test_a_failed_create_is_not_deleted_when_the_user_declines():
    import pytest

    from src.deploy.changeset import DeployError, StackSpec

    cfn = FailedCreate()
    spec = StackSpec(name="s", template="{}", account="123456789012", region="eu-west-1")
    with pytest.raises(DeployError, match="ROLLBACK_COMPLETE after a failed create"):
        StackDeployer(cfn, echo=lambda _: None).deploy(spec, confirm_recreate=lambda name: False)
    assert cfn.deleted is False


def test_before_and_after_values_cloudformation_reports_replace_the_template_diff():
    """Shape of a DescribeChangeSet response with IncludePropertyValues (CloudFormation API
    reference, ResourceChangeDetail / ResourceTargetDefinition); moto returns none."""
    deployer = StackDeployer(cfn=None)
    deployer._raw_changes = [{"ResourceChange": {
        "LogicalResourceId": "Bucket",
        "Details": [{"Target": {"Attribute": "Properties", "Name": "BucketName", "Path": "/Properties/BucketName",
                                "BeforeValue": "old-name", "AfterValue": "new-name", "RequiresRecreation": "Always"}},
                    {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"}}],
    }}]
    (change,) = deployer._service_property_values()
    assert (change.path, change.old, change.new) == ("Bucket.Properties.BucketName", "old-name", "new-name")
