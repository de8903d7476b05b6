"""Bootstrap by CloudFormation StackSets (`bootstrap.mode: stackset`).

Three templates:
- the StackSet stack, deployed in the StackSet administrator account (the organization's
  management account or a delegated administrator for service-managed permissions, any
  account for self-managed ones). Its one resource is an AWS::CloudFormation::StackSet whose
  template is the bootstrap template itself, so every target account gets exactly the stack
  `deploy --stack bootstrap --bootstrap` would create;
- self-managed only: the administration role (administrator account) and the execution role
  (every target account), as the CloudFormation user guide sets them up ("Grant self-managed
  permissions"), but with the execution role scoped to what the bootstrap stack contains
  instead of AdministratorAccess.

The bootstrap roles live in IAM, which is global: the StackSet deploys to one region, the
pipeline region, where the manual bootstrap goes too.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import Join, Output, Ref, Sub, Template, cloudformation

from src import contracts
from src.config import PlatformConfig, StackSetSettings
from src.templates import bootstrap
from src.templates.iam import IAM_ROLE_MANAGEMENT, POLICY_VERSION, Service, allow, arn, global_arn, role, service_trust
from src.templates.storage import checkov_skips

UUID_PATTERN = "????????-????-????-????-????????????"
STACKSET_PARAMETERS = (bootstrap.PIPELINE_ACCOUNT_PARAM, bootstrap.OPERATORS_PARAM, bootstrap.DEV_ACCOUNTS_PARAM)
# Every IAM action CloudFormation's IAM::ManagedPolicy handler calls on a boundary policy.
MANAGED_POLICY_MANAGEMENT = ("iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
                             "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListPolicyVersions",
                             "iam:ListEntitiesForPolicy", "iam:TagPolicy", "iam:UntagPolicy")


def settings(config: PlatformConfig) -> StackSetSettings:
    if config.stackset is None:  # a graph bug: these templates exist only in stackset mode
        raise ValueError("bootstrap.mode is not stackset")
    return config.stackset


def target_accounts(config: PlatformConfig) -> tuple[str, ...]:
    """Self-managed targets: every set's DEV, PREPROD and PROD, then the additional accounts."""
    accounts = (a for s in config.account_sets for a in s.target_accounts)
    return tuple(dict.fromkeys((*accounts, *settings(config).additional_accounts)))


def template_body(config: PlatformConfig) -> str:
    """The bootstrap template as StackSets receives it: compact, sorted, deterministic."""
    return json.dumps(bootstrap.build(config).to_dict(), sort_keys=True, separators=(",", ":"))


# --- the StackSet stack --------------------------------------------------------------------------


def stackset_parameters() -> list[cloudformation.Parameter]:
    def value(name: str) -> Any:
        return Ref(name) if name == bootstrap.PIPELINE_ACCOUNT_PARAM else Join(",", Ref(name))

    return [cloudformation.Parameter(ParameterKey=name, ParameterValue=value(name)) for name in STACKSET_PARAMETERS]


def operation_preferences(config: PlatformConfig) -> cloudformation.OperationPreferences:
    prefs = settings(config).operation_preferences
    values = {
        "MaxConcurrentCount": prefs.max_concurrent_count,
        "MaxConcurrentPercentage": prefs.max_concurrent_percentage,
        "FailureToleranceCount": prefs.failure_tolerance_count,
        "FailureTolerancePercentage": prefs.failure_tolerance_percentage,
    }
    return cloudformation.OperationPreferences(
        ConcurrencyMode=prefs.concurrency_mode.api,
        RegionConcurrencyType="SEQUENTIAL",
        RegionOrder=[config.pipeline.region],  # one region: the bootstrap roles are global
        **{k: v for k, v in values.items() if v is not None},
    )


def instances_group(config: PlatformConfig) -> cloudformation.StackInstances:
    stackset = settings(config)
    if stackset.service_managed:
        targets = cloudformation.DeploymentTargets(OrganizationalUnitIds=list(stackset.organizational_units))
    else:
        targets = cloudformation.DeploymentTargets(Accounts=list(target_accounts(config)))
    return cloudformation.StackInstances(DeploymentTargets=targets, Regions=[config.pipeline.region])


def permission_properties(config: PlatformConfig) -> dict[str, Any]:
    stackset = settings(config)
    if stackset.service_managed:
        return {
            "CallAs": stackset.call_as.api,
            # The schema: RetainStacksOnAccountRemoval only when Enabled.
            "AutoDeployment": cloudformation.AutoDeployment(
                Enabled=True, RetainStacksOnAccountRemoval=stackset.retain_stacks_on_account_removal,
            ) if stackset.auto_deployment else cloudformation.AutoDeployment(Enabled=False),
        }
    return {
        "AdministrationRoleARN": Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/"
                                     f"{stackset.administration_role_name}"),
        "ExecutionRoleName": stackset.execution_role_name,
    }


def build(config: PlatformConfig) -> Template:
    stackset = settings(config)
    t = Template(Description=(
        f"StackSet bootstrapping every target account of the MLOps platform ({stackset.permission_model.value} "
        "permissions): the deploy, CloudFormation execution and model execution roles and the permissions boundaries."
    ))
    t.set_version()
    # The bootstrap template's own parameters, passed through under the same names (so a
    # change to a trust list reads as a change to a parameter a policy uses).
    bootstrap.add_parameters(t)
    resource = t.add_resource(
        cloudformation.StackSet(
            "BootstrapStackSet",
            StackSetName=contracts.bootstrap_stackset_name(config.app_prefix),
            Description="Bootstrap roles letting the MLOps platform's pipelines deploy into this account",
            PermissionModel=stackset.permission_model.api,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            # Operations that do not conflict run at once; conflicting ones queue instead of failing.
            ManagedExecution=cloudformation.ManagedExecution(Active=True),
            OperationPreferences=operation_preferences(config),
            Parameters=stackset_parameters(),
            StackInstancesGroup=[instances_group(config)],
            TemplateBody=template_body(config),
            **permission_properties(config),
        )
    )
    t.add_output(Output("StackSetId", Description="Id of the bootstrap StackSet", Value=Ref(resource)))
    return t


# --- self-managed permissions --------------------------------------------------------------------


def build_administration_role(config: PlatformConfig) -> Template:
    """In the administrator account: the role CloudFormation uses to reach the targets."""
    stackset = settings(config)
    t = Template(Description="StackSet administration role of the MLOps platform's bootstrap StackSet "
                             "(self-managed permissions).")
    t.set_version()
    t.add_resource(
        role(
            "StackSetAdministrationRole",
            name=stackset.administration_role_name,
            description="Used by CloudFormation StackSets to assume the execution role in the target accounts",
            trust=service_trust(Service.CLOUDFORMATION),
            # Which accounts it reaches is decided by the execution roles, which trust only this role.
            statements=[allow(["sts:AssumeRole"], [global_arn("iam", f"role/{stackset.execution_role_name}",
                                                              account="*")])],
            tags=None,
        )
    )
    return t


def execution_role_trust(stackset: StackSetSettings) -> dict:
    """The administrator account's administration role only."""
    admin = stackset.admin_account
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Principal": {"AWS": Sub(f"arn:${{AWS::Partition}}:iam::{admin}:root")},
            "Condition": {"ArnEquals": {"aws:PrincipalArn": Sub(
                f"arn:${{AWS::Partition}}:iam::{admin}:role/{stackset.administration_role_name}")}},
        }],
    }


def execution_role_statements(config: PlatformConfig) -> list[Any]:
    """What creating, updating and deleting the bootstrap stack takes, and nothing else: the
    instance stack itself, and the bootstrap's named roles and boundary policies."""
    prefix = config.app_prefix
    roles = [contracts.deploy_role_name(prefix), contracts.cfn_execution_role_name(prefix),
             contracts.model_execution_role_name(prefix), contracts.batch_execution_role_name(prefix),
             contracts.batch_scheduler_role_name(prefix)]
    boundaries = [contracts.launch_role_boundary_name(prefix), contracts.project_role_boundary_name(prefix)]
    # Instance stacks are named StackSet-<stack set name>-<UUID>: pinning the UUID's shape keeps
    # a StackSet named <prefix>-bootstrap-<anything> out.
    stack = f"stack/StackSet-{contracts.bootstrap_stackset_name(prefix)}-{UUID_PATTERN}/*"
    return [
        allow(["cloudformation:*"], [arn("cloudformation", stack)], sid="TheInstanceStack"),
        # Template checks and listings have no resource-level permissions.
        allow(["cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary", "cloudformation:ListStacks"],
              ["*"], sid="TemplateChecks"),
        allow(list(IAM_ROLE_MANAGEMENT), [global_arn("iam", f"role/{name}") for name in roles], sid="BootstrapRoles"),
        allow(list(MANAGED_POLICY_MANAGEMENT), [global_arn("iam", f"policy/{name}") for name in boundaries],
              sid="BootstrapBoundaries"),
    ]


def build_execution_role(config: PlatformConfig) -> Template:
    """In every target account (self-managed): the role StackSets deploys the bootstrap with."""
    stackset = settings(config)
    t = Template(Description="StackSet execution role of the MLOps platform's bootstrap StackSet "
                             "(self-managed permissions), scoped to the bootstrap stack's resources.")
    t.set_version()
    execution = role(
        "StackSetExecutionRole",
        name=stackset.execution_role_name,
        description="Used by the bootstrap StackSet to create the platform's bootstrap roles in this account",
        trust=execution_role_trust(stackset),
        statements=execution_role_statements(config),
        tags=None,
    )
    execution.Metadata = checkov_skips(
        ("CKV_AWS_109", "Writes only the bootstrap stack's own named roles and boundary policies; this is the "
                        "role that creates them."),
        ("CKV_AWS_111", "Writes only the bootstrap stack's own named roles and boundary policies and its "
                        "instance stack."),
    )
    t.add_resource(execution)
    return t
