"""Render every stack to JSON text and keep dist/ in step with it.

Rendering happens fully in memory first, so a failure never leaves dist/ half-written; files
are then replaced atomically and only when their content changed.

The text is exactly what troposphere's `Template.to_json(indent=2, sort_keys=True)` gives (the
standard library's encoder, ASCII only), written faster: orjson walks the template once, asking
`_unwrap` for each troposphere/awacs object's content one level at a time, where
troposphere's `to_dict()` re-walks every subtree once per level above it and json's indenting
encoder is pure Python. Non-ASCII characters are escaped afterwards as json escapes them. A
template holding anything orjson would write differently (a float, NaN, an integer beyond 64
bits, a subclass of a built-in type, non-string keys) goes through troposphere's own encoder;
tests/test_render.py proves both give the same bytes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from troposphere import AWSHelperFn, BaseAWSObject, Tags, Template

from src.config import PlatformConfig
from src.files import atomic_write
from src.templates import registry

_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2
    | orjson.OPT_SORT_KEYS
    # Subclasses of str/int/dict/list, dataclasses and dates reach `_unwrap` instead of being
    # written natively: the standard library's encoder writes some of them differently, or not at all.
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_BASE_TO_DICT = BaseAWSObject.to_dict
_HELPER_TO_DICT = AWSHelperFn.to_dict
_TAGS_TO_DICT = Tags.to_dict
# What json.dumps(ensure_ascii=True) escapes that orjson writes as is: DEL and every non-ASCII character.
_NOT_PRINTABLE_ASCII = re.compile("[\x7f-\U0010ffff]")
# orjson writes some floats differently (1e-05 as 0.00001, NaN and Infinity as null). Indented,
# every number or null ends its line, so a line ending in digits after '.', 'e', '+' or '-'
# (a float, or a negative integer) or in null is looked for; searched in the reversed text,
# where the pattern starts with the line break, which the regex engine finds fast.
_FLOAT_OR_NULL_LINE_REVERSED = re.compile(r"\n,?(?:[0-9]+[.eE+-]|llun)")


class _NotPlain(TypeError):
    """A value the fast path leaves to troposphere's own encoder."""


# How `encode_to_dict` treats an object, by what its class defines (checked in its order).
_AWS_OBJECT, _HELPER, _TAGS, _TO_DICT, _JSONREPR, _STR, _OTHER = range(7)
_KINDS: dict[type, int] = {}


def _kind_of(cls: type) -> int:
    method = getattr(cls, "to_dict", None)
    if method is _BASE_TO_DICT:
        return _AWS_OBJECT
    if method is _HELPER_TO_DICT:
        return _HELPER
    if method is _TAGS_TO_DICT:
        return _TAGS
    if method is not None:
        return _TO_DICT
    if issubclass(cls, (list, tuple, dict)):  # a subclass: orjson writes the built-in types
        return _OTHER
    if hasattr(cls, "JSONrepr"):  # awacs
        return _JSONREPR
    if issubclass(cls, str):  # e.g. a str-valued Enum: json.dumps writes its characters
        return _STR
    return _OTHER


def _unwrap(obj: Any) -> Any:
    """One level of what troposphere's `encode_to_dict` makes of `obj` (same checks, same
    order, same validation); orjson walks the plain containers returned."""
    cls = type(obj)
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _KINDS[cls] = _kind_of(cls)
    if kind == _AWS_OBJECT:  # BaseAWSObject.to_dict(validation=True), inlined
        if obj.do_validation:
            obj._validate_props()
            obj.validate()
        if obj.properties:
            return obj.resource
        if hasattr(obj, "resource_type"):
            return {k: v for k, v in obj.resource.items() if k != "Properties"}
        return {}
    if kind == _HELPER:
        return obj.data
    if kind == _TAGS:  # Tags.to_dict() is [encode_to_dict(tag) for tag in tags]
        return obj.tags
    if kind == _TO_DICT or hasattr(obj, "to_dict"):  # the latter: an instance's own to_dict
        return obj.to_dict()
    if kind == _JSONREPR:
        return obj.JSONrepr()
    if kind == _STR:
        return str.__str__(obj)
    raise _NotPlain(cls.__name__)


def _template_dict(template: Template) -> dict[str, Any]:
    """`Template.to_dict()` without its encode_to_dict pass (troposphere 4.11's sections)."""
    t: dict[str, Any] = {}
    for key, value in (
        ("Description", template.description),
        ("Metadata", template.metadata),
        ("Conditions", template.conditions),
        ("Mappings", template.mappings),
        ("Outputs", template.outputs),
        ("Parameters", template.parameters),
        ("AWSTemplateFormatVersion", template.version),
        ("Transform", template.transform),
        ("Rules", template.rules),
        ("Globals", template.globals),
    ):
        if value:
            t[key] = value
    t["Resources"] = template.resources
    return t


def _ascii_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _stdlib_json(template: Template) -> str:
    return template.to_json(indent=2, sort_keys=True)


def _fast_json(template: Template) -> str | None:
    """The same text as `_stdlib_json`, or None where it could differ."""
    if type(template).to_dict is not Template.to_dict:
        return None
    try:
        text = orjson.dumps(_template_dict(template), default=_unwrap, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:  # also wraps what `_unwrap` raised (a validation error, _NotPlain)
        return None
    if _FLOAT_OR_NULL_LINE_REVERSED.search(text[::-1]):
        return None
    if not text.isascii() or "\x7f" in text:
        # Outside strings the text is ASCII: these are string characters, which json writes as \uXXXX.
        text = _NOT_PRINTABLE_ASCII.sub(_ascii_escape, text)
    return text


def to_json(template: Template) -> str:
    """Deterministic text: sorted keys, 2-space indent, ASCII only, trailing newline."""
    text = _fast_json(template)
    return (_stdlib_json(template) if text is None else text) + "\n"


def render_all(config: PlatformConfig) -> dict[str, str]:
    """dist-relative path -> rendered JSON, for every stack."""
    return {path: to_json(builder()) for path, builder in registry.plan(config).items()}


@dataclass
class DistChanges:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _existing(dist: Path) -> set[str]:
    if not dist.is_dir():
        return set()
    return {p.relative_to(dist).as_posix() for p in dist.rglob("*.json") if p.is_file()}


def write_dist(files: dict[str, str], dist: Path) -> DistChanges:
    changes = DistChanges()
    for rel, text in sorted(files.items()):
        target = dist / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            changes.unchanged.append(rel)
            continue
        atomic_write(target, text)
        changes.written.append(rel)
    for rel in sorted(_existing(dist) - set(files)):
        (dist / rel).unlink()
        changes.removed.append(rel)
    # Drop directories left empty by removed stacks (deepest first).
    for directory in sorted((p for p in dist.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return changes


def diff_dist(files: dict[str, str], dist: Path) -> dict[str, str]:
    """dist-relative path -> unified diff (from dist/ to a fresh render) for every difference."""
    diffs: dict[str, str] = {}
    for rel in sorted(set(files) | _existing(dist)):
        target = dist / rel
        old = target.read_text(encoding="utf-8") if target.is_file() else ""
        new = files.get(rel, "")
        if old != new:
            diffs[rel] = "".join(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"dist/{rel}" if target.is_file() else "/dev/null",
                    tofile=f"render/{rel}" if rel in files else "/dev/null",
                )
            )
    return diffs
