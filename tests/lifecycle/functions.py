"""Lambda functions and the custom resources they back, as Lambda and CloudFormation run them.

- AWS::Lambda::Function: CreateFunction as the stack's role (lambda:CreateFunction,
  lambda:TagResource, iam:PassRole to lambda.amazonaws.com). CloudFormation's Lambda handler
  reads an S3 code object with the caller's permissions (s3:GetObject is in the create handler's
  permissions of the resource schema). moto reads S3 code only from the caller's own account,
  so the harness reads the object as the caller and hands Lambda its bytes; Lambda's copy is
  kept (World.functions) to run later, as Lambda runs the code it was given.
- Custom::GitSeed: CloudFormation invokes the ServiceToken function (lambda:InvokeFunction as
  the stack's role) with the documented request (CloudFormation user guide, "Custom resource
  request objects": property values as strings, ServiceToken included), and waits for the answer
  PUT to the ResponseURL (the fake provider's response endpoint stands in for the presigned S3
  URL). SUCCESS gives the physical id and `Data` (Fn::GetAtt); FAILED fails the resource, and
  the rollback sends Delete with the physical id the failure named.
- Running a function: Lambda assumes its role (trust checked), writes the invocation's log
  stream with it, and imports the Handler ("module.function") from the code it was given: a
  Handler the zip does not hold fails as Runtime.ImportModuleError would. The git seeder's
  entry point only forwards to `handle`, which is called with the role's clients and an HTTP
  opener on which the provider's public API host reaches the local fake (the one thing Lambda
  would get from DNS and TLS).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import tempfile
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any, Iterator

from tests.lifecycle.iam_requests import Call, Check, log_checks

RESPONSE_LIMIT = 4096  # bytes of a custom resource response CloudFormation accepts


class FunctionFailure(RuntimeError):
    """A function that could not run, or a custom resource that answered FAILED."""


# --- AWS::Lambda::Function -------------------------------------------------------------------


def lambda_function(ctx: Any, logical_id: str, p: dict) -> dict:
    from tests.lifecycle.provision import _only

    _only(p, {"FunctionName", "Description", "Runtime", "Handler", "Code", "Role", "MemorySize", "Timeout",
              "Environment", "Tags"}, "AWS::Lambda::Function")
    code = p["Code"]
    _only(code, {"S3Bucket", "S3Key"}, "AWS::Lambda::Function Code")
    body = ctx.client("s3").get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
    args: dict[str, Any] = {key: p[key] for key in ("FunctionName", "Description", "Runtime", "Handler", "Role",
                                                     "MemorySize", "Timeout", "Environment") if key in p}
    args["Code"] = {"ZipFile": body}
    if p.get("Tags"):
        args["Tags"] = {t["Key"]: t["Value"] for t in p["Tags"]}
    created = ctx.client("lambda").create_function(**args)
    ctx.world.functions[created["FunctionArn"]] = {**args, "Code": body, "FunctionArn": created["FunctionArn"]}
    return {**p, "FunctionName": created["FunctionName"], "Arn": created["FunctionArn"]}


def delete_lambda_function(ctx: Any, props: dict) -> None:
    ctx.client("lambda").delete_function(FunctionName=props["FunctionName"])
    ctx.world.functions.pop(props["Arn"], None)


# --- Custom::GitSeed -------------------------------------------------------------------------


def _as_strings(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar property value as a string."""
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _request(ctx: Any, request_type: str, logical_id: str, properties: dict, **extra: Any) -> dict:
    stack = ctx.world.cloudformation.get(ctx.account, ctx.region, ctx.stack_name)
    return {
        "RequestType": request_type,
        "ResponseURL": ctx.world.git.response_url(f"{ctx.stack_name}-{logical_id}-{uuid.uuid4().hex[:8]}"),
        "StackId": stack.stack_id,
        "RequestId": str(uuid.uuid4()),
        "ResourceType": "Custom::GitSeed",
        "LogicalResourceId": logical_id,
        "ResourceProperties": _as_strings(properties),
        **extra,
    }


def _send(ctx: Any, request: dict) -> dict:
    """CloudFormation invokes the ServiceToken function and reads the answer at the ResponseURL."""
    function = request["ResourceProperties"]["ServiceToken"]
    ctx.authorizer.check(ctx.role_arn, [Check("lambda:InvokeFunction", function)],
                         f"CloudFormation custom resource {request['LogicalResourceId']}")
    invoke(ctx.world, function, request)
    answers = ctx.world.git.cfn_responses(request["ResponseURL"].rsplit("/", 1)[1])
    if len(answers) != 1:
        raise FunctionFailure(f"{request['LogicalResourceId']}: {len(answers)} responses reached CloudFormation "
                              "(it takes exactly one; without one it waits for ServiceTimeout)")
    response = answers[0][1]
    if len(json.dumps(response).encode()) > RESPONSE_LIMIT:
        raise FunctionFailure(f"{request['LogicalResourceId']}: Response object is too long.")
    if response.get("Status") not in ("SUCCESS", "FAILED") or not response.get("PhysicalResourceId"):
        raise FunctionFailure(f"{request['LogicalResourceId']}: invalid response {response}")
    return response


def git_seed(ctx: Any, logical_id: str, p: dict) -> dict:
    response = _send(ctx, _request(ctx, "Create", logical_id, p))
    if response["Status"] == "FAILED":
        # The rollback deletes the failed resource under the physical id its answer named.
        _send(ctx, _request(ctx, "Delete", logical_id, p, PhysicalResourceId=response["PhysicalResourceId"]))
        raise FunctionFailure(f"{logical_id}: CREATE_FAILED: {response.get('Reason', '')}")
    return {**p, "LogicalResourceId": logical_id, "PhysicalResourceId": response["PhysicalResourceId"],
            "Data": response.get("Data", {})}


def delete_git_seed(ctx: Any, props: dict) -> None:
    properties = {k: v for k, v in props.items() if k not in ("LogicalResourceId", "PhysicalResourceId", "Data")}
    response = _send(ctx, _request(ctx, "Delete", props["LogicalResourceId"], properties,
                                   PhysicalResourceId=props["PhysicalResourceId"]))
    if response["Status"] == "FAILED":
        raise FunctionFailure(f"{props['LogicalResourceId']}: DELETE_FAILED: {response.get('Reason', '')}")


# --- running a function ----------------------------------------------------------------------


class _Context:
    """What Lambda passes as `context` (the part the functions read)."""

    def __init__(self, function: dict):
        self.function_name = function["FunctionName"]
        self.aws_request_id = str(uuid.uuid4())
        self._seconds = float(function.get("Timeout", 3))

    def get_remaining_time_in_millis(self) -> int:
        return int(self._seconds * 1000)


class _ProviderHost(urllib.request.BaseHandler):
    """Requests to a provider's public API URL reach the fake serving it."""

    handler_order = 100  # before the HTTP handlers build the connection

    def __init__(self, routes: dict[str, str]):
        self.routes = routes

    def https_request(self, request: urllib.request.Request) -> urllib.request.Request:
        for public, local in self.routes.items():
            if request.full_url == public or request.full_url.startswith(public + "/"):
                request.full_url = local + request.full_url[len(public):]
                break
        return request


@contextlib.contextmanager
def _imported(code: bytes, handler: str) -> Iterator[Any]:
    """The Handler's module imported from the function's own zip, and nothing else."""
    module_name, _, attribute = handler.rpartition(".")
    package = module_name.split(".")[0]
    with tempfile.TemporaryDirectory(prefix="lambda-task-") as task:
        zipfile.ZipFile(io.BytesIO(code)).extractall(task)
        stale = [m for m in sys.modules if m == package or m.startswith(package + ".")]
        for name in stale:
            del sys.modules[name]
        sys.path.insert(0, task)
        try:
            try:
                module = importlib.import_module(module_name)
            except ImportError as err:
                raise FunctionFailure(f"Runtime.ImportModuleError: Unable to import module '{module_name}': {err}") from None
            if not Path(module.__file__ or "").resolve().is_relative_to(Path(task).resolve()):
                raise FunctionFailure(f"Runtime.ImportModuleError: {module_name} is not in the function's code")
            if not callable(getattr(module, attribute, None)):
                raise FunctionFailure(f"Runtime.HandlerNotFound: {handler} is undefined or not exported")
            yield module
        finally:
            sys.path.remove(task)
            for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[name]


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoke(world: Any, function_arn: str, event: dict) -> dict:
    """Lambda runs the git seeder's code for one event, as its execution role."""
    function = world.functions.get(function_arn)
    if function is None:
        raise FunctionFailure(f"Function not found: {function_arn}")
    role = function["Role"]
    world.step(f"Lambda {function['FunctionName']} ({event.get('RequestType')})")
    session = world.as_service(role, "lambda.amazonaws.com", origin=f"Lambda {function['FunctionName']}")
    region = function_arn.split(":")[3]
    call = Call("logs", "PutLogEvents", {}, region, function_arn.split(":")[4])
    world.authorizer.check(role, log_checks(call, f"/aws/lambda/{function['FunctionName']}", uuid.uuid4().hex),
                           f"Lambda {function['FunctionName']} logs")
    from src.git_seed.http import default_opener

    opener = default_opener(environment_proxies=False)
    opener.add_handler(_ProviderHost(world.git_routes))
    variables = function.get("Environment", {}).get("Variables", {})
    with _imported(function["Code"], function["Handler"]) as module, _environment(variables):
        return module.handle(event, _Context(function), s3=world.client(session, "s3", region),
                             secretsmanager=world.client(session, "secretsmanager", region),
                             opener=opener, sleep=lambda seconds: None)
