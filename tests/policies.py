"""Turn IAM policies in rendered templates into plain JSON that policy linters can read.

CloudFormation expressions are replaced by realistic stand-ins: pseudo parameters by fixed
values, Fn::GetAtt <X>.Arn by an ARN of the shape resource X really has, Ref by a name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}
# Template parameters that end up in ARNs, with values of their real shape.
PARAMETERS = {
    "PreProdAccount": "210987654321",
    "ProdAccount": "310987654321",
    "DeploymentRegion": "eu-west-1",
    "SageMakerProjectName": "demo-project",
    "SageMakerProjectId": "p-abc123",
}
ARN_SHAPES = {
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::KMS::Key": "arn:aws:kms:eu-west-1:123456789012:key/0000-{name}",
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/{name}",
    "AWS::CodeCommit::Repository": "arn:aws:codecommit:eu-west-1:123456789012:{name}",
    "AWS::CodeBuild::Project": "arn:aws:codebuild:eu-west-1:123456789012:project/{name}",
    "AWS::ECR::Repository": "arn:aws:ecr:eu-west-1:123456789012:repository/{name}",
    "AWS::CodePipeline::Pipeline": "arn:aws:codepipeline:eu-west-1:123456789012:{name}",
}


def resolve(node, template: dict):
    if isinstance(node, list):
        return [resolve(item, template) for item in node]
    if not isinstance(node, dict):
        return node
    if "Fn::Sub" in node:
        value = node["Fn::Sub"]
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(resolve(variables[name], template))
            return PSEUDO.get(name) or PARAMETERS.get(name) or name.lower()

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    if "Fn::GetAtt" in node:
        logical_id = node["Fn::GetAtt"][0]
        kind = template["Resources"][logical_id]["Type"]
        return ARN_SHAPES[kind].format(name=logical_id.lower())
    if "Ref" in node:
        name = node["Ref"]
        return PSEUDO.get(name) or PARAMETERS.get(name) or name.lower()
    return {key: resolve(value, template) for key, value in node.items()}


def identity_policies(dist: Path) -> Iterator[tuple[str, str, dict]]:
    """(dist path, role logical id, resolved policy document) for every role's policies."""
    for path in sorted(dist.rglob("*.json")):
        template = json.loads(path.read_text())
        for logical_id, res in template.get("Resources", {}).items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            for inline in res["Properties"].get("Policies", []):
                yield path.relative_to(dist).as_posix(), logical_id, resolve(inline["PolicyDocument"], template)
