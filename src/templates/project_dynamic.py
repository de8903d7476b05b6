"""Product: model build + deploy where the data scientist chooses PREPROD/PROD at launch."""

from __future__ import annotations

from troposphere import Parameter, Template

from src import contracts
from src.config import PlatformConfig
from src.templates.project_build import add_model_build
from src.templates.project_deploy import add_model_deploy, endpoint_app
from src.templates.project_parts import TargetAccounts, add_shared, new_project_template
from src.templates.project_source import GitRepositories

ACCOUNT_PATTERN = r"^\d{12}$"


def build(config: PlatformConfig) -> Template:
    t = new_project_template(
        "SageMaker project: model building and multi-account deployment to PREPROD/PROD "
        "accounts chosen when the project is created."
    )
    for title, stage in (("PreProdAccount", "PREPROD"), ("ProdAccount", "PROD")):
        t.add_parameter(
            Parameter(
                title,
                Type="String",
                Description=f"{stage} account id; it must have the bootstrap stack deployed.",
                AllowedPattern=ACCOUNT_PATTERN,
                ConstraintDescription="an AWS account id: exactly 12 digits",
            )
        )
    t.add_parameter(
        Parameter(
            "DeploymentRegion",
            Type="String",
            Description=(
                "Region of the PREPROD/PROD endpoints. The deploy pipeline keeps its artifacts in "
                "this project's region, so use the region the project is created in."
            ),
            AllowedPattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
            ConstraintDescription="an AWS region name such as eu-west-1",
        )
    )
    # Checked before anything is created: the deploy pipeline has an artifact store only here.
    t.add_rule(
        "DeploymentRegionIsTheProjectRegion",
        {
            "Assertions": [
                {
                    "Assert": {"Fn::Equals": [{"Ref": "DeploymentRegion"}, {"Ref": "AWS::Region"}]},
                    "AssertDescription": "DeploymentRegion must be the region the project is created in",
                }
            ]
        },
    )
    targets = TargetAccounts(preprod="${PreProdAccount}", prod="${ProdAccount}", region="${DeploymentRegion}")
    shared = add_shared(t, config.app_prefix, targets, GitRepositories.of(config))
    add_model_build(t, shared, seed_parameter=contracts.SSM_SEED_BUILD)
    add_model_deploy(t, shared, endpoint_app(config.app_prefix))
    return t
