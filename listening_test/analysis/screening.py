"""Rater screening from catch trials, with counts before and after.

Rules (each catch trial passes or fails):

- ``identical``: A and B are the same stimulus, so the preference is arbitrary and is not
  judged; the trial fails when the two sides' ratings differ by more than
  ``identical_max_difference`` points on any attribute.
- ``offbeat``: the manipulated side (accompaniment shifted off the beat) must be rated strictly
  lower on rhythm (``offbeat_question``) than the intact side.
- ``transposed``: the manipulated side must be rated strictly lower on harmony
  (``transposed_question``).

A study whose questions do not include the question of a rule (its study file asks other
questions) judges that kind of catch trial by the preference instead: the intact side must be
chosen.

A rater is excluded when the fraction of failed catch trials exceeds ``max_fail_fraction``, and,
with ``require_headphones``, when any of their sessions failed the headphone check (export
column ``headphone_passed``), so the analysis can be run with and without those raters.
Raters without any catch trial are kept and counted as unscreened (or excluded with
``require_catch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from listening_test.analysis.schema import (
    ATTRIBUTES,
    HEADPHONE_COLUMN,
    AnalysisError,
)


@dataclass
class ScreeningConfig:
    identical_max_difference: int = 1  # rating points, per question
    offbeat_question: str = "rhythm"  # rated lower on the off-beat side (else: the preference decides)
    transposed_question: str = "harmony"  # rated lower on the transposed side (else: the preference decides)
    max_fail_fraction: float = 0.25  # exclude a rater failing more than this share of catches
    require_catch: bool = False  # exclude raters who answered no catch trial
    require_headphones: bool = False  # exclude raters with a failed headphone check (needs headphone_passed)


@dataclass(frozen=True)
class ScreeningReport:
    raters_before: int
    raters_after: int
    judgments_before: int  # non-catch trials
    judgments_after: int
    catch_trials: int
    catch_failed: int
    excluded: tuple[str, ...]  # rater ids
    excluded_headphones: int  # raters excluded for a failed headphone check (counted in ``excluded``)
    unscreened: int  # raters kept without any catch trial
    failures_by_kind: dict[str, int]


def _manipulated_failures(catch: pd.DataFrame, kind: str, question: str, attributes: Sequence[str]) -> pd.Series:
    """True where a catch trial of ``kind`` fails: the manipulated side is not rated lower on
    ``question`` or, when the study does not ask ``question``, is the side chosen."""
    rows = catch["catch_kind"] == kind
    if question not in attributes:
        return rows & (catch["preferred_side"] == catch["catch_side"])
    manipulated = np.where(catch["catch_side"] == "A", catch[f"{question}_a"], catch[f"{question}_b"])
    intact = np.where(catch["catch_side"] == "A", catch[f"{question}_b"], catch[f"{question}_a"])
    return rows & (manipulated >= intact)


def catch_failures(df: pd.DataFrame, config: ScreeningConfig, attributes: Sequence[str] = ATTRIBUTES) -> pd.Series:
    """Boolean per catch trial (index of ``df``): True when the trial fails its rule.

    ``attributes``: the question ids the export rates.
    """
    catch = df[df["is_catch"] == 1]
    failed = pd.Series(False, index=catch.index)
    identical = catch["catch_kind"] == "identical"
    worst = np.max([np.abs(catch[f"{a}_a"] - catch[f"{a}_b"]) for a in attributes], axis=0) if len(catch) else 0
    failed |= identical & (worst > config.identical_max_difference)
    for kind, question in (("offbeat", config.offbeat_question), ("transposed", config.transposed_question)):
        failed |= _manipulated_failures(catch, kind, question, attributes)
    return failed


def screen(df: pd.DataFrame, config: ScreeningConfig,
           attributes: Sequence[str] = ATTRIBUTES) -> tuple[pd.DataFrame, ScreeningReport]:
    """Drop the rows of excluded raters; return the kept rows and the counts (``attributes``: the
    question ids the export rates)."""
    failed = catch_failures(df, config, attributes)
    catch = df.loc[failed.index, ["rater", "catch_kind"]].assign(failed=failed)
    fail_fraction = catch.groupby("rater")["failed"].mean()
    excluded = set(fail_fraction[fail_fraction > config.max_fail_fraction].index)
    no_catch = set(df["rater"]) - set(fail_fraction.index)
    if config.require_catch:
        excluded |= no_catch
    headphone_failures: set[str] = set()
    if config.require_headphones:
        if HEADPHONE_COLUMN not in df.columns:
            raise AnalysisError(f"require_headphones needs the export column {HEADPHONE_COLUMN!r}")
        headphone_failures = set(df.loc[df[HEADPHONE_COLUMN] == 0, "rater"])
        excluded |= headphone_failures
    kept = df[~df["rater"].isin(excluded)]
    judgments = df["is_catch"] == 0
    report = ScreeningReport(
        raters_before=df["rater"].nunique(),
        raters_after=kept["rater"].nunique(),
        judgments_before=int(judgments.sum()),
        judgments_after=int((kept["is_catch"] == 0).sum()),
        catch_trials=len(catch),
        catch_failed=int(failed.sum()),
        excluded=tuple(sorted(excluded)),
        excluded_headphones=len(headphone_failures),
        unscreened=0 if config.require_catch else len(no_catch),
        failures_by_kind={k: int(v) for k, v in catch.groupby("catch_kind")["failed"].sum().items()},
    )
    return kept, report
