"""The benchmark's systems, declared once: name, display name, table order, paired tests, maker.

Adding a system touches two files: its class in ``benchmark/systems.py`` and its ``SystemSpec``
line in ``SYSTEMS`` below (with its maker). The runner builds systems from here; the tables, the
paper output and the paired tests (FAD and music metrics) read their order, names and pairs from
here. Outside systems (``--system-dir NAME=DIR``, ``benchmark.systems.FolderSystem``) get a spec
from ``folder_spec``: displayed as NAME, ordered after the shipped systems, paired with
``OUTSIDE_PAIRS``. This module imports no model code (the makers import it when called).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Context:
    """What makers may use: the config, the test split's accompaniments (track -> ``[n]`` at 24 kHz),
    a codec factory (called only by systems that need it), the generation pipeline (None when no
    model system runs) and the ids of the clips the run scores."""

    cfg: Any
    pool: dict = field(default_factory=dict)
    codec: Callable | None = None
    pipeline: Any = None
    clip_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemSpec:
    """One system: ``name`` (id in files and tables), ``display`` (name in papers), ``make``,
    ``paired_with`` (paired tests FAD(name) - FAD(other), music metrics name - other, run when both
    ran) and ``needs_pipeline`` (whether the run must load the generation pipeline)."""

    name: str
    display: str
    make: Callable[[Context], Any]
    paired_with: tuple[str, ...] = ()
    needs_pipeline: bool = False


def _ground_truth(ctx: Context):
    from benchmark.systems import GroundTruth

    return GroundTruth()


def _codec_oracle(k: int, name: str) -> Callable[[Context], Any]:
    def make(ctx: Context):
        from benchmark.systems import CodecOracle

        return CodecOracle(ctx.codec(), k, name)

    return make


def _cascade(stages: int) -> Callable[[Context], Any]:
    def make(ctx: Context):
        from benchmark.systems import CascadeSystem

        return CascadeSystem(stages, ctx.pipeline, ctx.cfg.generation_seed)

    return make


def _random(ctx: Context):
    from benchmark.systems import RandomBaseline

    return RandomBaseline(ctx.pool, ctx.cfg.seed)


SYSTEMS: tuple[SystemSpec, ...] = (
    SystemSpec("ground_truth", "Ground truth", _ground_truth, ("random", "codec_oracle")),
    SystemSpec("codec_oracle", "Codec, 8 codebooks", _codec_oracle(8, "codec_oracle"), ("codec_oracle_4",)),
    SystemSpec("codec_oracle_4", "Codec, 4 codebooks", _codec_oracle(4, "codec_oracle_4")),
    SystemSpec("three_stage", "HAFM, three-stage", _cascade(3), ("two_stage", "random"), needs_pipeline=True),
    SystemSpec("two_stage", "HAFM, two-stage", _cascade(2), ("random",), needs_pipeline=True),
    SystemSpec("random", "Random accompaniment", _random),
)
OUTSIDE_PAIRS = ("three_stage", "random")  # an outside system is compared with HAFM and with chance


def _by_name() -> dict[str, SystemSpec]:
    # read from SYSTEMS on every call (six entries), so a test may register a system by replacing it
    return {s.name: s for s in SYSTEMS}


def names() -> tuple[str, ...]:
    """Every registered system, in table order."""
    return tuple(_by_name())


def folder_spec(name: str, root: str | Path) -> SystemSpec:
    """The spec of an outside system whose outputs are the files ``root/<clip_id>.wav``."""
    if name in _by_name():
        raise ValueError(f"{name!r} is a shipped system; give the folder system another name")

    def make(ctx: Context):
        from benchmark.systems import FolderSystem

        return FolderSystem(name, root, ctx.clip_ids)

    return SystemSpec(name, name, make, OUTSIDE_PAIRS)


def spec(name: str) -> SystemSpec | None:
    """The registered spec of ``name`` (None for an outside system)."""
    return _by_name().get(name)


def display_names() -> dict[str, str]:
    """System id -> display name of every registered system."""
    return {s.name: s.display for s in SYSTEMS}


def order(systems: Iterable[str]) -> list[str]:
    """``systems`` in table order: registered ones first in registry order, then the others as given."""
    given, registered = list(dict.fromkeys(systems)), _by_name()
    return [s for s in registered if s in given] + [s for s in given if s not in registered]


def rank(system: str) -> int:
    """Sort key of table order: the registry position, outside systems after every registered one."""
    registered = list(_by_name())
    return registered.index(system) if system in registered else len(registered)


def pairs(systems: Iterable[str]) -> list[tuple[str, str]]:
    """The paired tests (A, B) among ``systems``: each spec's ``paired_with``, outside systems
    (not registered) paired with ``OUTSIDE_PAIRS``; in table order of A."""
    present, registered = set(systems), _by_name()
    out = []
    for a in order(present):
        partners = registered[a].paired_with if a in registered else OUTSIDE_PAIRS
        out += [(a, b) for b in partners if b in present]
    return out
