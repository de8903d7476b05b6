"""Where moto's service APIs are stricter than AWS, or read a policy too narrowly, the
lifecycle corrects them here (test side only; product code never works around the emulator).

- CodeBuild CreateProject: moto demands a `location` for every source and artifacts type;
  for type CODEPIPELINE AWS ignores it (CodeBuild API reference, ProjectSource.location and
  ProjectArtifacts.location: "If type is set to CODEPIPELINE, ... this value is ignored").
  moto also drops the project's `encryptionKey` (it always reports alias/aws/s3); the key
  given is kept, as CodeBuild keeps it.
- S3 PutBucketLogging: S3 accepts a logging configuration only if the target bucket's policy
  lets the log delivery service write there (S3 user guide, "Permissions for log delivery").
  moto implements the check but raises on a string Principal elsewhere in the policy and never
  matches a list Resource; the decision is made by the lifecycle's policy evaluator instead.
- CodePipeline CreatePipeline: AWS refuses a role CodePipeline cannot assume. moto only
  accepts a trust policy whose Service principal is a single string (a list, as IAM allows,
  is refused); the trust policy is evaluated by the lifecycle's evaluator instead.
- S3 object requests: moto applies a bucket policy's Deny statements on its own, and reads
  "aws:SecureTransport": "false" as matching the emulator's plain-HTTP endpoint. Real SDK
  calls use HTTPS; bucket policies are evaluated by the lifecycle's authorizer, with the
  request context AWS would see, for every request a lifecycle role makes.
- SageMaker CreateModelPackage / ListModelPackages: `ModelPackageGroupName` is a name or an
  ARN (botocore's SageMaker model: shape ArnOrName); moto only finds a group by name.
- EventBridge TestEventPattern: moto 5.2 answers with an empty body (no `Result`). It is
  answered with moto's own event pattern matcher, the one its PutEvents routing uses.
"""

from __future__ import annotations

import json
from typing import Any

from tests.lifecycle.iam_eval import Principal, Request, evaluate

PIPELINE_TYPES = ("CODEPIPELINE", "NO_SOURCE", "NO_ARTIFACTS")


def install(monkeypatch) -> None:
    from moto.codebuild import responses as codebuild
    from moto.s3.models import FakeBucket

    original_source = codebuild._validate_required_params_source
    original_artifacts = codebuild._validate_required_params_artifacts

    def source(value: dict[str, Any]) -> None:
        if value.get("type") in PIPELINE_TYPES:
            return
        original_source(value)

    def artifacts(value: dict[str, Any]) -> None:
        if value.get("type") in PIPELINE_TYPES:
            return
        original_artifacts(value)

    original_create = codebuild.CodeBuildResponse.create_project

    def create_project(self):
        result = original_create(self)
        key = self._get_param("encryptionKey")
        if key:
            self.codebuild_backend.codebuild_projects[self._get_param("name")].project_metadata["encryptionKey"] = key
        return result

    monkeypatch.setattr(codebuild.CodeBuildResponse, "create_project", create_project)
    monkeypatch.setattr(codebuild, "_validate_required_params_source", source)
    monkeypatch.setattr(codebuild, "_validate_required_params_artifacts", artifacts)
    monkeypatch.setattr(FakeBucket, "_log_permissions_enabled_policy", staticmethod(log_delivery_allowed))
    _fix_pipeline_trust_check(monkeypatch)
    from moto.iam.access_control import PermissionResult

    monkeypatch.setattr(FakeBucket, "get_permission", lambda self, action, resource: PermissionResult.NEUTRAL)
    _accept_group_arns(monkeypatch)
    _answer_test_event_pattern(monkeypatch)


def _answer_test_event_pattern(monkeypatch) -> None:
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self):
        pattern = EventPattern.load(self._get_param("EventPattern"))
        return self._create_response({"Result": pattern.matches_event(json.loads(self._get_param("Event")))})

    monkeypatch.setattr(EventsHandler, "test_event_pattern", test_event_pattern)


def _accept_group_arns(monkeypatch) -> None:
    from moto.sagemaker.models import SageMakerModelBackend

    for method in ("create_model_package", "list_model_packages"):
        original = getattr(SageMakerModelBackend, method)

        def by_name(self, *args, _original=original, **kwargs):
            group = kwargs.get("model_package_group_name")
            if isinstance(group, str) and group.startswith("arn:") and ":model-package-group/" in group:
                kwargs["model_package_group_name"] = group.rsplit("/", 1)[1]
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SageMakerModelBackend, method, by_name)


def _fix_pipeline_trust_check(monkeypatch) -> None:
    from moto.codepipeline.exceptions import InvalidStructureException
    from moto.codepipeline.models import CodePipelineBackend

    original = CodePipelineBackend.create_pipeline

    def create_pipeline(self, pipeline: dict[str, Any], tags: Any):
        role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
        trust = json.loads(role.assume_role_policy_document)
        request = Request("sts:AssumeRole", role.arn, {}, trust, role.account_id)
        if not evaluate(Principal(arn="codepipeline.amazonaws.com"), request).allowed:
            raise InvalidStructureException(f"CodePipeline is not authorized to perform AssumeRole on role {role.arn}")
        kept = role.assume_role_policy_document
        role.assume_role_policy_document = json.dumps(
            {"Statement": [{"Principal": {"Service": "codepipeline.amazonaws.com"}}]})  # what moto can read
        try:
            return original(self, pipeline, tags)
        finally:
            role.assume_role_policy_document = kept

    monkeypatch.setattr(CodePipelineBackend, "create_pipeline", create_pipeline)


def log_delivery_allowed(target_bucket: Any, target_prefix: str | None) -> bool:
    if not target_bucket.policy:
        return False
    policy = target_bucket.policy.decode() if isinstance(target_bucket.policy, bytes) else target_bucket.policy
    resource = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}log"
    request = Request("s3:PutObject", resource, {"aws:SourceAccount": target_bucket.account_id},
                      json.loads(policy), target_bucket.account_id)
    return evaluate(Principal(arn="logging.s3.amazonaws.com"), request).allowed
