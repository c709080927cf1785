"""Analysis settings: a dataclass with defaults, loadable from TOML, saved next to the results."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from hafm.errors import HafmError
from listening_test.analysis.questions import DEFAULT_QUESTIONS, RatingQuestion, question_ids
from listening_test.analysis.screening import ScreeningConfig

# Display order of known systems (benchmark names); unknown systems follow alphabetically.
SYSTEM_ORDER = ("three_stage", "two_stage", "codec_oracle", "codec_oracle_4", "ground_truth", "random")
# Names in papers (the LaTeX table, the figures): the benchmark registry's display names, which this
# package may not import (ARCHITECTURE.md); a test checks that the two agree.
SYSTEM_NAMES = {"three_stage": "HAFM, three-stage", "two_stage": "HAFM, two-stage",
                "codec_oracle": "Codec, 8 codebooks", "codec_oracle_4": "Codec, 4 codebooks",
                "ground_truth": "Ground truth", "random": "Random accompaniment"}
# The paper's listening results (design.md): what each headline row is compared with.
PAPER_PREFERENCE = {("three_stage", "ground_truth"): "51.5%"}
PAPER_RATINGS = {("three_stage", "random"): "three_stage beats random"}


class ConfigError(HafmError):
    """A TOML analysis/simulation config names an unknown field or a bad value."""


@dataclass
class AnalysisConfig:
    alpha: float = 0.05  # family-wise level of the Holm correction
    n_boot: int = 2000  # rater-clustered bootstrap resamples
    seed: int = 0  # seed of the bootstrap
    # "X:Y" pairs; empty = every pair compared in the trials (preference) / every rated pair (ratings)
    preference_pairs: tuple[str, ...] = ()
    rating_pairs: tuple[str, ...] = ()
    gee: bool = True  # also fit the position-adjusted GEE (sensitivity analysis)
    power: float = 0.8  # target power of the power note
    screening: ScreeningConfig = field(default_factory=ScreeningConfig)
    # The questions the export rates: from the study file (analyze --study), not from [analysis].
    questions: tuple[RatingQuestion, ...] = field(default=DEFAULT_QUESTIONS, metadata={"toml": False})

    @property
    def attributes(self) -> tuple[str, ...]:
        """The question ids (the ``attribute`` of every rating test)."""
        return question_ids(self.questions)


def order_systems(systems: set[str] | list[str]) -> list[str]:
    known = [s for s in SYSTEM_ORDER if s in systems]
    return known + sorted(set(systems) - set(known))


def display_name(system: str) -> str:
    """The name a paper prints for ``system``: ``SYSTEM_NAMES``, else the id with spaces for underscores."""
    return SYSTEM_NAMES.get(system, system.replace("_", " "))


def parse_pair(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ConfigError(f"a comparison is written 'X:Y' with two different systems, got {text!r}")
    return parts[0], parts[1]


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("toml", True)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown field(s) in [{where}]: {', '.join(unknown)}")
    kwargs = {}
    for name, value in values.items():
        factory = known[name].default_factory
        if isinstance(value, dict) and isinstance(factory, type) and dataclasses.is_dataclass(factory):
            kwargs[name] = _build(factory, value, name)
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def load_config(cls: type, path: str | os.PathLike | None, table: str) -> Any:
    """Instance of the dataclass ``cls`` from table ``[table]`` of a TOML file (defaults if None)."""
    if path is None:
        return cls()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read config {os.fspath(path)!r}: {err}") from err
    return _build(cls, data.get(table, {}), table)
