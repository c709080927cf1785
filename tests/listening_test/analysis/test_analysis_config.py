"""System display names of the analysis (listening_test.analysis.config)."""

from benchmark.registry import display_names
from listening_test.analysis.config import SYSTEM_NAMES, SYSTEM_ORDER, display_name


def test_display_names_are_the_benchmark_registrys():
    assert set(SYSTEM_NAMES) == set(SYSTEM_ORDER)
    registry = display_names()
    assert {s: registry[s] for s in SYSTEM_NAMES} == SYSTEM_NAMES


def test_an_unknown_system_prints_its_id_with_spaces():
    assert display_name("ground_truth") == "Ground truth" and display_name("my_model") == "my model"
