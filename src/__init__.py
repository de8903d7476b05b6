"""SageMaker MLOps project-template platform: render, package and deploy."""
