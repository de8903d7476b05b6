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
