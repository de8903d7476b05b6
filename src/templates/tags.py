"""Tags shared by templates. Platform stacks get their tags at stack level from the deployer;
project templates tag each resource so SageMaker Studio can associate it with the project."""

from __future__ import annotations

from troposphere import Ref, Tags

from src import contracts

PROJECT_NAME_PARAM = "SageMakerProjectName"
PROJECT_ID_PARAM = "SageMakerProjectId"


def project_tags(**extra: str) -> Tags:
    """Tags for a taggable resource of a project template."""
    return Tags(
        {
            contracts.TAG_PROJECT_NAME: Ref(PROJECT_NAME_PARAM),
            contracts.TAG_PROJECT_ID: Ref(PROJECT_ID_PARAM),
            **extra,
        }
    )


def project_tag_map() -> dict:
    """The same tags as a plain map, for resources (SSM parameters) whose Tags are a map."""
    return {
        contracts.TAG_PROJECT_NAME: Ref(PROJECT_NAME_PARAM),
        contracts.TAG_PROJECT_ID: Ref(PROJECT_ID_PARAM),
    }


def studio_visible_tags() -> Tags:
    """Service Catalog products with this tag show up in SageMaker Studio's project templates."""
    return Tags({contracts.TAG_STUDIO_VISIBILITY: "true"})


def dev_account_tags(dev_account: str) -> Tags:
    """A platform role that deploys into one DEV account; the bootstrap deploy role there
    trusts it by this tag (templates/bootstrap.py)."""
    return Tags({contracts.TAG_DEV_ACCOUNT: dev_account})
