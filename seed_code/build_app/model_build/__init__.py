"""Model-build app: a SageMaker Pipeline that trains and registers an abalone model."""

__version__ = "1.0.0"
