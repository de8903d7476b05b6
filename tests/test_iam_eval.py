"""The lifecycle's IAM evaluator against the IAM user guide's rules, one documented case per row
("Policy evaluation logic", "IAM JSON policy elements: Action/Resource/Condition", "Condition
operators", "Cross-account policy evaluation logic", KMS "Key policies")."""

from __future__ import annotations

import pytest

from tests.lifecycle.iam_eval import Principal, Request, Unsupported, evaluate

ME = "arn:aws:iam::111111111111:role/me"
OTHER = "222222222222"
KEY = f"arn:aws:kms:eu-west-1:{OTHER}:key/k"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


CASES = {
    # name: (identity policies, boundary, request, allowed)
    "exact grant": ([doc(allow("s3:GetObject", "arn:aws:s3:::b/k"))], None,
                    Request("s3:GetObject", "arn:aws:s3:::b/k"), True),
    "no statement is an implicit deny": ([doc(allow("s3:PutObject"))], None, Request("s3:GetObject", "x"), False),
    "actions match case-insensitively": ([doc(allow("S3:getobject"))], None, Request("s3:GetObject", "x"), True),
    "action wildcards": ([doc(allow("s3:Get*"))], None, Request("s3:GetObjectVersion", "x"), True),
    "resources match case-sensitively": ([doc(allow("s3:GetObject", "arn:aws:s3:::Bucket/*"))], None,
                                         Request("s3:GetObject", "arn:aws:s3:::bucket/k"), False),
    "? matches one character": ([doc(allow("s3:GetObject", "arn:aws:s3:::b?/k"))], None,
                                Request("s3:GetObject", "arn:aws:s3:::b1/k"), True),
    "* spans path separators": ([doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))], None,
                                Request("s3:GetObject", "arn:aws:s3:::b/a/b/c"), True),
    "explicit deny wins": ([doc(allow("s3:*"), deny("s3:GetObject"))], None, Request("s3:GetObject", "x"), False),
    "NotAction allows the rest": ([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], None,
                                  Request("s3:GetObject", "x"), True),
    "NotAction excludes its actions": ([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], None,
                                       Request("iam:PassRole", "x"), False),
    "NotResource deny spares the listed resources": (
        [doc(allow("iam:PutRolePolicy"), {"Effect": "Deny", "Action": "iam:PutRolePolicy",
                                          "NotResource": "arn:aws:iam::1:role/p-*"})], None,
        Request("iam:PutRolePolicy", "arn:aws:iam::1:role/p-x"), True),
    "NotResource deny hits everything else": (
        [doc(allow("iam:PutRolePolicy"), {"Effect": "Deny", "Action": "iam:PutRolePolicy",
                                          "NotResource": "arn:aws:iam::1:role/p-*"})], None,
        Request("iam:PutRolePolicy", "arn:aws:iam::1:role/admin"), False),
    "StringEquals needs the key": ([doc(allow("iam:PassRole", Condition={"StringEquals": {
        "iam:PassedToService": "sagemaker.amazonaws.com"}}))], None, Request("iam:PassRole", "r"), False),
    "StringEquals with the key": ([doc(allow("iam:PassRole", Condition={"StringEquals": {
        "iam:PassedToService": "sagemaker.amazonaws.com"}}))], None,
        Request("iam:PassRole", "r", {"iam:PassedToService": "sagemaker.amazonaws.com"}), True),
    "condition keys are case-insensitive": ([doc(allow("iam:PassRole", Condition={"StringEquals": {
        "iam:passedtoservice": "sagemaker.amazonaws.com"}}))], None,
        Request("iam:PassRole", "r", {"iam:PassedToService": "sagemaker.amazonaws.com"}), True),
    "a missing key makes a negated operator true": ([doc(allow("iam:CreateRole"), deny("iam:CreateRole", Condition={
        "ArnNotEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}}))], None,
        Request("iam:CreateRole", "r"), False),
    "a matching value makes a negated operator false": ([doc(allow("iam:CreateRole"), deny("iam:CreateRole", Condition={
        "ArnNotEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}}))], None,
        Request("iam:CreateRole", "r", {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}), True),
    "IfExists is true without the key": ([doc(allow("s3:GetObject", Condition={"StringEqualsIfExists": {
        "s3:prefix": "x"}}))], None, Request("s3:GetObject", "r"), True),
    "StringLike wildcards": ([doc(allow("kms:Decrypt", Condition={"StringLike": {
        "kms:ViaService": "s3.*.amazonaws.com"}}))], None,
        Request("kms:Decrypt", "k", {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}), True),
    "StringLike refuses another service": ([doc(allow("kms:Decrypt", Condition={"StringLike": {
        "kms:ViaService": "s3.*.amazonaws.com"}}))], None,
        Request("kms:Decrypt", "k", {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}), False),
    "ArnLike compares ARN parts": ([doc(allow("sts:AssumeRole", Condition={"ArnLike": {
        "aws:PrincipalArn": "arn:aws:iam::*:role/mlops-p-*-deploy-pipeline"}}))], None,
        Request("sts:AssumeRole", "r", {"aws:PrincipalArn": "arn:aws:iam::1:role/mlops-p-1-deploy-pipeline"}), True),
    "ArnLike refuses another role": ([doc(allow("sts:AssumeRole", Condition={"ArnLike": {
        "aws:PrincipalArn": "arn:aws:iam::*:role/mlops-p-*-deploy-pipeline"}}))], None,
        Request("sts:AssumeRole", "r", {"aws:PrincipalArn": "arn:aws:iam::1:role/data-scientist"}), False),
    "Bool": ([doc(deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}), allow("s3:*"))], None,
             Request("s3:GetObject", "r", {"aws:SecureTransport": "true"}), True),
    "Null true means absent": ([doc(allow("s3:GetObject", Condition={"Null": {"s3:prefix": "true"}}))], None,
                               Request("s3:GetObject", "r"), True),
    "ForAnyValue over a multivalued key": ([doc(allow("kms:CreateKey", Condition={"ForAnyValue:StringEquals": {
        "aws:TagKeys": "sagemaker:project-id"}}))], None,
        Request("kms:CreateKey", "*", {"aws:TagKeys": ["a", "sagemaker:project-id"]}), True),
    "conditions in one statement all apply": ([doc(allow("sts:AssumeRole", Condition={
        "StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:aws:codebuild:*:1:project/x"}}))],
        None, Request("sts:AssumeRole", "r", {"aws:SourceAccount": "1",
                                              "aws:SourceArn": "arn:aws:codebuild:eu-west-1:2:project/x"}), False),
    "a boundary caps an identity grant": ([doc(allow("iam:*"))], doc(allow("s3:*")), Request("iam:CreateRole", "r"),
                                          False),
    "a boundary and a grant together allow": ([doc(allow("s3:GetObject"))], doc(allow("s3:*")),
                                              Request("s3:GetObject", "r"), True),
    "a boundary grants nothing by itself": ([doc(allow("s3:GetObject"))], doc(allow("*")),
                                            Request("s3:PutObject", "r"), False),
    "a boundary deny wins": ([doc(allow("iam:*"))], doc(allow("*"), deny("iam:DeleteRolePermissionsBoundary")),
                             Request("iam:DeleteRolePermissionsBoundary", "r"), False),
}


@pytest.mark.parametrize("policies,boundary,request_,allowed", CASES.values(), ids=list(CASES))
def test_identity_policy_evaluation(policies, boundary, request_, allowed):
    assert evaluate(Principal(ME, tuple(policies), boundary), request_).allowed is allowed


def _resource(principal, *, owner, grant_identity=True, action="s3:GetObject", resource="arn:aws:s3:::b/k"):
    identity = (doc(allow(action)),) if grant_identity else ()
    policy = doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"})
    return evaluate(Principal(ME, identity), Request(action, resource, {}, policy, owner)).allowed


RESOURCE_CASES = {
    # name: (resource policy principal, owner account, identity grant, action, resource, allowed)
    "cross-account needs both policies": ("arn:aws:iam::111111111111:root", OTHER, True, "s3:GetObject",
                                          "arn:aws:s3:::b/k", True),
    "cross-account identity alone is not enough": ("arn:aws:iam::999999999999:root", OTHER, True, "s3:GetObject",
                                                    "arn:aws:s3:::b/k", False),
    "cross-account resource policy alone is not enough": ("111111111111", OTHER, False, "s3:GetObject",
                                                          "arn:aws:s3:::b/k", False),
    "same account: a policy naming the role suffices": (ME, "111111111111", False, "s3:GetObject", "arn:aws:s3:::b/k",
                                                        True),
    "same account: a policy naming the account delegates to IAM": ("arn:aws:iam::111111111111:root", "111111111111",
                                                                   False, "s3:GetObject", "arn:aws:s3:::b/k", False),
    "a key policy must allow, even with an identity grant": ("arn:aws:iam::999999999999:root", "111111111111", True,
                                                             "kms:Decrypt", KEY, False),
    "a key policy delegating to the account lets IAM allow": ("arn:aws:iam::111111111111:root", "111111111111", True,
                                                              "kms:Decrypt", KEY, True),
}


@pytest.mark.parametrize("principal,owner,identity,action,resource,allowed", RESOURCE_CASES.values(),
                         ids=list(RESOURCE_CASES))
def test_resource_policy_evaluation(principal, owner, identity, action, resource, allowed):
    assert _resource(principal, owner=owner, grant_identity=identity, action=action, resource=resource) is allowed


TRUST = doc({"Effect": "Allow", "Principal": {"Service": ["codebuild.amazonaws.com"]}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}})


@pytest.mark.parametrize("service,context,allowed", [
    ("codebuild.amazonaws.com", {"aws:SourceAccount": "1"}, True),
    ("codebuild.amazonaws.com", {"aws:SourceAccount": "2"}, False),
    ("codebuild.amazonaws.com", {}, False),
    ("events.amazonaws.com", {"aws:SourceAccount": "1"}, False),
], ids=["its service and account", "another account", "no source account", "another service"])
def test_a_trust_policy_decides_which_service_may_assume(service, context, allowed):
    request = Request("sts:AssumeRole", "arn:aws:iam::1:role/r", context, TRUST, "1")
    assert evaluate(Principal(service), request).allowed is allowed


@pytest.mark.parametrize("statement", [
    allow("s3:GetObject", Condition={"NumericLessThan": {"s3:max-keys": "10"}}),
    allow("s3:GetObject", "arn:aws:s3:::${aws:username}/*"),
    {"Effect": "Allow", "NotPrincipal": {"AWS": ME}, "Action": "s3:*", "Resource": "*"},
], ids=["an operator it does not implement", "a policy variable", "NotPrincipal"])
def test_what_the_evaluator_does_not_model_is_refused_not_guessed(statement):
    policy = doc(statement)
    with pytest.raises(Unsupported):
        evaluate(Principal(ME, (policy,)), Request("s3:GetObject", "arn:aws:s3:::b/k", {"s3:max-keys": "5"}, policy, "1"))
