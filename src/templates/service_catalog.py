"""Service Catalog stack of one account set, deployed in the set's DEV account and region.

One portfolio, one product per project template (template loaded from the assets bucket,
URL and content-hash version supplied by the packager), the principal association, a launch
role constraint per product, and the SSM parameters naming the set's accounts. Also the
launch role of the set's S3 project templates (the same products, published by the packager
for SageMaker Studio): CloudFormation assumes it when a project is created from one.
"""

from __future__ import annotations

from troposphere import GetAtt, Parameter, Ref, Sub, Template, servicecatalog, ssm

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates import launch_role
from src.templates.iam import Service, role, service_trust
from src.templates.products import PRODUCTS
from src.templates.tags import studio_visible_tags


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    sc = config.service_catalog
    t = Template(
        Description=(
            f"Service Catalog portfolio of SageMaker project templates for the "
            f"'{account_set.name}' account set (DEV account)."
        )
    )
    t.set_version()
    execution_role = t.add_parameter(
        Parameter(
            "ExecutionRoleArn",
            Type="AWS::SSM::Parameter::Value<String>",
            Default=sc.execution_role_parameter,
            Description="SSM parameter holding the ARN of the role given access to the portfolio.",
        )
    )
    portfolio_name = t.add_parameter(Parameter("PortfolioName", Type="String", Default=sc.portfolio_name))
    portfolio_owner = t.add_parameter(Parameter("PortfolioOwner", Type="String", Default=sc.portfolio_owner))
    product_version = t.add_parameter(
        Parameter(
            "ProductVersion",
            Type="String",
            Default=sc.product_version,
            Description="Release label shown in each provisioning artifact's description.",
        )
    )

    portfolio = t.add_resource(
        servicecatalog.Portfolio(
            "Portfolio",
            DisplayName=Ref(portfolio_name),
            ProviderName=Ref(portfolio_owner),
            Description="SageMaker project templates for multi-account MLOps",
        )
    )
    principal = t.add_resource(
        servicecatalog.PortfolioPrincipalAssociation(
            "PortfolioPrincipalAssociation",
            PortfolioId=Ref(portfolio),
            PrincipalARN=Ref(execution_role),
            PrincipalType="IAM",
        )
    )
    launch = t.add_resource(
        role(
            "ProductLaunchRole",
            name=contracts.launch_role_name(config.app_prefix, account_set.name),
            description="Service Catalog launches the SageMaker project templates with this role",
            trust=service_trust(Service.SERVICE_CATALOG),
            statements=launch_role.statements(
                config.app_prefix, [config.assets_bucket_in(account_set.region)], sc.execution_role_parameter,
                connection=config.connections and config.connections.connection_of(account_set.name),
            ),
            tags=None,
            boundary=Sub(contracts.boundary_arn(contracts.launch_role_boundary_name(config.app_prefix))),
        )
    )

    add_s3_launch_role(t, config, account_set)

    for product in PRODUCTS:
        title = product.title
        url_param, version_param = contracts.product_parameter_names(product.key)
        url = t.add_parameter(
            Parameter(
                url_param,
                Type="String",
                AllowedPattern="^https://.+",
                Description=f"S3 URL of the '{product.key}' product template (set by the packager).",
            )
        )
        version = t.add_parameter(
            Parameter(
                version_param,
                Type="String",
                Description=f"Version of the '{product.key}' template: its content hash (set by the packager).",
            )
        )
        product_resource = t.add_resource(
            servicecatalog.CloudFormationProduct(
                f"{title}Product",
                Name=product.name,
                Description=product.description,
                Owner=Ref(portfolio_owner),
                ProvisioningArtifactParameters=[
                    servicecatalog.ProvisioningArtifactProperties(
                        Name=Ref(version),
                        Description=Sub("Release ${V}", V=Ref(product_version)),
                        Info=servicecatalog.Info(LoadTemplateFromURL=Ref(url)),
                    )
                ],
                Tags=studio_visible_tags(),
            )
        )
        association = t.add_resource(
            servicecatalog.PortfolioProductAssociation(
                f"{title}ProductAssociation",
                PortfolioId=Ref(portfolio),
                ProductId=Ref(product_resource),
            )
        )
        t.add_resource(
            servicecatalog.LaunchRoleConstraint(
                f"{title}LaunchRoleConstraint",
                DependsOn=[association.title, principal.title],
                PortfolioId=Ref(portfolio),
                ProductId=Ref(product_resource),
                RoleArn=GetAtt(launch, "Arn"),
                Description="Projects are created with the platform's launch role",
            )
        )

    for title, name, value, what in (
        ("DevAccountIdParameter", contracts.SSM_DEV_ACCOUNT_ID, account_set.dev_account, "DEV account id"),
        ("DevRegionParameter", contracts.SSM_DEV_REGION, account_set.region, "DEV region"),
        ("PreProdAccountIdParameter", contracts.SSM_PREPROD_ACCOUNT_ID, account_set.preprod_account, "PREPROD account id"),
        ("PreProdRegionParameter", contracts.SSM_PREPROD_REGION, account_set.region, "PREPROD region"),
        ("ProdAccountIdParameter", contracts.SSM_PROD_ACCOUNT_ID, account_set.prod_account, "PROD account id"),
        ("ProdRegionParameter", contracts.SSM_PROD_REGION, account_set.region, "PROD region"),
    ):
        t.add_resource(
            ssm.Parameter(
                title,
                Name=name,
                Type="String",
                Value=value,
                Description=f"{what} of account set '{account_set.name}'",
            )
        )
    add_connection_parameter(t, config, account_set)
    return t


def add_connection_parameter(t: Template, config: PlatformConfig, account_set: AccountSet) -> None:
    """Git provider repositories: the DEV account's CodeConnections connection, which every
    project template reads (`{{resolve:ssm:/mlops/git/connection_arn}}`)."""
    if config.connections is None:
        return
    t.add_resource(
        ssm.Parameter(
            "GitConnectionParameter",
            Name=contracts.SSM_GIT_CONNECTION,
            Type="String",
            Value=config.connections.connection_of(account_set.name),
            Description=f"CodeConnections connection of account set '{account_set.name}' projects' repositories",
        )
    )


def add_s3_launch_role(t: Template, config: PlatformConfig, account_set: AccountSet) -> None:
    """The RoleARN of the set's S3 project templates (SageMaker CreateProject's
    CfnTemplateProvider: "the IAM role that CloudFormation assumes when creating the stack"):
    the Service Catalog launch role's permissions and boundary, for SageMaker's SP-* stacks.
    Trusted by CloudFormation only; a Studio user's execution role needs iam:PassRole on it
    (granted by whoever owns that role, see README)."""
    t.add_resource(
        role(
            "S3TemplatesLaunchRole",
            name=contracts.s3_launch_role_name(config.app_prefix, account_set.name),
            description="CloudFormation creates SageMaker projects from the S3 project templates with this role",
            trust=service_trust(Service.CLOUDFORMATION),
            statements=launch_role.statements(
                config.app_prefix, [config.assets_bucket_in(account_set.region)],
                config.service_catalog.execution_role_parameter, launch_role.Provisioner.SAGEMAKER_S3,
                connection=config.connections and config.connections.connection_of(account_set.name),
            ),
            tags=None,
            boundary=Sub(contracts.boundary_arn(contracts.launch_role_boundary_name(config.app_prefix))),
        )
    )
