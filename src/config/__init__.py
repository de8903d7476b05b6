"""Platform configuration: one YAML file, validated once into frozen dataclasses."""

from src.config.loader import DEFAULT_CONFIG, ConfigError, Problem, load_config, parse_config
from src.config.models import (
    AccountSet,
    PipelineAccount,
    PlatformConfig,
    Repository,
    ServiceCatalogSettings,
    UnknownAccountSet,
)

__all__ = [
    "DEFAULT_CONFIG",
    "AccountSet",
    "ConfigError",
    "PipelineAccount",
    "PlatformConfig",
    "Problem",
    "Repository",
    "ServiceCatalogSettings",
    "UnknownAccountSet",
    "load_config",
    "parse_config",
]
