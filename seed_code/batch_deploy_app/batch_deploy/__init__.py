"""Batch-deploy app: CloudFormation for the dev, preprod and prod scheduled batch inference."""

__version__ = "1.0.0"
