"""The export contract: the CSV columns the analysis reads, and their validation.

The listening-test server exports one row per judgment (one A/B trial answered by one rater):

============== ======================================================================
column         meaning
============== ======================================================================
rater          pseudonymous rater id (an HMAC of the recruitment id, never the raw id)
session        session id (a rater may have several sessions)
trial_index    0-based position of the trial in the session's plan (int)
item           the vocal / song id (the same vocal is heard under A and B)
system_a       system name heard as "A" (e.g. ``three_stage``)
system_b       system name heard as "B"
is_catch       1 for a catch trial, else 0
catch_kind     ``''`` (not a catch), ``identical``, ``offbeat`` or ``transposed``
catch_side     ``A``/``B``: the manipulated side of an ``offbeat``/``transposed`` catch,
               ``''`` otherwise. Needed only when such catch trials exist; without the
               column, the side whose system name contains the catch kind is used.
preferred      the chosen system name, or ``A``/``B``
preferred_side ``A`` or ``B`` (forced choice: no ties)
ID_a, ID_b     integer ratings of each side, one pair per question of the study file on
               that question's scale (``questions.py``); the built-in study: ``rhythm_a``,
               ``harmony_a``, ``coherence_a``, ``rhythm_b``, ``harmony_b``, ``coherence_b``, 1-5
answered_at    ISO-8601 time the answer was stored
simulated      optional: 1 when the rows come from ``listening_test simulate``; a real
               export has no such column (or all 0). Real and simulated rows never mix.
============== ======================================================================

Extra columns (user agent, response times, coverage) are kept and ignored. The server's export
(``listening_test/export.py``) names some columns differently; ``SERVER_ALIASES`` maps them:
``rater_id`` -> rater, ``session_id`` -> session, ``preference`` (A/B) -> preferred_side,
``preferred_system`` -> preferred, and ``catch_expected`` (the side holding the *intact*
accompaniment) -> catch_side (the *other* side). An optional ``study_id`` must be constant, and an
optional ``headphone_passed`` (0/1) feeds the headphone screening rule.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hafm.errors import HafmError
from listening_test.analysis.questions import (
    DEFAULT_QUESTIONS,
    SIDES,
    RatingQuestion,
    other_rating_columns,
    question_ids,
    rating_columns,
)

ATTRIBUTES = question_ids(DEFAULT_QUESTIONS)
CATCH_KINDS = ("identical", "offbeat", "transposed")
MANIPULATED_KINDS = ("offbeat", "transposed")  # catch kinds with a manipulated side (``catch_side``)
TRIAL_COLUMNS = ("rater", "session", "trial_index", "item", "system_a", "system_b", "is_catch", "catch_kind",
                 "preferred", "preferred_side")


def required_columns(questions: Sequence[RatingQuestion] = DEFAULT_QUESTIONS) -> tuple[str, ...]:
    """The columns an export answering ``questions`` must have."""
    return (*TRIAL_COLUMNS, *rating_columns(questions), "answered_at")


REQUIRED_COLUMNS = required_columns()
SIMULATED_COLUMN = "simulated"
HEADPHONE_COLUMN = "headphone_passed"
SERVER_ALIASES = {"rater_id": "rater", "session_id": "session", "preference": "preferred_side",
                  "preferred_system": "preferred"}
SIMULATED_RATER_PREFIX = "sim-"


class ExportError(HafmError):
    """The export CSV breaks the contract; the message names the columns and rows at fault."""


class AnalysisError(HafmError):
    """The (valid) data cannot answer the question asked: a comparison with no trials, too few raters."""


def _rows(mask: pd.Series | np.ndarray, df: pd.DataFrame, limit: int = 5) -> str:
    """Human-readable CSV line numbers (header = line 1) of the first offending rows."""
    index = df.index[np.asarray(mask)]
    lines = [str(int(i) + 2) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(lines) + more


def _fail_if(mask: pd.Series | np.ndarray, df: pd.DataFrame, message: str) -> None:
    if np.asarray(mask).any():
        raise ExportError(f"{message} (CSV lines {_rows(mask, df)})")


def _clean_text(df: pd.DataFrame, columns: Sequence[str]) -> None:
    for col in columns:
        df[col] = df[col].fillna("").astype(str).str.strip()


def _integer_column(df: pd.DataFrame, col: str) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    _fail_if(values.isna() | (values != values.round()), df, f"column {col!r} must hold integers")
    return values.astype(int)


def _validate_catch(df: pd.DataFrame) -> None:
    _fail_if(~df["is_catch"].isin([0, 1]), df, "column 'is_catch' must be 0 or 1")
    kinds = df["catch_kind"].str.lower()
    df["catch_kind"] = kinds
    _fail_if(~kinds.isin(("",) + CATCH_KINDS), df, f"column 'catch_kind' must be '' or one of {CATCH_KINDS}")
    _fail_if((df["is_catch"] == 1) != (kinds != ""), df, "'catch_kind' must be set exactly on catch trials")
    _fail_if((df["is_catch"] == 0) & (df["system_a"] == df["system_b"]), df,
             "a non-catch trial compares a system with itself")
    manipulated = kinds.isin(MANIPULATED_KINDS)
    if "catch_side" in df.columns:
        _clean_text(df, ["catch_side"])
        df["catch_side"] = df["catch_side"].str.upper()
    else:
        in_a = [k in a for k, a in zip(kinds, df["system_a"])]
        in_b = [k in b for k, b in zip(kinds, df["system_b"])]
        df["catch_side"] = np.where(manipulated & np.array(in_a) & ~np.array(in_b), "A",
                                    np.where(manipulated & np.array(in_b) & ~np.array(in_a), "B", ""))
    _fail_if(manipulated & ~df["catch_side"].isin(SIDES), df,
             "offbeat/transposed catch trials need 'catch_side' (A/B): the manipulated side")


def _validate_preference(df: pd.DataFrame) -> None:
    df["preferred_side"] = df["preferred_side"].str.upper()
    _fail_if(~df["preferred_side"].isin(SIDES), df, "column 'preferred_side' must be 'A' or 'B'")
    chosen = np.where(df["preferred_side"] == "A", df["system_a"], df["system_b"])
    by_name = ~df["preferred"].str.upper().isin(SIDES)
    by_side = ~by_name
    _fail_if(by_side & (df["preferred"].str.upper() != df["preferred_side"]), df,
             "'preferred' (A/B) disagrees with 'preferred_side'")
    _fail_if(by_name & (df["preferred"] != chosen), df,
             "'preferred' names a system that is not the one on 'preferred_side'")
    df["preferred"] = chosen


def _validate_simulated_flag(df: pd.DataFrame) -> bool:
    sim_ids = df["rater"].str.startswith(SIMULATED_RATER_PREFIX)
    if SIMULATED_COLUMN not in df.columns:
        if sim_ids.any():
            raise ExportError(
                f"rater ids start with {SIMULATED_RATER_PREFIX!r} (simulated) but the {SIMULATED_COLUMN!r} "
                "column is missing: refusing to treat simulated data as real")
        df[SIMULATED_COLUMN] = 0
        return False
    flag = _integer_column(df, SIMULATED_COLUMN)
    _fail_if(~flag.isin([0, 1]), df, f"column {SIMULATED_COLUMN!r} must be 0 or 1")
    if flag.nunique() > 1:
        raise ExportError("the export mixes simulated and real rows: refusing to analyse them together")
    df[SIMULATED_COLUMN] = flag
    return bool(flag.iloc[0])


def apply_server_aliases(df: pd.DataFrame) -> pd.DataFrame:
    """Rename the server export's columns to the contract's names (where the contract's are absent)."""
    renames = {alias: name for alias, name in SERVER_ALIASES.items() if alias in df.columns and name not in df.columns}
    df = df.rename(columns=renames)
    if "catch_side" not in df.columns and "catch_expected" in df.columns:
        intact = df["catch_expected"].fillna("").astype(str).str.strip().str.upper()
        df["catch_side"] = intact.map({"A": "B", "B": "A"}).fillna("")
    return df


def _validate_optional(df: pd.DataFrame) -> None:
    if "study_id" in df.columns and df["study_id"].astype(str).nunique() > 1:
        raise ExportError(f"the export mixes studies {sorted(df['study_id'].astype(str).unique())}: "
                          "analyse one study at a time")
    if HEADPHONE_COLUMN in df.columns:
        df[HEADPHONE_COLUMN] = _integer_column(df, HEADPHONE_COLUMN)
        _fail_if(~df[HEADPHONE_COLUMN].isin([0, 1]), df, f"column {HEADPHONE_COLUMN!r} must be 0 or 1")


def _check_columns(df: pd.DataFrame, questions: Sequence[RatingQuestion]) -> None:
    """Refuse an export without a required column; name the questions it rates instead, if any."""
    required = required_columns(questions)
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return
    others = other_rating_columns(df.columns, questions)
    hint = (f"; it rates the question(s) {', '.join(others)}: pass the study file that declares them "
            "(analyze --study FILE)") if others else ""
    raise ExportError(f"export is missing required column(s): {', '.join(missing)}; "
                      f"the contract is {', '.join(required)}{hint}")


def _validate_ratings(df: pd.DataFrame, questions: Sequence[RatingQuestion]) -> None:
    """Ratings are integers on their question's scale."""
    for q in questions:
        for col in (f"{q.id}_a", f"{q.id}_b"):
            df[col] = _integer_column(df, col)
            _fail_if((df[col] < q.low) | (df[col] > q.high), df, f"rating column {col!r} must lie in {q.low}-{q.high}")


def validate_export(df: pd.DataFrame, questions: Sequence[RatingQuestion] = DEFAULT_QUESTIONS) -> pd.DataFrame:
    """Check ``df`` against the contract for the rating ``questions`` and return a normalised copy.

    Normalised: text columns stripped, ``preferred`` always holds the chosen system name,
    ``catch_side`` exists, ``answered_at`` is a UTC timestamp, ints are ints,
    ``simulated`` exists (0/1, constant). Raises ``ExportError`` naming the fault.
    """
    df = apply_server_aliases(df)
    _check_columns(df, questions)
    if df.empty:
        raise ExportError("export has no rows")
    df = df.reset_index(drop=True).copy()
    _clean_text(df, ["rater", "session", "item", "system_a", "system_b", "catch_kind", "preferred", "preferred_side"])
    for col in ("rater", "session", "item", "system_a", "system_b"):
        _fail_if(df[col] == "", df, f"column {col!r} is empty")
    for col in ("trial_index", "is_catch"):
        df[col] = _integer_column(df, col)
    _validate_ratings(df, questions)
    _validate_catch(df)
    _validate_preference(df)
    times = pd.to_datetime(df["answered_at"], utc=True, errors="coerce", format="ISO8601")
    _fail_if(times.isna(), df, "column 'answered_at' must be an ISO-8601 time")
    df["answered_at"] = times
    _fail_if(df.duplicated(["rater", "session", "trial_index"], keep="first"), df,
             "duplicate (rater, session, trial_index)")
    _validate_optional(df)
    _validate_simulated_flag(df)
    return df


def is_simulated(df: pd.DataFrame) -> bool:
    """True when a validated export comes from the simulator."""
    return bool(df[SIMULATED_COLUMN].iloc[0])


def load_exports(paths: Sequence[str | os.PathLike],
                 questions: Sequence[RatingQuestion] = DEFAULT_QUESTIONS) -> pd.DataFrame:
    """Read and validate export CSVs rating ``questions``; refuse to mix simulated with real files."""
    if not paths:
        raise ExportError("no export file given")
    frames = []
    for path in paths:
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ExportError(f"cannot read export {os.fspath(path)!r}: {err}") from err
        try:
            frames.append(validate_export(raw, questions))
        except ExportError as err:
            raise ExportError(f"{os.fspath(path)}: {err}") from err
    flags = {is_simulated(f) for f in frames}
    if len(flags) > 1:
        raise ExportError("some exports are simulated and some are real: refusing to analyse them together")
    return validate_export(pd.concat(frames, ignore_index=True), questions)
