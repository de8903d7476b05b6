"""Change review: what changes, which changes broaden access, and who must approve them."""

from __future__ import annotations

import copy

import pytest

from src.deploy.approval import Approval, ApprovalPolicy, ApprovalRefused
from src.deploy.review import Change, render, review

ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "RoleName": "r",
        "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "x"},
                                                    "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}],
    },
}
BUCKET = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b", "Tags": [{"Key": "k", "Value": "1"}]}}
OLD = {"Resources": {"Role": ROLE, "Bucket": BUCKET}}
MODIFY_ROLE = [Change("Modify", "Role", "AWS::IAM::Role", "False")]


def changed(path: str, value) -> dict:
    new = copy.deepcopy(OLD)
    node = new["Resources"]
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return new


GRANT_PUT = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
             {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]

CASES = {
    # name: (changes, new template, broadening reasons)
    "tag change": ([Change("Modify", "Bucket", "AWS::S3::Bucket", "False")],
                   changed("Bucket.Properties.Tags.0.Value", "2"), []),
    "statement added": (MODIFY_ROLE, changed("Role.Properties.Policies.0.PolicyDocument.Statement", GRANT_PUT),
                        ["adds IAM statement(s) in Role.Policies[0].PolicyDocument"]),
    "statement removed": (MODIFY_ROLE, changed("Role.Properties.Policies.0.PolicyDocument.Statement", []), []),
    "managed policy attached": (MODIFY_ROLE, changed("Role.Properties.ManagedPolicyArns", ["arn:aws:iam::aws:policy/A"]),
                                ["attaches arn:aws:iam::aws:policy/A"]),
    "resource removed": ([Change("Remove", "Bucket", "AWS::S3::Bucket", "")], {"Resources": {"Role": ROLE}},
                         ["removes Bucket"]),
    "resource replaced": ([Change("Modify", "Bucket", "AWS::S3::Bucket", "True")],
                          changed("Bucket.Properties.BucketName", "c"), ["replaces Bucket"]),
    "conditional replacement": ([Change("Modify", "Bucket", "AWS::S3::Bucket", "Conditional")],
                                changed("Bucket.Properties.BucketName", "c"), ["replaces Bucket"]),
    "trust widened": (MODIFY_ROLE, changed("Role.Properties.AssumeRolePolicyDocument.Statement",
                                           [ROLE["Properties"]["AssumeRolePolicyDocument"]["Statement"][0],
                                            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]),
                      ["adds IAM statement(s) in Role.AssumeRolePolicyDocument"]),
}


@pytest.mark.parametrize("name", CASES)
def test_broadening(name):
    changes, new, reasons = CASES[name]
    assert review(changes, OLD, new, {}, {}).broadening_reasons == reasons


def test_a_new_stack_with_a_role_is_broadening():
    found = review([Change("Add", "Role", "AWS::IAM::Role", "")], None, OLD, {}, {"A": "1"})
    assert found.broadening and found.parameters == [] and found.properties == []


def test_changed_properties_show_old_and_new():
    found = review([], OLD, changed("Bucket.Properties.Tags.0.Value", "2"), {}, {})
    assert [(p.path, p.old, p.new) for p in found.properties] == [("Bucket.Properties.Tags[0].Value", "1", "2")]


def test_changed_parameters_show_old_and_new():
    found = review([], OLD, OLD, {"A": "1", "B": "x"}, {"A": "2", "B": "x", "C": "3"})
    assert [(p.path, p.old, p.new) for p in found.parameters] == [("Parameters.A", "1", "2"),
                                                                   ("Parameters.C", "(none)", "3")]


def test_statements_added_and_removed_are_listed_each():
    new = changed("Role.Properties.Policies.0.PolicyDocument.Statement", [GRANT_PUT[1]])
    found = review(MODIFY_ROLE, OLD, new, {}, {})
    assert [(s.added, s.statement["Action"]) for s in found.statements] == [(True, "s3:PutObject"),
                                                                             (False, "s3:GetObject")]


def test_rendered_review_marks_additions_and_removals():
    new = changed("Role.Properties.Policies.0.PolicyDocument.Statement", [GRANT_PUT[1]])
    lines = render(review(MODIFY_ROLE, OLD, new, {"A": "1"}, {"A": "2"}), color=False)
    assert "  ~ Parameters.A: 1 -> 2" in lines
    assert any(line.startswith("  + IAM Role.Policies[0].PolicyDocument:") and "s3:PutObject" in line for line in lines)
    assert any(line.startswith("  - IAM Role.Policies[0].PolicyDocument:") and "s3:GetObject" in line for line in lines)
    assert lines[-1].startswith("  broadening: adds IAM statement(s)")


def test_colour_only_when_asked():
    found = review(MODIFY_ROLE, OLD, changed("Role.Properties.ManagedPolicyArns", ["a"]), {}, {})
    assert not any("\x1b[" in line for line in render(found, color=False))
    assert all("\x1b[" in line for line in render(found, color=True))


# --- approval ------------------------------------------------------------------------------------

BROADENING = review(MODIFY_ROLE, OLD, changed("Role.Properties.ManagedPolicyArns", ["a"]), {}, {})
NARROW = review([Change("Modify", "Bucket", "AWS::S3::Bucket", "False")], OLD,
                changed("Bucket.Properties.Tags.0.Value", "2"), {}, {})


@pytest.mark.parametrize(
    "policy, found, needs",
    [
        ("never", BROADENING, False),
        ("any-change", NARROW, True),
        ("any-change", BROADENING, True),
        ("broadening", NARROW, False),
        ("broadening", BROADENING, True),
    ],
)
def test_which_changes_need_approval(policy, found, needs):
    assert bool(ApprovalPolicy(policy).reasons(found)) is needs


class Record:
    label = "s (111111111111/eu-west-1)"


class Console:
    def __init__(self, answer: bool):
        self.answer, self.asked = answer, 0

    def ask(self, question):
        self.asked += 1
        return self.answer


def test_without_a_terminal_and_without_yes_a_change_needing_approval_is_refused():
    approval = Approval("broadening", yes=False, interactive=False, console=Console(True))
    with pytest.raises(ApprovalRefused, match=r"needs approval \(--require-approval broadening: attaches a\)"):
        approval.approve(Record(), BROADENING)


def test_yes_approves_without_asking():
    console = Console(False)
    assert Approval("any-change", yes=True, interactive=True, console=console).approve(Record(), BROADENING)
    assert console.asked == 0


def test_on_a_terminal_the_answer_decides():
    console = Console(False)
    assert not Approval("broadening", yes=False, interactive=True, console=console).approve(Record(), BROADENING)
    assert console.asked == 1


def test_a_change_needing_no_approval_is_not_asked_about():
    console = Console(False)
    assert Approval("broadening", yes=False, interactive=False, console=console).approve(Record(), NARROW)
    assert console.asked == 0


TRUSTING = {
    "Parameters": {"Principals": {"Type": "CommaDelimitedList"}, "Owner": {"Type": "String", "Default": "admin"}},
    "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": {"Ref": "Principals"}}, "Action": "sts:AssumeRole"}]}}}},
}


def test_a_parameter_that_policies_use_is_broadening_when_it_changes():
    found = review(MODIFY_ROLE, TRUSTING, TRUSTING, {"Principals": "a", "Owner": "admin"}, {"Principals": "a,b"})
    assert found.broadening_reasons == ["changes Principals, which grant access"]


def test_a_parameter_no_policy_uses_is_not_broadening():
    found = review(MODIFY_ROLE, TRUSTING, TRUSTING, {"Principals": "a", "Owner": "admin"},
                   {"Principals": "a", "Owner": "someone"})
    assert [p.path for p in found.parameters] == ["Parameters.Owner"] and not found.broadening


def test_parameters_left_to_their_defaults_are_not_changes():
    found = review(MODIFY_ROLE, TRUSTING, TRUSTING, {"Principals": "a", "Owner": "admin"}, {"Principals": "a"})
    assert found.parameters == []


def test_sub_references_count_as_uses():
    template = {"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {"PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${Reader}:root"}}, "Action": "s3:GetObject"}]}}}}}
    found = review([], template, template, {"Reader": "1"}, {"Reader": "2"})
    assert found.access_parameters == ["Reader"]
