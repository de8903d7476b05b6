"""Names that cross stack boundaries, defined once.

Every template, the packager and the deployer import these. Changing a value here
changes a deployed name: treat it as a breaking change.
"""

from __future__ import annotations

from src.regions import longest_region_name

# --- SSM parameters ---------------------------------------------------------------
SSM_ROOT = "/mlops"

# Written by the packager, read by the project templates via {{resolve:ssm:...}}.
SSM_SEED_BUCKET = f"{SSM_ROOT}/code/seed_bucket"
SSM_SEED_BUILD = f"{SSM_ROOT}/code/build"
SSM_SEED_DEPLOY = f"{SSM_ROOT}/code/deploy"
SSM_SEED_BUILD_BYOC = f"{SSM_ROOT}/code/build/byoc"
SSM_SEED_DEPLOY_BATCH = f"{SSM_ROOT}/code/deploy/batch"
SSM_CODE_PREFIX = f"{SSM_ROOT}/code/"
# With git.provider codeconnections: the seeding function's zip (src/git_seed), written by the
# packager, and the DEV account's connection for project repositories, written by the set's
# Service Catalog stack.
SSM_GIT_SEEDER = f"{SSM_CODE_PREFIX}git_seeder"
SSM_GIT_CONNECTION = f"{SSM_ROOT}/git/connection_arn"
GIT_SEEDER_APP = "git_seeder"  # artifact name seed/<this> and S3 key folder
GIT_SEEDER_HANDLER = "git_seed.handler.handler"

# Written by the Service Catalog stack (one account set per DEV account).
SSM_DEV_ACCOUNT_ID = f"{SSM_ROOT}/dev/account_id"
SSM_DEV_REGION = f"{SSM_ROOT}/dev/region"
SSM_PREPROD_ACCOUNT_ID = f"{SSM_ROOT}/preprod/account_id"
SSM_PREPROD_REGION = f"{SSM_ROOT}/preprod/region"
SSM_PROD_ACCOUNT_ID = f"{SSM_ROOT}/prod/account_id"
SSM_PROD_REGION = f"{SSM_ROOT}/prod/region"

STAGES = ("dev", "preprod", "prod")


def project_ssm_name(stage: str, field: str) -> str:
    """Per-project parameter written by a project template (Fn::Sub string), e.g.
    /mlops/p-idy6c3e1fiqj/prod/region. Keyed by the project id, which always starts with
    `p-`, so no project can collide with the platform's /mlops/code, /mlops/role or
    /mlops/<stage> parameters, whatever it is named."""
    return f"{SSM_ROOT}/${{SageMakerProjectId}}/{stage}/{field}"


PROJECT_PARAMETER_PATTERN = f"{SSM_ROOT}/p-*"


# --- Seed code apps -------------------------------------------------------------------
# app directory under seed_code/ -> SSM parameter naming its zip's S3 key
SEED_APPS = {
    "build_app": SSM_SEED_BUILD,
    "deploy_app": SSM_SEED_DEPLOY,
    "byoc_build_app": SSM_SEED_BUILD_BYOC,
    "batch_deploy_app": SSM_SEED_DEPLOY_BATCH,
}
# Files the project pipelines run from the seeded repositories.
BUILDSPEC = "buildspec.yml"
DOCKER_BUILDSPEC = "docker-buildspec.yml"
SEED_APP_REQUIRED_FILES = {
    "build_app": (BUILDSPEC,),
    "deploy_app": (BUILDSPEC,),
    "byoc_build_app": (BUILDSPEC, DOCKER_BUILDSPEC, "Dockerfile", "docker-build.sh"),
    "batch_deploy_app": (BUILDSPEC,),
}
# Templates the deploy app's build writes at the root of its output artifact.
DEPLOY_STAGE_TEMPLATE = "{stage}.template.json"

# Packaging the repository itself for the CodeCommit stack.
REPO_ARCHIVE = "repository"

# --- Role names (bootstrap stack, in every DEV/PREPROD/PROD account) -----------------


def deploy_role_name(prefix: str) -> str:
    """Cross-account role assumed by pipelines to run CloudFormation in a target account."""
    return f"{prefix}-cross-account-deploy"


def cfn_execution_role_name(prefix: str) -> str:
    """Role CloudFormation uses in a target account; passed by the deploy role."""
    return f"{prefix}-cfn-execution"


def model_execution_role_name(prefix: str) -> str:
    """Role SageMaker endpoints in a target account run with."""
    return f"{prefix}-sagemaker-model-execution"


def launch_role_name(prefix: str, set_name: str) -> str:
    """Service Catalog launch role of an account set, in the set's DEV account."""
    return f"{prefix}-{set_name}-sc-launch"


def batch_execution_role_name(prefix: str) -> str:
    """Role batch-inference stacks in a target account run with: the SageMaker model's role
    (the transform job reads input and writes output with it) and the SageMaker pipeline's."""
    return f"{prefix}-sagemaker-batch-execution"


def batch_scheduler_role_name(prefix: str) -> str:
    """Role EventBridge Scheduler assumes to start batch-inference pipelines in a target account."""
    return f"{prefix}-batch-scheduler"


def batch_data_bucket_pattern(prefix: str) -> str:
    """Buckets of a target account the batch execution role may read and write by its own
    policy (others only where their bucket policy grants it)."""
    return f"{prefix}-batch-*"


# Batch-inference stacks name their SageMaker pipelines "<project name>-<project id>-<stage>-batch"
# and their schedules "<project id>-<stage>-batch" (seed_code/batch_deploy_app).
BATCH_PIPELINE_SUFFIX = "-batch"


LAUNCH_ROLE_SUFFIX = "-sc-launch"


def launch_role_pattern(prefix: str) -> str:
    """Every set's launch role: the only roles CloudFormation may write in a target account."""
    return f"{prefix}-*{LAUNCH_ROLE_SUFFIX}"


def project_roles_pattern(prefix: str) -> str:
    """Every role a project template creates (project ids start with p-, set names may not)."""
    return f"{prefix}-p-*"


def project_deploy_pipeline_role_pattern(prefix: str) -> str:
    """The deploy pipeline role of any project: what target accounts' deploy roles trust in
    the DEV accounts."""
    return f"{prefix}-p-*-deploy-pipeline"


def platform_pipeline_role_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-{set_name}-pipeline"


def package_role_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-{set_name}-package"


def platform_role_patterns(prefix: str) -> tuple[str, ...]:
    """Every set's platform pipeline and package role (set names never start with `p-`)."""
    return (platform_pipeline_role_name(prefix, "*"), package_role_name(prefix, "*"))


# Permissions boundaries (bootstrap stack, in every target account): every role the launch role
# or CloudFormation creates must carry one, so no created role can exceed it.
def launch_role_boundary_name(prefix: str) -> str:
    return f"{prefix}-launch-role-boundary"


def project_role_boundary_name(prefix: str) -> str:
    return f"{prefix}-project-role-boundary"


def boundary_arn(name: str, account: str = "${AWS::AccountId}") -> str:
    """Fn::Sub string of a boundary policy's ARN."""
    return f"arn:${{AWS::Partition}}:iam::{account}:policy/{name}"


def project_role_name(prefix: str, purpose: str) -> str:
    """A role created by a project template; `${SageMakerProjectId}` keeps it unique."""
    return f"{prefix}-${{SageMakerProjectId}}-{purpose}"


def project_resource_name(prefix: str, purpose: str) -> str:
    """Human-facing project resources (repos, pipelines, build projects)."""
    return f"{prefix}-${{SageMakerProjectName}}-{purpose}"


# --- SageMaker projects -----------------------------------------------------------------
# What SageMaker CreateProject accepts as ProjectName (botocore's SageMaker service model,
# shape ProjectEntityName); product templates accept exactly that.
PROJECT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"
MAX_PROJECT_NAME_LEN = 32
# SageMaker project ids: "p-" and 12 lowercase letters and digits (e.g. p-idy6c3e1fiqj).
PROJECT_ID_PATTERN = r"^p-[a-z0-9]+$"
MAX_PROJECT_ID_LEN = 16
ACCOUNT_ID_LEN = 12

# Project-owned SageMaker resources are named "<project name>-<project id>" (as SageMaker's own
# templates name them). Policies match them by the id suffix, because the id is lowercase and
# unique: `*-<id>` matches whatever case SageMaker keeps the name in inside an ARN.
MODEL_PACKAGE_GROUP = "${SageMakerProjectName}-${SageMakerProjectId}"
SAGEMAKER_PIPELINE = "${SageMakerProjectName}-${SageMakerProjectId}"
PROJECT_SAGEMAKER_NAME_PATTERN = "*-${SageMakerProjectId}"


def endpoint_stack_name(prefix: str, stage: str) -> str:
    """Stack the deploy pipeline creates per stage; project ids keep two projects of the same
    name (in two sets sharing a PREPROD/PROD account) apart."""
    return f"{prefix}-${{SageMakerProjectId}}-{stage}"


def image_repository_name(prefix: str) -> str:
    """ECR repository of a bring-your-own-container project. Retained on project deletion, so
    keyed by the project id: a project re-created with the same name gets a new repository."""
    return f"{prefix}-${{SageMakerProjectId}}-byoc"


# --- Bucket names -----------------------------------------------------------------------
MAX_BUCKET_NAME_LEN = 63


def project_bucket_name(prefix: str, purpose: str) -> str:
    """Project bucket, unique per project id and account (Fn::Sub string)."""
    return f"{prefix}-${{SageMakerProjectId}}-{purpose}-${{AWS::AccountId}}"


PROJECT_BUCKET_PURPOSES = ("artifacts", "pipeline", "logs")


def pipeline_bucket_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-{set_name}-pipeline-${{AWS::AccountId}}-${{AWS::Region}}"


def pipeline_logs_bucket_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-{set_name}-logs-${{AWS::AccountId}}-${{AWS::Region}}"


def assets_bucket_name(prefix: str, account_id: str, region: str) -> str:
    return f"{prefix}-assets-{account_id}-{region}"


def assets_logs_bucket_name(prefix: str, account_id: str, region: str) -> str:
    return f"{prefix}-assets-logs-{account_id}-{region}"


def longest_bucket_names(prefix: str, set_name: str) -> list[str]:
    """Every derived bucket name at its longest, for validating config lengths."""
    longest_region = "x" * longest_region_name()
    account = "0" * ACCOUNT_ID_LEN
    names = [
        project_bucket_name(prefix, p)
        .replace("${SageMakerProjectId}", "p" * MAX_PROJECT_ID_LEN)
        .replace("${AWS::AccountId}", account)
        for p in PROJECT_BUCKET_PURPOSES
    ]
    for name in (pipeline_bucket_name(prefix, set_name), pipeline_logs_bucket_name(prefix, set_name)):
        names.append(name.replace("${AWS::AccountId}", account).replace("${AWS::Region}", longest_region))
    names.append(assets_bucket_name(prefix, account, longest_region))
    names.append(assets_logs_bucket_name(prefix, account, longest_region))
    return names


# --- Stack names ---------------------------------------------------------------------


def assets_stack_name(prefix: str) -> str:
    return f"{prefix}-assets"


def bootstrap_stack_name(prefix: str) -> str:
    return f"{prefix}-bootstrap"


def bootstrap_stackset_name(prefix: str) -> str:
    """The StackSet (in stackset mode) whose instances are the target accounts' bootstrap
    stacks; StackSets names each instance stack `StackSet-<this>-<id>`."""
    return f"{prefix}-bootstrap"


def bootstrap_stackset_stack_name(prefix: str) -> str:
    """The stack, in the StackSet administrator account, holding the StackSet."""
    return f"{prefix}-bootstrap-stackset"


def stackset_administration_role_name(prefix: str) -> str:
    """Default administration role (self-managed). Not AWS's AWSCloudFormationStackSet* names:
    an account may already have those, often with AdministratorAccess, for other StackSets."""
    return f"{prefix}-stackset-administration"


def stackset_execution_role_name(prefix: str) -> str:
    return f"{prefix}-stackset-execution"


def stackset_admin_role_stack_name(prefix: str) -> str:
    return f"{prefix}-stackset-administration-role"


def stackset_execution_role_stack_name(prefix: str) -> str:
    return f"{prefix}-stackset-execution-role"


def service_catalog_stack_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-service-catalog-{set_name}"


def codecommit_stack_name(prefix: str) -> str:
    return f"{prefix}-codecommit"


def pipeline_stack_name(prefix: str, set_name: str) -> str:
    return f"{prefix}-pipeline-{set_name}"


# --- dist/ layout ----------------------------------------------------------------------
# Paths relative to dist/. Product templates are keyed by a short product key (see
# templates/products.py, the list of products).


def dist_assets() -> str:
    return "assets.json"


def dist_codecommit() -> str:
    return "codecommit.json"


def dist_bootstrap() -> str:
    return "bootstrap.json"


def dist_bootstrap_stackset() -> str:
    return "stackset/bootstrap-stackset.json"


def dist_stackset_admin_role() -> str:
    return "stackset/administration-role.json"


def dist_stackset_execution_role() -> str:
    return "stackset/execution-role.json"


def dist_service_catalog(set_name: str) -> str:
    return f"sets/{set_name}/service-catalog.json"


def dist_pipeline(set_name: str) -> str:
    return f"sets/{set_name}/pipeline.json"


def dist_product(product: str, set_name: str | None) -> str:
    """A set's own product template, or (set_name None) one shared by every set."""
    if set_name:
        return f"sets/{set_name}/products/{product}.json"
    return f"products/{product}.json"


# --- S3 key layout (content-addressed) --------------------------------------------------


def seed_object_key(app: str, sha256: str) -> str:
    return f"seed/{app}/{sha256}.zip"


def product_template_key(product: str, sha256: str) -> str:
    return f"templates/{product}/{sha256}.json"


# --- Package output consumed by deploy and by the platform pipeline --------------------
PACKAGE_DIR = "build/package"  # relative to the repository root; not part of dist/
MANIFEST_NAME = "manifest.json"  # relative to PACKAGE_DIR, like the parameter files below
CODECOMMIT_PARAMETERS_NAME = "codecommit.parameters.json"


def service_catalog_parameters_name(set_name: str) -> str:
    """CodePipeline-style template configuration for a set's Service Catalog stack."""
    return f"sets/{set_name}/service-catalog.parameters.json"


# Service Catalog stack parameters filled from the package manifest, per product.
def product_parameter_names(product: str) -> tuple[str, str]:
    stem = "".join(part.capitalize() for part in product.split("-"))
    return f"{stem}TemplateUrl", f"{stem}TemplateVersion"


# Pipeline stack of a set whose region differs from the pipeline's: the key ARN of the assets
# bucket there (its artifact store in that region), looked up by deploy. CodePipeline needs
# the key ARN, not an alias, for a cross-account action.
CROSS_REGION_KEY_PARAM = "SetRegionArtifactKeyArn"


def assets_key_alias(bucket: str) -> str:
    """Alias of the KMS key of an encrypted bucket (see templates/storage.py)."""
    return f"alias/{bucket}"


# Template parameters of the CodeCommit stack, filled from the package manifest.
CODECOMMIT_SOURCE_BUCKET_PARAM = "SourceBucket"
CODECOMMIT_SOURCE_KEY_PARAM = "SourceKey"

# Tags
TAG_PROJECT_NAME = "sagemaker:project-name"
TAG_PROJECT_ID = "sagemaker:project-id"
TAG_STUDIO_VISIBILITY = "sagemaker:studio-visibility"
# On the pipeline account's platform pipeline and package roles: the DEV account they deploy
# into. The bootstrap deploy role trusts those roles only where this equals its own account.
TAG_DEV_ACCOUNT = "mlops:dev-account"


# --- S3 project templates (SageMaker Studio: Organization templates -> S3 templates) -------
# The packager publishes every product a set offers as a YAML object under the set's prefix
# of its region's assets bucket, each object tagged TAG_STUDIO_VISIBILITY=true; the set's
# SageMaker domains are tagged TAG_S3_TEMPLATES_LOCATION=s3://<bucket>/<prefix> (Studio lists
# every template object under it). Keys are stable, not content-addressed: Studio would show
# every version of a content-hashed key as another template.
TAG_S3_TEMPLATES_LOCATION = "sagemaker:projectS3TemplatesLocation"
S3_TEMPLATES_ROOT = "sagemaker-project-templates/"
# What the CfnTemplateProvider's RoleARN names: the set's launch role for S3 templates, which
# CloudFormation assumes (in the set's DEV account, with the launch-role boundary).
S3_LAUNCH_ROLE_SUFFIX = "-s3-launch"
# SageMaker's DomainId shape (botocore's SageMaker model): what account_sets[].sagemaker_domains take.
DOMAIN_ID_PATTERN = r"^d-(-*[a-z0-9]){1,61}$"
MAX_DOMAIN_ID_LEN = 63


def s3_templates_prefix(set_name: str) -> str:
    """Key prefix of one account set's S3 project templates (ends with '/')."""
    return f"{S3_TEMPLATES_ROOT}{set_name}/"


def s3_template_key(set_name: str, product: str) -> str:
    return f"{s3_templates_prefix(set_name)}{product}.yaml"


def s3_templates_location(bucket: str, set_name: str) -> str:
    """The value of a domain's TAG_S3_TEMPLATES_LOCATION tag."""
    return f"s3://{bucket}/{s3_templates_prefix(set_name)}"


def s3_launch_role_name(prefix: str, set_name: str) -> str:
    """Launch role of an account set's S3 project templates, in the set's DEV account. Its own
    suffix: `-sc-launch` would make set `x`'s S3 role the Service Catalog role of a set `x-s3`."""
    return f"{prefix}-{set_name}{S3_LAUNCH_ROLE_SUFFIX}"


def s3_launch_role_pattern(prefix: str) -> str:
    """Every set's S3-template launch role: with `launch_role_pattern`, the only roles
    CloudFormation may write in a target account."""
    return f"{prefix}-*{S3_LAUNCH_ROLE_SUFFIX}"
