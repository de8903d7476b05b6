"""The stack graph: one record per stack, the stacks each depends on, and what reads it."""

from __future__ import annotations

import pytest

from src import contracts
from src.deploy.plan import PlanError, select, status_records
from src.package.packager import product_paths
from src.render import render_all
from src.stack_graph import ParameterSource, StackKind, by_id, critical_path, stack_graph
from src.templates import registry
from src.templates.products import PRODUCTS, ProductScope

SETS = ("first", "second")


def ids(records) -> list[str]:
    return [r.id for r in records]


def test_every_record_has_a_unique_id(config):
    records = stack_graph(config)
    assert len(set(ids(records))) == len(records)


def test_every_dependency_is_a_stack_of_the_graph(config):
    known = set(ids(stack_graph(config)))
    for record in stack_graph(config):
        assert set(record.depends_on) <= known, record.label


def test_every_record_comes_after_the_stacks_it_depends_on(config):
    seen: set[str] = set()
    for record in stack_graph(config):
        assert set(record.depends_on) <= seen, record.label
        seen.add(record.id)


def test_kinds_are_an_enum_covering_every_record(config):
    """Manual mode has every kind but the StackSet ones, which a self-managed StackSet adds."""
    import dataclasses

    from src.config import BootstrapMode, BootstrapSettings, PermissionModel, StackSetSettings

    stackset = StackSetSettings(PermissionModel.SELF_MANAGED, admin_account=config.pipeline.account_id)
    with_stackset = dataclasses.replace(config, bootstrap=BootstrapSettings(BootstrapMode.STACKSET, stackset))
    assert {r.kind for r in stack_graph(config)} | {r.kind for r in stack_graph(with_stackset)} == set(StackKind)


def test_bootstrap_is_declared_for_every_target_account_once(config):
    accounts = [r.account for r in stack_graph(config) if r.kind is StackKind.BOOTSTRAP]
    expected = {a for s in config.account_sets for a in s.target_accounts}
    assert sorted(accounts) == sorted(expected)


@pytest.mark.parametrize(
    "stack, needs",
    [
        ("mlops-service-catalog-first", {"mlops-assets@eu-west-1", "mlops-bootstrap@222222222222"}),
        ("mlops-codecommit", {"mlops-assets@eu-west-1"}),
        (
            "mlops-pipeline-second",
            {"mlops-codecommit@eu-west-1", "mlops-service-catalog-second@us-east-1", "mlops-assets@eu-west-1",
             "mlops-assets@us-east-1", "mlops-bootstrap@555555555555"},
        ),
    ],
)
def test_dependencies_of(config, stack, needs):
    records = by_id(stack_graph(config))
    record = next(r for r in records.values() if r.name == stack)
    named = {f"{records[d].name}@{records[d].region if records[d].kind is not StackKind.BOOTSTRAP else records[d].account}"
             for d in record.depends_on}
    assert named == needs


def test_the_renderer_renders_exactly_the_graphs_templates_and_the_products(config):
    expected = {r.template for r in stack_graph(config)} | set(product_paths(config))
    assert set(registry.plan(config)) == expected


def test_one_product_list_feeds_the_service_catalog_stack_and_the_packager(config, templates):
    for s in config.account_sets:
        offered = templates[contracts.dist_service_catalog(s.name)]["Parameters"]
        for product in PRODUCTS:
            url_param, _ = contracts.product_parameter_names(product.key)
            assert url_param in offered
            assert product.dist_path(s.name) in product_paths(config)
    assert len(product_paths(config)) == sum(
        len(config.account_sets) if p.scope is ProductScope.PER_SET else 1 for p in PRODUCTS)


def test_parameter_sources_are_declared_per_kind(config):
    sources = {r.kind: r.parameters for r in stack_graph(config) if r.kind is not StackKind.PIPELINE}
    assert sources == {StackKind.ASSETS: ParameterSource.CONFIG, StackKind.BOOTSTRAP: ParameterSource.CONFIG,
                       StackKind.SERVICE_CATALOG: ParameterSource.PACKAGE, StackKind.CODECOMMIT: ParameterSource.PACKAGE}
    pipelines = {r.account_set: r.parameters for r in stack_graph(config) if r.kind is StackKind.PIPELINE}
    assert pipelines == {"first": ParameterSource.NONE, "second": ParameterSource.LOOKUP}  # second: other region


def test_the_platform_pipeline_reads_the_parameter_file_the_graph_declares(config, templates):
    record = next(r for r in stack_graph(config) if r.kind is StackKind.SERVICE_CATALOG)
    assert f"{contracts.PACKAGE_DIR}/{record.parameters_file}" in str(templates[contracts.dist_pipeline("first")])


def test_critical_path_is_the_longest_chain(config):
    seconds = {StackKind.ASSETS: 60, StackKind.BOOTSTRAP: 60, StackKind.SERVICE_CATALOG: 120,
               StackKind.CODECOMMIT: 30, StackKind.PIPELINE: 120}
    # bootstrap 60 -> service catalog 120 -> pipeline 120
    assert critical_path(stack_graph(config), lambda r: seconds[r.kind]) == 300


def test_rendering_uses_no_record_twice(config):
    assert len(render_all(config)) == len(registry.plan(config))


# --- selection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, ["mlops-assets", "mlops-assets", "mlops-service-catalog-first", "mlops-service-catalog-second",
              "mlops-codecommit", "mlops-pipeline-first", "mlops-pipeline-second"]),
        ({"bootstrap_account": "333333333333"},
         ["mlops-assets", "mlops-assets", "mlops-bootstrap", "mlops-service-catalog-first",
          "mlops-service-catalog-second", "mlops-codecommit", "mlops-pipeline-first", "mlops-pipeline-second"]),
        ({"only_set": "second"}, ["mlops-assets", "mlops-assets", "mlops-service-catalog-second", "mlops-codecommit",
                                  "mlops-pipeline-second"]),
        ({"only_set": "second", "shared_with_set": False}, ["mlops-service-catalog-second", "mlops-pipeline-second"]),
        ({"only_stack": "pipeline"}, ["mlops-pipeline-first", "mlops-pipeline-second"]),
        ({"only_stack": "mlops-codecommit"}, ["mlops-codecommit"]),
        ({"only_stack": "bootstrap", "bootstrap_account": "999999999999"}, ["mlops-bootstrap"]),
    ],
)
def test_select(config, kwargs, expected):
    assert [r.name for r in select(config, **kwargs)] == expected


def test_a_bootstrap_stack_outside_any_set_can_be_chosen(config):
    (record,) = select(config, only_stack="bootstrap", bootstrap_account="999999999999")
    assert (record.account, record.region, record.own_credentials) == ("999999999999", "eu-west-1", True)


def test_the_bootstrap_stack_is_in_the_pipeline_region_so_the_stacks_that_need_it_wait(config):
    records = select(config, bootstrap_account="222222222222")
    bootstrap = next(r for r in records if r.kind is StackKind.BOOTSTRAP)
    first_catalog = next(r for r in records if r.name == "mlops-service-catalog-first")
    assert bootstrap.id in first_catalog.depends_on


def test_bootstrap_without_the_flag_says_how_it_is_deployed(config):
    with pytest.raises(PlanError, match="deployed with each target account's own credentials: add --bootstrap"):
        select(config, only_stack="bootstrap")


def test_an_unknown_stack_lists_the_known_ones_and_the_kinds(config):
    with pytest.raises(PlanError, match=r"unknown stack 'nope' \(known: mlops-assets, .*; or a kind: assets, "):
        select(config, only_stack="nope")


def test_status_lists_the_bootstrap_stack_of_every_target_account(config):
    kinds = [r.kind for r in status_records(config)]
    assert kinds.count(StackKind.BOOTSTRAP) == 6 and len(kinds) == 13
