"""Every request a lifecycle role makes to the emulator is checked against that role's policies.

The moto server runs in this process, so its request authorization hook (the mixin method
moto calls before every action) is replaced by one that:
- knows which access keys belong to which role (the harness mints them with sts:AssumeRole);
- turns the request into IAM checks (tests/lifecycle/iam_requests.py);
- evaluates them (tests/lifecycle/iam_eval.py) with the role's policies and permissions
  boundary as they exist in the emulator's IAM, and the resource's policy (bucket, key, trust,
  repository and model package group policies) as it exists in the emulator, or, for the few
  the emulator does not keep (bucket policies created by its CloudFormation, model package
  group policies), as the harness recorded them from the resolved template;
- answers AccessDenied exactly as AWS would, so the app under test sees the real failure.
Requests with keys the harness did not mint (setting up the platform) are not checked.
Checks that need no HTTP request (iam:PassRole behind a CloudFormation action, a service
assuming its role) go through `check()` directly. Every decision is recorded.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from tests.lifecycle import iam_requests
from tests.lifecycle.iam_eval import Decision, Principal, Request, Unsupported, evaluate
from tests.lifecycle.iam_requests import Call, Check


@dataclass(frozen=True)
class Record:
    principal: str
    action: str
    resource: str
    allowed: bool
    reason: str
    origin: str  # "http" or what the harness played (e.g. "codepipeline CloudFormation action")


class Denied(AssertionError):
    """A lifecycle step was refused by IAM as AWS would refuse it."""


@dataclass
class Authorizer:
    keys: dict[str, str] = field(default_factory=dict)  # access key id -> role ARN
    # Resource policies the emulator does not keep: resource ARN -> (policy, owner account).
    recorded_policies: dict[str, tuple[dict, str]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- principals and resources, read from the emulator's state -------------------------

    def principal(self, role_arn: str) -> Principal:
        from moto.iam.models import iam_backends

        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        backend = iam_backends[account]["aws"]
        role = backend.get_role(name)
        policies = [json.loads(doc) if isinstance(doc, str) else doc for doc in role.policies.values()]
        for managed in role.managed_policies.values():
            policies.append(_default_document(managed))
        boundary = None
        if role.permissions_boundary_arn:
            boundary = _default_document(backend.get_policy(role.permissions_boundary_arn))
        tags = tuple(sorted((t["Key"], t["Value"]) for t in backend.list_role_tags(name, None)[0]))
        return Principal(arn=role_arn, policies=tuple(policies), boundary=boundary, tags=tags)

    def resource_policy(self, check: Check) -> tuple[dict | None, str | None]:
        arn = check.resource
        if arn in self.recorded_policies:
            return self.recorded_policies[arn]
        service = arn.split(":")[2] if arn.startswith("arn:") else ""
        if service == "s3":
            bucket = arn.split(":::", 1)[1].split("/", 1)[0]
            if f"arn:aws:s3:::{bucket}" in self.recorded_policies:
                return self.recorded_policies[f"arn:aws:s3:::{bucket}"]
            return _bucket_policy(bucket)
        if service == "kms" and ":key/" in arn:
            return _key_policy(arn), arn.split(":")[4]
        if service == "iam" and check.action.lower() == "sts:assumerole":
            return _trust_policy(arn), arn.split(":")[4]
        if service == "ecr":
            return _repository_policy(arn), arn.split(":")[4]
        if service == "sagemaker" and ":model-package" in arn:
            group = arn.split(":", 5)[5].split("/")[1]
            group_arn = f"{arn.split(':model-package')[0]}:model-package-group/{group}"
            if group_arn in self.recorded_policies:
                return self.recorded_policies[group_arn]
            return None, arn.split(":")[4]
        return None, None

    # --- decisions ------------------------------------------------------------------------

    def decide(self, principal: Principal, check: Check, origin: str) -> Decision:
        policy, owner = self.resource_policy(check)
        # A role's tags are its sessions' principal tags (aws:PrincipalTag/<key>); the account
        # owning the resource is aws:ResourceAccount (IAM user guide, global condition keys).
        context = {"aws:PrincipalArn": principal.arn, "aws:PrincipalAccount": principal.account,
                   "aws:SecureTransport": "true", **{f"aws:PrincipalTag/{k}": v for k, v in principal.tags},
                   **({"aws:ResourceAccount": owner} if owner else {}),
                   **check.context} if not principal.is_service else dict(check.context)
        decision = evaluate(principal, Request(check.action, check.resource, context, policy, owner))
        with self._lock:
            self.records.append(Record(principal.arn, check.action, check.resource, decision.allowed,
                                       decision.reason, origin))
        return decision

    def check(self, role_arn: str, checks: list[Check], origin: str) -> None:
        """Checks that no single HTTP request makes (e.g. what a CloudFormation action needs)."""
        principal = self.principal(role_arn)
        for check in checks:
            decision = self.decide(principal, check, origin)
            if not decision.allowed:
                raise Denied(f"{role_arn} may not {check.action} on {check.resource} ({origin}): {decision.reason}")

    def service_may_assume(self, service: str, role_arn: str, *, source_account: str | None = None,
                           source_arn: str | None = None, origin: str) -> None:
        """A service principal assumes a role: its trust policy must allow it with the context
        the service sends (aws:SourceAccount / aws:SourceArn where it sends them)."""
        context = {}
        if source_account:
            context["aws:SourceAccount"] = source_account
        if source_arn:
            context["aws:SourceArn"] = source_arn
        decision = self.decide(Principal(arn=service), Check("sts:AssumeRole", role_arn, context), origin)
        if not decision.allowed:
            raise Denied(f"{service} may not assume {role_arn} ({origin}): {decision.reason}")

    def register(self, access_key_id: str, role_arn: str) -> None:
        with self._lock:
            self.keys[access_key_id] = role_arn

    def denied(self) -> list[Record]:
        return [r for r in self.records if not r.allowed]

    # --- the emulator hook ------------------------------------------------------------------

    def install(self, monkeypatch) -> None:
        from moto.core.responses import ActionAuthenticatorMixin

        authorizer = self

        def normal(response: Any, resource: str = "*") -> None:
            authorizer._on_request(response, None, None)

        def s3(response: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
            authorizer._on_request(response, bucket_name, key_name)

        monkeypatch.setattr(ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", normal)
        monkeypatch.setattr(ActionAuthenticatorMixin, "_authenticate_and_authorize_s3_action", s3)

    def _on_request(self, response: Any, bucket: str | None, key: str | None) -> None:
        scope = _credential_scope(response.headers.get("Authorization", ""))
        if scope is None or scope[0] not in self.keys:
            return
        access_key, region, service = scope
        role_arn = self.keys[access_key]
        try:
            call = Call(service, _operation(response, service, bucket, key), _params(response, service),
                        region, role_arn.split(":")[4])
            if service == "s3":
                checks = iam_requests.s3_checks(call, bucket or "", key, kms_key_arn=_object_key(call, bucket, key, response.headers))
            else:
                checks = [_with_current_boundary(c) for c in iam_requests.checks_for(call)]
            principal = self.principal(role_arn)
        except (Unsupported, KeyError) as exc:
            with self._lock:
                self.problems.append(f"{service} request by {role_arn}: {exc!r}")
            raise _denial(service, role_arn, f"harness cannot authorize this request: {exc}") from None
        for check in checks:
            decision = self.decide(principal, check, "http")
            if not decision.allowed:
                raise _denial(service, role_arn, f"{check.action} on {check.resource}: {decision.reason}")


# IAM actions whose iam:PermissionsBoundary key is the boundary the role has (Service
# Authorization Reference: "the specified policy is set as the permissions boundary").
BOUNDARY_KEY_ACTIONS = {"iam:putrolepolicy", "iam:deleterolepolicy", "iam:attachrolepolicy", "iam:detachrolepolicy",
                        "iam:deleterolepermissionsboundary"}


def _with_current_boundary(check: Check) -> Check:
    if check.action.lower() not in BOUNDARY_KEY_ACTIONS or "iam:PermissionsBoundary" in check.context:
        return check
    from moto.iam.models import iam_backends

    account, name = check.resource.split(":")[4], check.resource.rsplit("/", 1)[-1]
    try:
        boundary = iam_backends[account]["aws"].get_role(name).permissions_boundary_arn
    except Exception:  # the role does not exist (yet): no boundary to report
        return check
    if not boundary:
        return check
    return Check(check.action, check.resource, {**check.context, "iam:PermissionsBoundary": boundary})


def _denial(service: str, role_arn: str, message: str) -> Exception:
    if service == "s3":
        from moto.s3.exceptions import S3AccessDeniedError

        error = S3AccessDeniedError()
        error.message = f"Access Denied: {role_arn}: {message}"
        return error
    from moto.core.exceptions import AccessDeniedError

    return AccessDeniedError(user_arn=role_arn, action=message)


def _credential_scope(authorization: str) -> tuple[str, str, str] | None:
    if "Credential=" not in authorization:
        return None
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[0], scope[2], scope[3]


def _operation(response: Any, service: str, bucket: str | None, key: str | None) -> str:
    if service == "s3":
        return _s3_operation(response.method, response.querystring, key is not None, response.headers)
    target = response.headers.get("X-Amz-Target") or response.headers.get("x-amz-target")
    if target:
        return target.split(".")[-1]
    action = response.querystring.get("Action")
    if action:
        return action[0] if isinstance(action, list) else action
    rest = _rest_operation(service, response.method, _path(response))
    if rest:
        return rest[0]
    raise Unsupported(f"cannot tell the {service} operation of {response.method} {response.uri}")


def _path(response: Any) -> str:
    return urllib.parse.urlparse(response.uri).path


@functools.lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, operation) of a REST service, from botocore's model: each
    operation's `http.requestUri` with its {labels} as named groups (`{Name+}` spans slashes)."""
    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{(\w+)(\\\+)?\\\}",
                         lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})", re.escape(path))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    # The most specific route first: fewer labels, longer literal text.
    return sorted(routes, key=lambda r: (r[1].pattern.count("(?P<"), -len(r[1].pattern)))


def _rest_operation(service: str, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    if service in ("s3",) or not _is_rest(service):
        return None
    for route_method, pattern, name in _rest_routes(service):
        match = pattern.match(urllib.parse.unquote(path)) if route_method == method else None
        if match:
            return name, match.groupdict()
    return None


@functools.lru_cache(maxsize=None)
def _is_rest(service: str) -> bool:
    return botocore.session.get_session().get_service_model(service).protocol in ("rest-json", "rest-xml")


def _s3_operation(method: str, query: dict, has_key: bool, headers: Any) -> str:
    """The S3 REST API operation a request is (S3 API reference: each operation's request line)."""
    if has_key:
        if method in ("GET", "HEAD"):
            return "GetObjectTagging" if "tagging" in query else ("HeadObject" if method == "HEAD" else "GetObject")
        if method == "PUT":
            if "tagging" in query:
                return "PutObjectTagging"
            return "UploadPart" if "partNumber" in query else "PutObject"
        if method == "POST":
            return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
        if method == "DELETE":
            return "DeleteObject"
    subresources = {
        "PUT": {"encryption": "PutBucketEncryption", "versioning": "PutBucketVersioning",
                "publicAccessBlock": "PutPublicAccessBlock", "ownershipControls": "PutBucketOwnershipControls",
                "logging": "PutBucketLogging", "lifecycle": "PutBucketLifecycleConfiguration",
                "tagging": "PutBucketTagging", "policy": "PutBucketPolicy"},
        "GET": {"location": "GetBucketLocation", "encryption": "GetBucketEncryption", "policy": "GetBucketPolicy",
                "versions": "ListObjectVersions"},
        "DELETE": {"policy": "DeleteBucketPolicy"},
    }
    for sub, name in subresources.get(method, {}).items():
        if sub in query:
            return name
    defaults = {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") in (["2"], "2") else "ListObjects"
    if method in defaults:
        return defaults[method]
    raise Unsupported(f"S3 request {method} {sorted(query)}")


def _params(response: Any, service: str) -> dict[str, Any]:
    if service == "s3":
        params = {k: (v[0] if isinstance(v, list) else v) for k, v in response.querystring.items()}
        tagging = response.headers.get("x-amz-tagging")  # tags set with PutObject
        return {**params, "x-amz-tagging": tagging} if tagging else params
    target = response.headers.get("X-Amz-Target") or response.headers.get("x-amz-target")
    if target:
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        return json.loads(body) if body else {}
    flat = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in response.querystring.items()}
    rest = _rest_operation(service, response.method, _path(response))
    if rest:  # REST: the URI's labels, then the query, then the JSON body
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        return {**flat, **rest[1], **(json.loads(body) if body.strip().startswith("{") else {})}
    return _unflatten_query(flat)


def _unflatten_query(flat: dict[str, Any]) -> dict[str, Any]:
    """`Tags.member.1.Key=k` (query protocol) -> {"Tags": [{"Key": "k"}]}; other keys as they are."""
    result: dict[str, Any] = {}
    lists: dict[str, dict[int, dict]] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[1] == "member" and parts[2].isdigit():
            lists.setdefault(parts[0], {}).setdefault(int(parts[2]), {})[parts[3]] = value
        elif len(parts) == 3 and parts[1] == "member" and parts[2].isdigit():
            lists.setdefault(parts[0], {}).setdefault(int(parts[2]), {})["_"] = value
        else:
            result[key] = value
    for name, members in lists.items():
        result[name] = [m.get("_", m) if set(m) == {"_"} else m for _, m in sorted(members.items())]
    return result


def _default_document(policy: Any) -> dict:
    version = next(v for v in policy.versions if v.is_default)
    document = version.document
    return json.loads(document) if isinstance(document, str) else document


def _bucket_owner(bucket: str) -> str | None:
    from moto.s3.models import s3_backends

    found = s3_backends.bucket_accounts.get(bucket)
    return found[1] if found else None


def _bucket(bucket: str):
    from moto.s3.models import s3_backends

    owner = _bucket_owner(bucket)
    return s3_backends[owner]["aws"].buckets.get(bucket) if owner else None


def _bucket_policy(bucket: str) -> tuple[dict | None, str | None]:
    found = _bucket(bucket)
    if found is None or not found.policy:
        return None, _bucket_owner(bucket)
    policy = found.policy.decode() if isinstance(found.policy, bytes) else found.policy
    return json.loads(policy), _bucket_owner(bucket)


def _object_key(call: Call, bucket: str | None, key: str | None, headers: Any = None) -> str | None:
    """The KMS key S3 uses for this object: the one named in the request, the object's own
    (reads), or the bucket's default encryption (writes)."""
    if not bucket or key is None or call.operation not in ("PutObject", "GetObject", "HeadObject", "UploadPart",
                                                           "CreateMultipartUpload", "CompleteMultipartUpload"):
        return None
    found = _bucket(bucket)
    if found is None:
        return None
    key_id = None
    named = (headers or {}).get("x-amz-server-side-encryption-aws-kms-key-id")
    if call.operation in ("PutObject", "CreateMultipartUpload") and named:  # the request's own key
        key_id = named
    elif call.operation == "PutObject" or call.operation == "CreateMultipartUpload":
        rules = (found.encryption or {}).get("Rule", {}) if found.encryption else {}
        default = rules.get("ApplyServerSideEncryptionByDefault", {}) if isinstance(rules, dict) else {}
        if default.get("SSEAlgorithm") == "aws:kms":
            key_id = default.get("KMSMasterKeyID")
    else:
        stored = found.keys.get(key)
        if stored is not None and stored.encryption == "aws:kms":
            key_id = stored.kms_key_id
    return _key_arn(key_id, call.region, _bucket_owner(bucket)) if key_id else None


def _key_arn(key_id: str, region: str, account: str | None) -> str:
    from moto.kms.models import kms_backends

    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    if key_id.startswith("arn:") and ":alias/" in key_id:
        account, region = key_id.split(":")[4], key_id.split(":")[3]
        key_id = "alias/" + key_id.split(":alias/", 1)[1]
    backend = kms_backends[account][region]
    resolved = backend.get_key_id_from_alias(key_id) if key_id.startswith("alias/") else key_id
    return f"arn:aws:kms:{region}:{account}:key/{resolved}"


def _key_policy(arn: str) -> dict | None:
    from moto.kms.models import kms_backends

    account, region, key_id = arn.split(":")[4], arn.split(":")[3], arn.rsplit("/", 1)[-1]
    key = kms_backends[account][region].keys.get(key_id)
    if key is None:
        return None
    return json.loads(key.policy) if isinstance(key.policy, str) else key.policy


def _trust_policy(role_arn: str) -> dict | None:
    from moto.iam.models import iam_backends

    role = iam_backends[role_arn.split(":")[4]]["aws"].get_role(role_arn.rsplit("/", 1)[-1])
    document = role.assume_role_policy_document
    return json.loads(document) if isinstance(document, str) else document


def _repository_policy(arn: str) -> dict | None:
    from moto.ecr.models import ecr_backends

    account, region, name = arn.split(":")[4], arn.split(":")[3], arn.split(":repository/", 1)[1]
    repo = ecr_backends[account][region].repositories.get(name)
    if repo is None or not repo.policy:
        return None
    return json.loads(repo.policy) if isinstance(repo.policy, str) else repo.policy
