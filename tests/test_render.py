"""The renderer's JSON is exactly troposphere's own `to_json(indent=2, sort_keys=True)` (the
standard library's encoder), written faster: for every template, and for what templates might
one day hold (non-ASCII text, floats, subclasses of built-in types)."""

from __future__ import annotations

import enum

import pytest
from troposphere import Output, Parameter, Sub, Tags, Template, s3, ssm

from bench.configs import config_with_sets
from src.config import parse_config
from src.render import to_json
from src.templates import registry


def troposphere_json(template: Template) -> str:
    return template.to_json(indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("sets", [2, 5])
def test_every_template_is_written_as_troposphere_writes_it(sets):
    data = config_with_sets(sets)
    data["service_catalog"] = {"portfolio_name": "Équipe ML — modèles 🚀", "portfolio_owner": "Zoë\u2028Ünal"}
    for path, builder in registry.plan(parse_config(data)).items():
        assert to_json(builder()) == troposphere_json(builder()), path


def test_default_config_templates_are_written_as_troposphere_writes_them(config):
    for path, builder in registry.plan(config).items():
        assert to_json(builder()) == troposphere_json(builder()), path


class Colour(str, enum.Enum):
    RED = "red"


class Words(dict):
    pass


def small_template(**values) -> Template:
    t = Template(Description=values.pop("description", "a template"))
    t.set_version()
    t.add_parameter(Parameter("Name", Type="String", Default="x"))
    t.add_resource(ssm.Parameter("P", Type="String", Value=Sub("${Name}"), Tags={"a": "b"}))
    t.add_resource(s3.Bucket("B", Tags=Tags(Team="ml"), Metadata=values))
    t.add_output(Output("Name", Value=Sub("${Name}")))
    return t


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"description": "Ünïcode ☃, astral 🚀, DEL \x7f, controls \x00\x1f\n\t, separators \u2028\u2029"},
        {"Float": 1e-05, "Big": 1e16, "Half": 0.5, "Negative": [-2.5e-7, -1]},  # orjson: 0.00001, 1e16
        {"NaN": float("nan"), "Inf": float("inf")},  # orjson would write null
        {"Huge": 2**70},  # beyond orjson's 64-bit integers
        {"Enum": Colour.RED},
        {"Mapping": Words(b=1, a=[1, (2, 3)])},
        {"IntKeys": {2: "two", 1: "one"}},
        {"Empty": {}, "EmptyList": [], "Nothing": None, "Yes": True},
    ],
    ids=lambda v: ",".join(v) or "plain",
)
def test_odd_values_are_written_as_troposphere_writes_them(values):
    assert to_json(small_template(**values)) == troposphere_json(small_template(**values))


@pytest.mark.parametrize("value", [{1: "one", "two": 2}, {1, 2}, object()], ids=["mixed-keys", "set", "object"])
def test_what_troposphere_cannot_write_fails_the_same_way(value):
    with pytest.raises(TypeError) as expected:
        troposphere_json(small_template(Odd=value))
    with pytest.raises(TypeError) as raised:
        to_json(small_template(Odd=value))
    assert str(raised.value) == str(expected.value)


def test_a_missing_required_property_raises_as_troposphere_does():
    t = Template()
    t.add_resource(ssm.Parameter("P", Type="String"))  # Value is required
    with pytest.raises(ValueError, match="Resource Value required in type AWS::SSM::Parameter"):
        to_json(t)


def test_every_template_takes_the_fast_path(monkeypatch, config):
    """No template falls back to troposphere's encoder (which is what makes 64 sets slow)."""
    import src.render

    def fallback(template):
        raise AssertionError(f"fell back to troposphere's encoder: {template.description}")

    monkeypatch.setattr(src.render, "_stdlib_json", fallback)
    assert len(src.render.render_all(config)) >= 8
    assert len(src.render.render_all(parse_config(config_with_sets(3)))) >= 8


def test_products_render_the_same_on_a_shared_set_core_as_on_their_own():
    """The per-set products of a set share its SetCore when every template is rendered: building
    one product on it (in either order) changes nothing another renders from it."""
    from src.templates.products import PRODUCTS
    from src.templates.project_basic import SetCore

    config = parse_config(config_with_sets(3))
    on_core = [p for p in PRODUCTS if p.on_set_core]
    assert len(on_core) >= 2
    for account_set in config.account_sets:
        alone = {p.key: to_json(p.build(config, account_set)) for p in on_core}
        for order in (on_core, on_core[::-1]):
            core = SetCore.of(config, account_set)
            templates = [(p, p.build(config, account_set, core)) for p in order]
            assert {p.key: to_json(t) for p, t in templates} == alone
