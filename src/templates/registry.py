"""Which template goes to which file under dist/: every stack of the graph and every product."""

from __future__ import annotations

from typing import Callable

from troposphere import Template

from src.config import PlatformConfig
from src.stack_graph import templates as stack_templates
from src.templates.products import product_templates

Builder = Callable[[], Template]


def plan(config: PlatformConfig) -> dict[str, Builder]:
    """dist-relative path -> zero-argument builder, in a stable order."""
    return {**stack_templates(config), **product_templates(config)}
