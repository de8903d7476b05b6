"""Stand-ins for the `aws` and `docker` commands of a CodeBuild image, for the BYOC image build.

No Docker daemon runs here. `docker build` only records the tag; `docker push` does what a
push does to ECR, with the build role's credentials from the environment: check layer
availability, upload the layer and put the image manifest (so an immutable tag that is already
there fails as it does on ECR). `aws ecr describe-images` and `get-login-password` call ECR
likewise and exit 254/255 with the CLI's error line on failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys

import boto3
import botocore.exceptions


def _ecr(region: str):
    return boto3.client("ecr", region_name=region)


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def aws(args: list[str]) -> int:
    service, command = args[0], args[1]
    if service != "ecr":
        raise SystemExit(f"aws stand-in: {service} is not modelled")
    region = _option(args, "--region")
    try:
        if command == "get-login-password":
            token = _ecr(region).get_authorization_token()["authorizationData"][0]["authorizationToken"]
            print(base64.b64decode(token).decode().split(":", 1)[1])
        elif command == "describe-images":
            tag = _option(args, "--image-ids").split("=", 1)[1]
            _ecr(region).describe_images(repositoryName=_option(args, "--repository-name"), imageIds=[{"imageTag": tag}])
        else:
            raise SystemExit(f"aws stand-in: ecr {command} is not modelled")
    except botocore.exceptions.ClientError as exc:
        error = exc.response["Error"]
        print(f"An error occurred ({error['Code']}) when calling the {exc.operation_name} operation: "
              f"{error['Message']}", file=sys.stderr)
        return 254
    return 0


def docker(args: list[str]) -> int:
    command = args[0]
    if command in ("version", "login", "build"):
        if command == "login":
            sys.stdin.read()
        print(f"docker {' '.join(args)}")
        return 0
    if command != "push":
        raise SystemExit(f"docker stand-in: {command} is not modelled")
    image = args[1]
    registry, _, rest = image.partition("/")
    repository, _, tag = rest.partition(":")
    ecr = _ecr(registry.split(".")[3])
    layer = f"layer of {image}".encode()
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    try:
        ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[digest])
        upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
        ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                              partLastByte=len(layer) - 1, layerPartBlob=layer)
        ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                               "digest": digest},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                "size": len(layer), "digest": digest}]}
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    except botocore.exceptions.ClientError as exc:
        print(f"docker push {image}: {exc.response['Error']['Code']}: {exc.response['Error']['Message']}",
              file=sys.stderr)
        return 1
    print(f"pushed {image}")
    return 0


if __name__ == "__main__":
    tool, *rest = sys.argv[1:]
    raise SystemExit({"aws": aws, "docker": docker}[tool](rest))
