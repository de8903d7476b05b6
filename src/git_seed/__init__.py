"""Seeds an existing, empty Git repository with the platform's seed code (a CloudFormation
custom resource backed by a Lambda function).

With `git.provider: codeconnections`, a SageMaker project's pipelines read two repositories in
the team's Git provider through an AWS CodeConnections connection. The data scientist names
them when launching the project; they must already exist and be empty. This package is the
Lambda that pushes the seed-code zip into them as their first commit, through the provider's
HTTPS API, with an access token read from AWS Secrets Manager.

Runs on the AWS Lambda Python 3.12 runtime: standard library plus boto3, nothing else. Package
this directory as `git_seed/` at the zip root; the handler is `git_seed.handler.handler`.

Modules: `handler` (the custom-resource protocol and wiring), `properties` (validated
ResourceProperties), `seeding` (the decision: seed, leave alone, or fail), `providers` (one
small client per API family), `http` (urllib with timeouts, retries and no redirects),
`seedzip` (the zip's files), `errors`.
"""
