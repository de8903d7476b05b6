"""Model-build app (bring your own container): a SageMaker Pipeline whose steps
all run in the project's own image."""

__version__ = "1.0.0"
