"""What CodeBuild, CodePipeline, EventBridge and SageMaker Pipelines do, played from the state
the emulator holds (projects, pipelines and rules as created, not as rendered).

- CodeBuild assumes the project's service role (aws:SourceArn = the project ARN,
  aws:SourceAccount = its account; CodeBuild user guide, "Create a CodeBuild service role"),
  writes build logs with it, downloads the input artifact, runs the buildspec's build phase
  with the project's environment variables (project values override buildspec values), and
  uploads the output artifact encrypted with the project's EncryptionKey. The install and
  pre_build phases (pip installs, the app's unit tests) are left out: the app suites run in
  `make test` on their own.
- CodePipeline assumes its role, runs the stages in order (manual approvals are approved),
  writes source artifacts to its artifact store, starts CodeBuild actions, and for
  CloudFormation actions assumes the action's RoleArn and hands over to stacks.py; a
  CodeStarSourceConnection source reads the Git provider through connections.py.
- EventBridge matches an event against every rule of the account with TestEventPattern,
  assumes each matching target's RoleArn (aws:SourceArn = the rule ARN; EventBridge user
  guide, "Cross-service confused deputy prevention") and starts the target pipeline.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lifecycle import connections, stacks
from tests.lifecycle.iam_requests import Call, Check, log_checks, transform_checks
from tests.lifecycle.world import World

ROOT = Path(__file__).resolve().parents[2]
SEED_CODE = ROOT / "seed_code"
# What a build's PATH holds besides the seed app: cfn-lint and checkov (the security scan's
# install phase), and stand-ins for the image's `aws` and `docker` commands (bin/tools.py).
TOOL_PATHS = [Path(__file__).parent / "bin", Path(sys.executable).parent, ROOT / ".venv-checkov" / "bin"]


def app_python(app: str) -> Path:
    """The seed app's own virtualenv (made by seed_code/run_app_tests.sh --install-only)."""
    python = SEED_CODE / app / ".venv" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{python} missing: run `bash seed_code/run_app_tests.sh --install-only`")
    return python


def unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(into)
    return into


def zip_dir(directory: Path, files: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in files:
            archive.write(directory / name, name)
    return buffer.getvalue()


@dataclass
class Build:
    project: dict
    output: bytes | None
    stdout: str
    env: dict[str, str]


def _buildspec(project: dict, source: Path) -> dict:
    spec = project["source"].get("buildspec", "buildspec.yml")
    text = spec if "\n" in spec else (source / spec).read_text()
    return yaml.safe_load(text)


def seed_app(source: bytes) -> str | None:
    """Which seed app a source artifact is (its build runs with that app's interpreter)."""
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        names = set(archive.namelist())
    if "Dockerfile" in names and any(n.startswith("model_build/") for n in names):
        return "byoc_build_app"
    if any(n.startswith("model_build/") for n in names):
        return "build_app"
    if any(n.startswith("model_deploy/") for n in names):
        return "deploy_app"
    if any(n.startswith("batch_deploy/") for n in names):
        return "batch_deploy_app"
    return None


def _command(line: str, app: str | None) -> str:
    """Run a buildspec command with the seed app's interpreter and console scripts (or, for
    the platform's own buildspec, this checkout's interpreter instead of the virtualenv its
    install phase makes)."""
    if app is None:
        return re.sub(r"^\.venv/bin/python\b", shlex.quote(sys.executable), line)
    python = shlex.quote(str(app_python(app)))
    line = re.sub(r"^python3?\b", python, line)
    return re.sub(r"^run-pipeline\b", f"{python} -m model_build.cli", line)


def codebuild_session(world: World, project: dict, account: str) -> Any:
    return world.as_service(project["serviceRole"], "codebuild.amazonaws.com", source_arn=project["arn"],
                            source_account=account, origin=f"CodeBuild {project['name']}")


def run_codebuild(world: World, project: dict, session: Any, account: str, region: str, source: bytes, *,
                  app: str | None, source_version: str) -> Build:
    """One build of `project` (as the emulator holds it) on `source`, with its role's `session`."""
    world.step(f"CodeBuild {project['name']}")
    role, name = project["serviceRole"], project["name"]
    build_id = secrets.token_hex(8)
    world.authorizer.check(role, log_checks(Call("logs", "PutLogEvents", {}, region, account),
                                            f"/aws/codebuild/{name}", build_id), f"CodeBuild {name} logs")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = unzip(source, Path(tmp) / "src")
        spec = _buildspec(project, workdir)
        env = {**world.env(session, region), **{k: str(v) for k, v in (spec.get("env", {}).get("variables") or {}).items()}}
        env.update({v["name"]: v["value"] for v in project["environment"].get("environmentVariables", [])})
        env.update({"CODEBUILD_RESOLVED_SOURCE_VERSION": source_version, "CODEBUILD_BUILD_ID": f"{name}:{build_id}",
                    "AWS_REGION": region, "PYTHONDONTWRITEBYTECODE": "1",
                    "SAGEMAKER_USER_CONFIG_OVERRIDE": str(_sdk_config(Path(tmp))), "LIFECYCLE_PYTHON": sys.executable,
                    "PATH": os.pathsep.join([*map(str, TOOL_PATHS), env["PATH"]])})
        output = []
        for line in spec["phases"]["build"]["commands"]:
            result = subprocess.run(["bash", "-c", _command(line, app)], cwd=workdir, env=env, capture_output=True,
                                    text=True, timeout=600)
            output.append(result.stdout + result.stderr)
            if result.returncode != 0:
                raise stacks.StackFailure(f"CodeBuild {name}: `{line}` exited {result.returncode}:\n"
                                          f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
        artifacts = spec.get("artifacts")
        zipped = None
        if artifacts:
            base = workdir / artifacts.get("base-directory", ".")
            zipped = zip_dir(base, [n for pattern in artifacts["files"] for n in _glob(base, pattern)])
        return Build(project, zipped, "".join(output), env)


def _sdk_config(directory: Path) -> Path:
    """The SageMaker SDK reports usage to an AWS endpoint; this machine has no network."""
    path = directory / "sagemaker-config.yaml"
    path.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    return path


def _glob(base: Path, pattern: str) -> list[str]:
    found = sorted(p.relative_to(base).as_posix() for p in base.glob(pattern) if p.is_file())
    if not found:
        raise stacks.StackFailure(f"CodeBuild: no artifact matches {pattern} in {base}")
    return found


# --- CodePipeline ------------------------------------------------------------------------------


@dataclass
class PipelineRun:
    world: World
    name: str
    account: str
    region: str
    pipeline: dict = field(default_factory=dict)
    artifacts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (bucket, key)
    results: dict[str, Any] = field(default_factory=dict)  # stage -> what it produced
    session: Any = None
    commit: str = field(default_factory=lambda: secrets.token_hex(20))  # the source revision

    def __post_init__(self) -> None:
        admin = self.world.client(self.world.admin(self.account), "codepipeline", self.region)
        self.pipeline = admin.get_pipeline(name=self.name)["pipeline"]
        self.session = self.world.as_service(self.pipeline["roleArn"], "codepipeline.amazonaws.com",
                                             origin=f"CodePipeline {self.name}")

    @property
    def store(self) -> dict:
        return self.pipeline["artifactStore"]

    def _put_artifact(self, session: Any, name: str, data: bytes, key_id: str | None) -> None:
        key = f"{self.name[:20]}/{name[:20]}/{secrets.token_hex(4)}"
        args: dict[str, Any] = {"Bucket": self.store["location"], "Key": key, "Body": data}
        if key_id:
            args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
        self.world.client(session, "s3", self.region).put_object(**args)
        self.artifacts[name] = (self.store["location"], key)

    def _get_artifact(self, session: Any, name: str) -> bytes:
        bucket, key = self.artifacts[name]
        return self.world.client(session, "s3", self.region).get_object(Bucket=bucket, Key=key)["Body"].read()

    def run(self, *, until: str | None = None) -> "PipelineRun":
        """Every stage in order (manual approvals approved), or up to and including `until`."""
        for stage in self.pipeline["stages"]:
            for action in sorted(stage["actions"], key=lambda a: a.get("runOrder", 1)):
                self.world.step(f"CodePipeline {self.name} {stage['name']}")
                self.results[stage["name"]] = self._action(action)
            if stage["name"] == until:
                break
        return self

    def _action(self, action: dict) -> Any:
        provider = action["actionTypeId"]["provider"]
        config = action.get("configuration", {})
        if provider == "CodeCommit":
            return self._codecommit_source(action, config)
        if provider == "CodeStarSourceConnection":
            return self._connection_source(action, config)
        if provider == "CodeBuild":
            return self._codebuild(action, config)
        if provider == "CloudFormation":
            return self._cloudformation(action, config)
        if provider == "Manual":
            return "approved"
        raise stacks.StackFailure(f"{self.name}: action provider {provider} is not played")

    def _codecommit_source(self, action: dict, config: dict) -> str:
        repo_name, branch = config["RepositoryName"], config["BranchName"]
        codecommit = self.world.client(self.session, "codecommit", self.region)
        repo = codecommit.get_repository(repositoryName=repo_name)["repositoryMetadata"]
        # What the CodeCommit source action calls besides GetRepository (CodePipeline user
        # guide, "Permissions for the CodePipeline service role", CodeCommit).
        self.world.authorizer.check(self.pipeline["roleArn"], [
            Check(f"codecommit:{a}", repo["Arn"]) for a in ("GetBranch", "GetCommit", "UploadArchive",
                                                          "GetUploadArchiveStatus")], f"CodePipeline {self.name} source")
        content = self.world.repositories[repo_name][branch]
        self._put_artifact(self.session, action["outputArtifacts"][0]["name"], content,
                           self.store.get("encryptionKey", {}).get("id"))
        return repo["Arn"]

    def _connection_source(self, action: dict, config: dict) -> str:
        self.commit, content = connections.read_source(self.world, self.pipeline["roleArn"], self.account, self.region,
                                                       config, f"CodePipeline {self.name} source")
        self._put_artifact(self.session, action["outputArtifacts"][0]["name"], content,
                           self.store.get("encryptionKey", {}).get("id"))
        return self.commit

    def _codebuild(self, action: dict, config: dict) -> Build:
        project_name = config["ProjectName"]
        self.world.client(self.session, "codebuild", self.region).start_build(projectName=project_name)
        admin = self.world.client(self.world.admin(self.account), "codebuild", self.region)
        project = admin.batch_get_projects(names=[project_name])["projects"][0]
        build_role = codebuild_session(self.world, project, self.account)
        source = self._get_artifact(build_role, action["inputArtifacts"][0]["name"])
        build = run_codebuild(self.world, project, build_role, self.account, self.region, source,
                              app=seed_app(source), source_version=self.commit)
        if action.get("outputArtifacts"):
            if build.output is None:
                raise stacks.StackFailure(f"{project_name} declares no artifacts but the action expects one")
            self._put_artifact(build_role, action["outputArtifacts"][0]["name"], build.output,
                               project.get("encryptionKey"))
        return build

    def _cloudformation(self, action: dict, config: dict) -> stacks.ActionResult:
        action_role = action["roleArn"]
        region = action.get("region", self.region)
        account = action_role.split(":")[4]
        session = self.world.assume(self.session, action_role, "codepipeline-action")
        inputs = {a["name"]: self._get_artifact(session, a["name"]) for a in action.get("inputArtifacts", [])}

        def cfn_context(role_arn: str):
            from tests.lifecycle.provision import Context

            cfn_session = self.world.as_service(role_arn, "cloudformation.amazonaws.com", origin="CloudFormation stack role")
            return Context(cfn_session, role_arn, account, region, config["StackName"], self.world.authorizer,
                           self.world.repositories, self.world.endpoint, world=self.world)

        return stacks.run_deploy_action(self.world.cloudformation, configuration=config, artifacts=inputs,
                                        action_role_arn=action_role, account=account, region=region,
                                        authorizer=self.world.authorizer, cfn_context=cfn_context)


# --- EventBridge --------------------------------------------------------------------------------


def deliver(world: World, event: dict, account: str, region: str) -> list[str]:
    """Pipelines started by `event` on the account's default bus."""
    admin = world.client(world.admin(account), "events", region)
    started = []
    for rule in admin.list_rules()["Rules"]:
        if rule.get("State") != "ENABLED" or "EventPattern" not in rule:
            continue
        if not admin.test_event_pattern(EventPattern=rule["EventPattern"], Event=json.dumps(event))["Result"]:
            continue
        world.step(f"EventBridge {rule['Name']}")
        for target in admin.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            session = world.as_service(target["RoleArn"], "events.amazonaws.com", source_arn=rule["Arn"],
                                       source_account=account, origin=f"EventBridge rule {rule['Name']}")
            pipeline = target["Arn"].split(":")[-1]
            world.client(session, "codepipeline", region).start_pipeline_execution(name=pipeline)
            started.append(pipeline)
    return started


# --- SageMaker Pipelines ------------------------------------------------------------------------


@dataclass
class PipelineExecution:
    """One execution of a SageMaker pipeline as SageMaker runs it, from the definition the build
    upserted: each job is created with the pipeline's role (checked, iam:PassRole included),
    the job assumes that role (aws:SourceArn = the job ARN; SageMaker developer guide,
    "Cross-service confused deputy prevention") and writes its outputs to S3 with the output
    KMS key, and RegisterModel creates the model package with the pipeline's role. The
    ConditionStep takes its "if" branch (the evaluation passes)."""

    world: World
    name: str
    account: str
    region: str
    execution_id: str = field(default_factory=lambda: secrets.token_hex(6))
    outputs: dict[str, Any] = field(default_factory=dict)  # step name -> resolved arguments
    model_package_arn: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # StartPipelineExecution's PipelineParameters

    def run(self) -> "PipelineExecution":
        admin = self.world.client(self.world.admin(self.account), "sagemaker", self.region)
        described = admin.describe_pipeline(PipelineName=self.name)
        self.definition = json.loads(described["PipelineDefinition"])
        self.role = described["RoleArn"]
        pipeline_arn = described["PipelineArn"]
        self.session = self.world.as_service(self.role, "sagemaker.amazonaws.com",
                                             source_arn=f"{pipeline_arn}/execution/{self.execution_id}",
                                             source_account=self.account, origin=f"SageMaker pipeline {self.name}")
        for step in self._steps(self.definition["Steps"]):
            self.world.step(f"SageMaker pipeline {self.name} {step['Name']}")
            getattr(self, f"_{step['Type'].lower()}")(step)
        return self

    def _steps(self, steps: list[dict]) -> list[dict]:
        flat = []
        for step in steps:
            if step["Type"] == "Condition":
                flat += self._steps(step["Arguments"]["IfSteps"])
            elif step["Type"] != "Fail":
                flat.append(step)
        return flat

    def _value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._value(v) for v in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Get"}:
            return self._get(node["Get"])
        if set(node) == {"Std:Join"}:
            return node["Std:Join"]["On"].join(str(self._value(v)) for v in node["Std:Join"]["Values"])
        return {k: self._value(v) for k, v in node.items()}

    def _get(self, path: str) -> Any:
        if path.startswith("Parameters."):
            name = path.split(".", 1)[1]
            declared = next(p for p in self.definition["Parameters"] if p["Name"] == name)
            value = self.parameters.get(name, declared.get("DefaultValue"))
            return int(value) if declared["Type"] == "Integer" else value
        if path == "Execution.PipelineExecutionId":
            return self.execution_id
        if path == "Execution.PipelineName":
            return self.name
        step, _, rest = path.removeprefix("Steps.").partition(".")
        arguments = self.outputs[step]
        match = re.fullmatch(r"ProcessingOutputConfig\.Outputs\['(\w+)'\]\.S3Output\.S3Uri", rest)
        if match:
            return next(o["S3Output"]["S3Uri"] for o in arguments["ProcessingOutputConfig"]["Outputs"]
                        if o["OutputName"] == match.group(1))
        if rest == "ModelArtifacts.S3ModelArtifacts":
            return arguments["ModelArtifacts"]
        raise stacks.StackFailure(f"pipeline expression {path} is not played")

    def _job(self, kind: str, step: dict) -> tuple[dict, str, Any]:
        arguments = self._value(step["Arguments"])
        job = f"pipelines-{self.execution_id}-{step['Name'][:20]}-{secrets.token_hex(4)}".lower()
        api = {"processing": ("CreateProcessingJob", "processing-job"), "training": ("CreateTrainingJob", "training-job")}
        operation, resource_type = api[kind]
        call = Call("sagemaker", operation, {}, self.region, self.account)
        from tests.lifecycle.iam_requests import build_arn

        job_arn = build_arn(f"sagemaker:{operation}", resource_type, call, **{
            "ProcessingJobName" if kind == "processing" else "TrainingJobName": job})
        self.world.authorizer.check(self.role, [
            Check(f"sagemaker:{operation}", job_arn),
            Check("iam:PassRole", arguments["RoleArn"], {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        ], f"SageMaker pipeline {self.name} {step['Name']}")
        session = self.world.as_service(arguments["RoleArn"], "sagemaker.amazonaws.com", source_arn=job_arn,
                                        source_account=self.account, origin=f"SageMaker {resource_type}")
        return arguments, job, session

    def _write(self, session: Any, uri: str, body: bytes, kms_key: str | None) -> None:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        args: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        if kms_key:
            args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
        self.world.client(session, "s3", self.region).put_object(**args)

    def _read_inputs(self, session: Any, uris: list[str]) -> None:
        s3 = self.world.client(session, "s3", self.region)
        for uri in uris:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
            for item in listed:
                s3.get_object(Bucket=bucket, Key=item["Key"])

    def _processing(self, step: dict) -> None:
        arguments, job, session = self._job("processing", step)
        self._read_inputs(session, [i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]])
        kms = arguments["ProcessingOutputConfig"].get("KmsKeyId")
        for output in arguments["ProcessingOutputConfig"]["Outputs"]:
            self._write(session, f"{output['S3Output']['S3Uri']}/part-0", b"0", kms)
        self.outputs[step["Name"]] = arguments

    def _training(self, step: dict) -> None:
        arguments, job, session = self._job("training", step)
        self._read_inputs(session, [c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments["InputDataConfig"]])
        output = arguments["OutputDataConfig"]
        artifacts = f"{output['S3OutputPath']}/{job}/output/model.tar.gz"
        self._write(session, artifacts, b"model", output.get("KmsKeyId"))
        self.outputs[step["Name"]] = {**arguments, "ModelArtifacts": artifacts}

    def _transform(self, step: dict) -> None:
        """CreateTransformJob with the pipeline's role; the job then runs with the model's
        execution role (CreateModel's ExecutionRoleArn: no role is passed here), reads every
        input object and writes each one's output, encrypted with TransformOutput.KmsKeyId."""
        arguments = self._value(step["Arguments"])
        job = f"pipelines-{self.execution_id}-{step['Name'][:20]}-{secrets.token_hex(4)}".lower()
        call = Call("sagemaker", "CreateTransformJob", {}, self.region, self.account)
        self.world.authorizer.check(self.role, transform_checks(call, job, {}),
                                    f"SageMaker pipeline {self.name} {step['Name']}")
        admin = self.world.client(self.world.admin(self.account), "sagemaker", self.region)
        model_role = admin.describe_model(ModelName=arguments["ModelName"])["ExecutionRoleArn"]
        job_arn = f"arn:aws:sagemaker:{self.region}:{self.account}:transform-job/{job}"
        session = self.world.as_service(model_role, "sagemaker.amazonaws.com", source_arn=job_arn,
                                        source_account=self.account, origin="SageMaker transform-job")
        source = arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        output = arguments["TransformOutput"]
        s3 = self.world.client(session, "s3", self.region)
        bucket, prefix = source.removeprefix("s3://").split("/", 1)
        # SageMaker writes <input object name>.out under S3OutputPath (CreateTransformJob API reference).
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            s3.get_object(Bucket=bucket, Key=item["Key"])
            name = item["Key"].rsplit("/", 1)[-1]
            self._write(session, f"{output['S3OutputPath'].rstrip('/')}/{name}.out", b"prediction\n",
                        output.get("KmsKeyId"))
        self.outputs[step["Name"]] = {**arguments, "TransformJobName": job}

    def _registermodel(self, step: dict) -> None:
        arguments = self._value(step["Arguments"])
        arguments.pop("ModelPackageName", None)
        sm = self.world.client(self.session, "sagemaker", self.region)
        self.model_package_arn = sm.create_model_package(**arguments)["ModelPackageArn"]
        self.outputs[step["Name"]] = arguments


# --- EventBridge Scheduler ----------------------------------------------------------------------


def fire_schedule(world: World, account: str, region: str, name: str, group: str = "default") -> PipelineExecution:
    """What EventBridge Scheduler does when a schedule with a templated SageMaker target comes
    due: assume the target's role (aws:SourceArn = the schedule group, aws:SourceAccount; the
    Scheduler user guide, "Set up the execution role") and call StartPipelineExecution on the
    target pipeline with its PipelineParameterList. The execution is then played."""
    scheduler = world.client(world.admin(account), "scheduler", region)
    schedule = scheduler.get_schedule(Name=name, GroupName=group)
    if schedule["State"] != "ENABLED":
        raise stacks.StackFailure(f"schedule {name} is {schedule['State']}: it never fires")
    target = schedule["Target"]
    group_arn = f"arn:aws:scheduler:{region}:{account}:schedule-group/{group}"
    session = world.as_service(target["RoleArn"], "scheduler.amazonaws.com", source_arn=group_arn,
                               source_account=account, origin=f"EventBridge Scheduler {name}")
    parameters = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    pipeline = target["Arn"].split(":pipeline/", 1)[1]
    world.step(f"EventBridge Scheduler {name} starts SageMaker pipeline {pipeline}")
    world.client(session, "sagemaker", region).start_pipeline_execution(
        PipelineName=pipeline, PipelineParameters=parameters)
    return PipelineExecution(world, pipeline, account, region,
                             parameters={p["Name"]: p["Value"] for p in parameters}).run()


# --- events, in the shape of the services' documented samples -----------------------------------

# Keys of "detail" in the SageMaker developer guide's sample "SageMaker Model Package State
# Change" event (Events that Amazon SageMaker AI sends to Amazon EventBridge); the values are
# the package's own, as DescribeModelPackage returns them.
MODEL_PACKAGE_DETAIL_KEYS = (
    "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "CreationTime", "InferenceSpecification",
    "ModelPackageStatus", "ModelPackageStatusDetails", "CertifyForMarketplace", "ModelApprovalStatus",
    "MetadataProperties", "ModelMetrics", "LastModifiedTime",
)


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


def model_package_state_change(described: dict, account: str, region: str) -> dict:
    detail = {k: described[k] for k in MODEL_PACKAGE_DETAIL_KEYS if k in described}
    for key in ("CreationTime", "LastModifiedTime"):
        if key in detail:
            detail[key] = _iso(detail[key])
    return {
        "version": "0", "id": secrets.token_hex(16), "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": account, "time": _iso(described["CreationTime"]), "region": region,
        "resources": [described["ModelPackageArn"]], "detail": detail,
    }


def codecommit_push(repository_arn: str, repository_id: str, branch: str, commit: str, created: bool) -> dict:
    """The CodeCommit user guide's sample "CodeCommit Repository State Change" event
    (referenceCreated on a first push of a branch, referenceUpdated after)."""
    _, _, _, region, account, name = repository_arn.split(":", 5)
    return {
        "version": "0", "id": secrets.token_hex(16), "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit", "account": account, "time": "2026-12-03T10:23:43Z", "region": region,
        "resources": [repository_arn],
        "detail": {"event": "referenceCreated" if created else "referenceUpdated", "repositoryName": name,
                   "repositoryId": repository_id, "referenceType": "branch", "referenceName": branch,
                   "referenceFullName": f"refs/heads/{branch}", "commitId": commit},
    }
