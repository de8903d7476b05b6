"""Emulator support: make moto's CloudFormation deploy AWS::CloudFormation::StackSet.

moto 5.2 implements the StackSets API (CreateStackSet, CreateStackInstances, ...) but its
CloudFormation skips the AWS::CloudFormation::StackSet resource, so a stack holding one
completes with no StackSet behind it. This registers a resource model that does what
CloudFormation's StackSet handler does on AWS, through moto's own StackSets backend:
create the StackSet and its StackInstancesGroup, on update change the template and
parameters and bring every instance to them (moto updates only the parameters of an
instance, so an instance is re-created), and on delete remove the instances, then the set.
It also lets DeleteStackInstances take DeploymentTargets (organizational units), which moto
ignores. Used by `build.py local` and the tests; product code never imports it.
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    """Register the model in this process (the in-process moto server sees it). Idempotent."""
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing, responses
    from moto.core.common_models import CloudFormationModel

    class EmulatedStackSet(CloudFormationModel):
        def __init__(self, name: str, stackset_id: str):
            self.name = name
            self.stackset_id = stackset_id

        @property
        def physical_resource_id(self) -> str:
            return self.stackset_id  # Ref returns the StackSetId (the resource schema's primaryIdentifier)

        @staticmethod
        def cloudformation_name_type() -> str:
            return "StackSetName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudFormation::StackSet"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "StackSetId"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.stackset_id

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            props = cloudformation_json["Properties"]
            backend = _backend(account_id, region_name)
            created = backend.create_stack_set(
                name=props["StackSetName"], template=props["TemplateBody"], parameters=_parameters(props),
                tags={t["Key"]: t["Value"] for t in props.get("Tags", [])},
                permission_model=props.get("PermissionModel", "SELF_MANAGED"),
                admin_role=props.get("AdministrationRoleARN"), exec_role=props.get("ExecutionRoleName"),
                description=props.get("Description"))
            _create_instances(backend, props, props.get("StackInstancesGroup", []))
            return cls(props["StackSetName"], created.id)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                            account_id, region_name):
            props = cloudformation_json["Properties"]
            backend = _backend(account_id, region_name)
            stackset = backend.describe_stack_set(original_resource.name)
            stackset.template = props["TemplateBody"]
            stackset.parameters = _parameters(props)
            stackset.instances.template = stackset.template
            stackset.instances.parameters = stackset.parameters
            # Every instance's stack is updated to the new template and parameters; targets
            # added get an instance, targets removed lose theirs.
            wanted = _targets(stackset, props)
            for instance in list(stackset.stack_instances):
                if (instance.account_id, instance.region_name) not in wanted:
                    stackset.delete_stack_instances([instance.account_id], [instance.region_name])
                else:
                    instance.template = stackset.template
                    instance.stack.update(template=stackset.template, parameters=stackset.parameters)
            _create_instances(backend, props, props.get("StackInstancesGroup", []))
            stackset._create_operation(operation_id=_uuid(), action="UPDATE", status="SUCCEEDED")
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            _delete_stackset(_backend(account_id, region_name), cloudformation_json["Properties"]["StackSetName"])

        def delete(self, account_id: str, region_name: str) -> None:
            _delete_stackset(_backend(account_id, region_name), self.name)

    original_delete_instances = responses.CloudFormationResponse.delete_stack_instances

    def delete_stack_instances(self):
        """DeploymentTargets.OrganizationalUnitIds: the instances of accounts in those OUs."""
        units = (self._get_params().get("DeploymentTargets") or {}).get("OrganizationalUnitIds", [])
        if units and not self._get_param("Accounts"):
            name = self._get_param("StackSetName")
            stackset = self.cloudformation_backend.describe_stack_set(name)
            accounts = _accounts_in(stackset.instances.org_backend, units)
            stackset.delete_stack_instances(accounts, self._get_param("Regions", []))
            from moto.core.responses import ActionResult

            return ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})
        return original_delete_instances(self)

    responses.CloudFormationResponse.delete_stack_instances = delete_stack_instances
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    assert parsing.get_model_map()["AWS::CloudFormation::StackSet"] is EmulatedStackSet
    _installed = True


def _backend(account_id: str, region_name: str):
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region_name]


def _uuid() -> str:
    from moto.moto_api._internal import mock_random

    return str(mock_random.uuid4())


def _parameters(props: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in props.get("Parameters", [])}


def _create_instances(backend, props: dict, groups: list[dict]) -> None:
    service_managed = props.get("PermissionModel") == "SERVICE_MANAGED"
    for group in groups:
        targets = group.get("DeploymentTargets", {})
        backend.create_stack_instances(
            props["StackSetName"], accounts=[] if service_managed else targets.get("Accounts", []),
            regions=group["Regions"], parameters=group.get("ParameterOverrides", []),
            deployment_targets=targets if service_managed else None)


def _targets(stackset, props: dict) -> set[tuple[str, str]]:
    """(account, region) of every instance the StackInstancesGroup asks for."""
    found = set()
    for group in props.get("StackInstancesGroup", []):
        targets = group.get("DeploymentTargets", {})
        accounts = targets.get("Accounts", [])
        if targets.get("OrganizationalUnitIds"):
            accounts = _accounts_in(stackset.instances.org_backend, targets["OrganizationalUnitIds"])
        found |= {(account, region) for account in accounts for region in group["Regions"]}
    return found


def _delete_all_instances(stackset) -> None:
    for instance in list(stackset.stack_instances):
        stackset.delete_stack_instances([instance.account_id], [instance.region_name])


def _delete_stackset(backend, name: str) -> None:
    try:
        stackset = backend.describe_stack_set(name)
    except Exception:  # noqa: BLE001 - already gone
        return
    _delete_all_instances(stackset)
    backend.delete_stack_set(name)


def _accounts_in(org_backend: Any, units: list[str]) -> list[str]:
    """Accounts directly in `units` or their child OUs (as moto's CreateStackInstances resolves them)."""
    wanted = set(units) | {ou.id for ou in org_backend.ou if ou.parent_id in units}
    return [account.id for account in org_backend.accounts if account.parent_id in wanted]
