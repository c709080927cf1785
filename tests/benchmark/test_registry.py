import pytest

from benchmark import registry
from benchmark.config import BenchmarkConfig


def test_config_systems_are_the_registry_in_table_order():
    systems = BenchmarkConfig().systems
    assert systems == registry.names() and systems[0] == "ground_truth" and systems[-1] == "random"


def test_order_puts_registered_systems_first_then_outside_ones_as_given():
    assert registry.order(["zeta", "random", "alpha", "three_stage"]) == ["three_stage", "random", "zeta", "alpha"]


def test_pairs_keep_only_systems_that_ran():
    assert registry.pairs(["two_stage", "three_stage"]) == [("three_stage", "two_stage")]


def test_outside_system_is_paired_with_hafm_and_random():
    got = registry.pairs(["mine", "three_stage", "random"])
    assert ("mine", "three_stage") in got and ("mine", "random") in got


def test_display_names_cover_every_registered_system():
    assert set(registry.display_names()) == set(registry.names())
    assert registry.display_names()["three_stage"] == "HAFM, three-stage"


def test_pipeline_is_needed_only_by_the_cascade_systems():
    assert {s.name for s in registry.SYSTEMS if s.needs_pipeline} == {"three_stage", "two_stage"}


def test_folder_system_cannot_take_a_shipped_name(tmp_path):
    with pytest.raises(ValueError, match="shipped system"):
        registry.folder_spec("random", tmp_path)
