"""Small exports for the analysis tests: a simulated study and a hand-written one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from listening_test.analysis.schema import validate_export
from listening_test.analysis.simulate import SimulationConfig, simulate_study

SMALL = SimulationConfig(n_raters=12, n_items=4)


@pytest.fixture
def sim_export() -> pd.DataFrame:
    """Raw simulated export (strings and ints as written to CSV), 12 raters x 16 trials."""
    return simulate_study(SMALL, np.random.default_rng(7))


@pytest.fixture
def sim_valid(sim_export) -> pd.DataFrame:
    return validate_export(sim_export)


@pytest.fixture
def real_export(sim_export) -> pd.DataFrame:
    """The simulated export relabelled as if a server had produced it (no simulated flag)."""
    df = sim_export.drop(columns=["simulated"]).copy()
    for col in ("rater", "session"):
        df[col] = df[col].str.replace("sim-", "r-", regex=False)
    return df


def trial(rater: str, index: int, a: str, b: str, side: str, ra=(3, 3, 3), rb=(3, 3, 3),
          kind: str = "", catch_side: str = "") -> dict:
    """One export row written by hand (ratings as (rhythm, harmony, coherence))."""
    return {
        "rater": rater, "session": f"s-{rater}", "trial_index": index, "item": f"item{index % 3}",
        "system_a": a, "system_b": b, "is_catch": int(bool(kind)), "catch_kind": kind, "catch_side": catch_side,
        "preferred": side, "preferred_side": side,
        "rhythm_a": ra[0], "harmony_a": ra[1], "coherence_a": ra[2],
        "rhythm_b": rb[0], "harmony_b": rb[1], "coherence_b": rb[2],
        "answered_at": f"2026-02-01T10:{index:02d}:00Z",
    }


@pytest.fixture
def make_trial():
    return trial


@pytest.fixture
def server_export(real_export) -> pd.DataFrame:
    """The same trials under the column names of the server's ``listening_test/export.py``."""
    df = real_export.rename(columns={"rater": "rater_id", "session": "session_id", "preferred_side": "preference",
                                     "preferred": "preferred_system"})
    df["catch_expected"] = df.pop("catch_side").map({"A": "B", "B": "A", "": ""})
    df["study_id"] = "demo"
    df["headphone_passed"] = (df["rater_id"] != "r-0003").astype(int)
    return df
