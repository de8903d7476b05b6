"""CodeCommit stack: this platform's own repository, seeded from the packaged repository zip."""

from __future__ import annotations

from troposphere import GetAtt, Output, Parameter, Ref, Template, codecommit

from src import contracts
from src.config import PlatformConfig


def build(config: PlatformConfig) -> Template:
    t = Template(Description="CodeCommit repository holding the MLOps platform's source.")
    t.set_version()
    bucket = t.add_parameter(
        Parameter(
            contracts.CODECOMMIT_SOURCE_BUCKET_PARAM,
            Type="String",
            Description="Bucket holding the zip of this repository (set by the packager).",
        )
    )
    key = t.add_parameter(
        Parameter(
            contracts.CODECOMMIT_SOURCE_KEY_PARAM,
            Type="String",
            Description="Key of the zip of this repository (set by the packager).",
        )
    )
    repo = t.add_resource(
        codecommit.Repository(
            "Repository",
            RepositoryName=config.repository.name,
            RepositoryDescription="MLOps platform: SageMaker project templates and their pipelines",
            # Used only when the repository is created; later changes arrive by git push.
            Code=codecommit.Code(
                BranchName=config.repository.branch,
                S3=codecommit.S3(Bucket=Ref(bucket), Key=Ref(key)),
            ),
        )
    )
    t.add_output(Output("RepositoryName", Value=GetAtt(repo, "Name")))
    t.add_output(Output("CloneUrlHttp", Value=GetAtt(repo, "CloneUrlHttp")))
    return t
