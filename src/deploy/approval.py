"""Which change sets may execute without a yes (`deploy --require-approval`, as in CDK).

- never: none needs one.
- any-change: every change set does.
- broadening: those that widen access or destroy (review.Review.broadening: IAM or
  resource-policy statements added, managed policies attached, resources removed or replaced).

A change that needs approval is asked about on a terminal; `--yes` approves everything; without
a terminal and without --yes it is refused, so CI never executes a broadening change unasked.
A declined or refused stack is not a success.
"""

from __future__ import annotations

from enum import Enum

import click

from src.deploy.changeset import DeployError
from src.deploy.review import Review


class ApprovalPolicy(str, Enum):
    NEVER = "never"
    ANY_CHANGE = "any-change"
    BROADENING = "broadening"

    def reasons(self, review: Review) -> list[str]:
        """Why `review` needs approval under this policy (empty: it does not)."""
        if self is ApprovalPolicy.NEVER:
            return []
        if self is ApprovalPolicy.ANY_CHANGE:
            return review.broadening_reasons or [f"{len(review.changes)} change(s)"]
        return review.broadening_reasons


class ApprovalRefused(DeployError):
    """Approval was needed and nobody could give it."""


class Approval:
    def __init__(self, policy: str | ApprovalPolicy, *, yes: bool, interactive: bool, console):
        self.policy = ApprovalPolicy(policy)
        self.yes = yes
        self.interactive = interactive
        self.console = console

    def approve(self, record, review: Review) -> bool:
        reasons = self.policy.reasons(review)
        if not reasons or self.yes:
            return True
        if not self.interactive:
            raise ApprovalRefused(
                f"{record.label} needs approval (--require-approval {self.policy.value}: {'; '.join(reasons)}) and "
                f"there is no terminal to ask on: review it (build.py diff), then run again with --yes"
            )
        question = f"{record.label} ({'; '.join(reasons)}): execute these changes?"
        return self.console.ask(lambda: click.confirm(question, default=False))

    def confirm_recreate(self, stack: str) -> bool:
        if self.yes or not self.interactive:
            return True
        return self.console.ask(
            lambda: click.confirm(f"{stack} is left from a failed create. Delete it and create it again?", default=False)
        )
