#!/usr/bin/env bash
# Build the project image and push it to the project's ECR repository.
#
# Environment:
#   ECR_REPOSITORY_URI   <account>.dkr.ecr.<region>.amazonaws.com/<repository> (required)
#   CODEBUILD_RESOLVED_SOURCE_VERSION  commit id, used as the image tag
#                        (set by CodeBuild; "latest" when unset)
#   DRY_RUN=1            print the commands instead of running them
#
# Pushes <uri>:<commit> only: the repository's tags are immutable, so each commit's image is
# built and pushed once; a re-run for a commit already in ECR skips the build. The pipeline
# step uses <uri>:<commit>.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

: "${ECR_REPOSITORY_URI:?ECR_REPOSITORY_URI must be set to the project ECR repository URI}"

if [[ ! "$ECR_REPOSITORY_URI" =~ ^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+$ ]]; then
    echo "error: ECR_REPOSITORY_URI '$ECR_REPOSITORY_URI' is not <account>.dkr.ecr.<region>.amazonaws.com/<repository> (without a tag)" >&2
    exit 1
fi
region="${BASH_REMATCH[1]}"
registry="${ECR_REPOSITORY_URI%%/*}"
repository="${ECR_REPOSITORY_URI#*/}"
tag="${CODEBUILD_RESOLVED_SOURCE_VERSION:-latest}"

run() {
    if [ "${DRY_RUN:-0}" = "1" ]; then
        echo "+ $*"
    else
        "$@"
    fi
}

login() {
    if [ "${DRY_RUN:-0}" = "1" ]; then
        echo "+ aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry"
    else
        aws ecr get-login-password --region "$region" |
            docker login --username AWS --password-stdin "$registry"
    fi
}

already_pushed() {
    if [ "${DRY_RUN:-0}" = "1" ]; then
        echo "+ aws ecr describe-images --region $region --repository-name $repository --image-ids imageTag=$tag"
        return 1
    fi
    aws ecr describe-images --region "$region" --repository-name "$repository" \
        --image-ids "imageTag=$tag" >/dev/null 2>&1
}

if already_pushed; then
    echo "$ECR_REPOSITORY_URI:$tag is already in ECR (tags are immutable): nothing to build"
    exit 0
fi
echo "building $ECR_REPOSITORY_URI:$tag"
login
run docker build --pull --tag "$ECR_REPOSITORY_URI:$tag" .
run docker push "$ECR_REPOSITORY_URI:$tag"
echo "pushed $ECR_REPOSITORY_URI:$tag"
