"""One module per stack, each exposing `build(config[, account_set]) -> troposphere.Template`,
plus the shared fragments they are made of (iam, storage, tags, pipeline_parts, project_parts)."""
