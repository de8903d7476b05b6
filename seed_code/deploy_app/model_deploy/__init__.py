"""Model-deploy app: CloudFormation for the dev, preprod and prod endpoints."""

__version__ = "1.0.0"
