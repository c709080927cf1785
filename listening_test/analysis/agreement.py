"""Inter-rater agreement: Krippendorff's alpha (``krippendorff`` package, raters x units layout).

- Ratings, ordinal alpha per attribute (question of the study): a unit is a stimulus (item, system); a rater's value is
  the mean of their ratings of that stimulus (a stimulus heard in several pairs is rated more
  than once; the mean keeps every rating, and half-points become ordinal categories of their own).
- Preference, nominal alpha: a unit is (item, pair of systems); the value is which system the
  rater chose (their first answer on that unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd

from listening_test.analysis.ratings import long_ratings
from listening_test.analysis.schema import ATTRIBUTES


@dataclass(frozen=True)
class AgreementResult:
    measure: str  # a question id (built-in: "rhythm", "harmony", "coherence") or "preference"
    level: str  # "ordinal" or "nominal"
    alpha: float  # nan when undefined (fewer than 2 raters on every unit, or one value only)
    units: int  # units rated by at least two raters
    raters: int


def alpha_from_long(values: pd.DataFrame, level: str) -> tuple[float, int, int]:
    """Alpha of a long table with columns rater, unit, value (one value per rater and unit)."""
    matrix = values.pivot(index="rater", columns="unit", values="value")
    pairable = matrix.notna().sum(axis=0) >= 2
    matrix = matrix.loc[:, pairable]
    data = matrix.to_numpy(dtype=float)
    if data.size == 0 or len(np.unique(data[~np.isnan(data)])) < 2:
        return float("nan"), int(pairable.sum()), matrix.shape[0]
    alpha = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    return float(alpha), int(pairable.sum()), matrix.shape[0]


def rating_agreement(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> list[AgreementResult]:
    """Ordinal alpha per attribute (``attributes``: the question ids) over stimuli (item, system)."""
    long = long_ratings(df, attributes)
    long["unit"] = long["item"] + "|" + long["system"]
    out = []
    for attr in attributes:
        values = long.groupby(["rater", "unit"], as_index=False)[attr].mean().rename(columns={attr: "value"})
        alpha, units, raters = alpha_from_long(values, "ordinal")
        out.append(AgreementResult(attr, "ordinal", alpha, units, raters))
    return out


def preference_agreement(df: pd.DataFrame) -> AgreementResult:
    """Nominal alpha of the forced choice over units (item, unordered pair)."""
    trials = df[df["is_catch"] == 0].sort_values("answered_at", kind="stable")
    first = np.minimum(trials["system_a"], trials["system_b"])
    second = np.maximum(trials["system_a"], trials["system_b"])
    values = pd.DataFrame({
        "rater": trials["rater"],
        "unit": trials["item"] + "|" + first + "|" + second,
        "value": (trials["preferred"] == first).astype(float),
    }).drop_duplicates(["rater", "unit"], keep="first")
    alpha, units, raters = alpha_from_long(values, "nominal")
    return AgreementResult("preference", "nominal", alpha, units, raters)
