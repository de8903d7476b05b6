"""Platform configuration: one YAML file, validated once into frozen dataclasses."""

from src.config.loader import DEFAULT_CONFIG, load_config, parse_config
from src.config.models import (
    AccountSet,
    BootstrapMode,
    BootstrapSettings,
    CallAs,
    ConcurrencyMode,
    Limits,
    OperationPreferences,
    PermissionModel,
    PipelineAccount,
    PlatformConfig,
    Repository,
    ServiceCatalogSettings,
    StackSetSettings,
    UnknownAccountSet,
)
from src.config.sections import ConfigError, Problem

__all__ = [
    "DEFAULT_CONFIG",
    "AccountSet",
    "BootstrapMode",
    "BootstrapSettings",
    "CallAs",
    "ConcurrencyMode",
    "ConfigError",
    "Limits",
    "OperationPreferences",
    "PermissionModel",
    "PipelineAccount",
    "PlatformConfig",
    "Problem",
    "Repository",
    "ServiceCatalogSettings",
    "StackSetSettings",
    "UnknownAccountSet",
    "load_config",
    "parse_config",
]
