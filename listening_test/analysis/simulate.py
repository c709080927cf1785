"""Simulated listening studies (always labelled: ``simulated = 1``, rater ids ``sim-...``).

Generative model, per rater r, item i, system s, attribute a, trial side:

    latent  = 3 + offset_r + quality[s][a] + item_i + taste_{r,s} + noise      (rating points)
    rating  = clip(round(latent), 1, 5)
    logit P(choose A) = preference_scale * (mean_a latent_A - mean_a latent_B) + position_r

``offset_r`` ~ N(0, rater_offset_sd) is a rater's leniency, ``taste_{r,s}`` ~ N(0, taste_sd)
a rater's liking of a system (what makes one rater's choices correlated), ``position_r`` ~
N(position_mean, position_sd) a rater's leaning to side A, and the noise sd of each rater is
``noise_sd * exp(N(0, noise_sd_spread))``. Careless raters answer at random. Catch trials:
``identical`` (same stimulus twice; a careful rater hears it as the same, so the two sides share
their noise up to ``identical_noise_sd``), ``offbeat`` (``catch_drop`` points off the manipulated
side's rhythm, half of it off coherence) and ``transposed`` (the same on harmony).
Every rater judges every item under every pair of systems once, A/B sides balanced per pair,
in a random order with the catch trials mixed in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from listening_test.analysis.config import ConfigError
from listening_test.analysis.schema import (
    ATTRIBUTES,
    SIMULATED_COLUMN,
    SIMULATED_RATER_PREFIX,
)

START_TIME = pd.Timestamp("2026-01-01T00:00:00Z")
SECONDS_PER_TRIAL = 45


@dataclass
class SimulationConfig:
    n_raters: int = 24
    n_items: int = 10
    systems: tuple[str, ...] = ("three_stage", "ground_truth", "random")
    # latent quality per system, one value per attribute (rhythm, harmony, coherence); absent = 0
    quality: dict[str, list[float]] = field(default_factory=dict)
    rater_offset_sd: float = 0.5
    noise_sd: float = 0.8
    noise_sd_spread: float = 0.3
    taste_sd: float = 0.3
    item_sd: float = 0.3
    position_mean: float = 0.0
    position_sd: float = 0.3
    preference_scale: float = 1.5  # logit per rating point of mean latent difference
    careless_fraction: float = 0.1
    catch_identical: int = 2
    catch_offbeat: int = 1
    catch_transposed: int = 1
    catch_drop: float = 2.0
    identical_noise_sd: float = 0.3


def _quality(config: SimulationConfig) -> np.ndarray:
    """``[S, 3]`` latent quality of each system and attribute."""
    unknown = set(config.quality) - set(config.systems)
    if unknown:
        raise ConfigError(f"quality given for unknown system(s): {sorted(unknown)}")
    return np.array([config.quality.get(s, [0.0] * len(ATTRIBUTES)) for s in config.systems], dtype=float)


def _trial_plan(config: SimulationConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Every rater's trials: rater, trial_index, item, sys_a, sys_b (indices), catch_kind, catch_side."""
    pairs = list(itertools.combinations(range(len(config.systems)), 2))
    catches = (["identical"] * config.catch_identical + ["offbeat"] * config.catch_offbeat
               + ["transposed"] * config.catch_transposed)
    n_pair = len(pairs) * config.n_items
    n_trials = n_pair + len(catches)
    pair_idx = np.tile(np.repeat(np.arange(len(pairs)), config.n_items), config.n_raters)
    items = np.tile(np.tile(np.arange(config.n_items), len(pairs)), config.n_raters)
    # Balanced sides per rater and pair: a shuffled half of the items hear X as A.
    base = np.arange(config.n_items) < (config.n_items + 1) // 2
    flip = np.concatenate([rng.permutation(base) for _ in range(config.n_raters * len(pairs))])
    first, second = np.array(pairs).T
    sys_x, sys_y = first[pair_idx], second[pair_idx]
    sys_a, sys_b = np.where(flip, sys_x, sys_y), np.where(flip, sys_y, sys_x)
    n_catch = config.n_raters * len(catches)
    catch_sys = rng.integers(0, len(config.systems), n_catch)
    plan = pd.DataFrame({
        "rater": np.concatenate([np.repeat(np.arange(config.n_raters), n_pair),
                                 np.repeat(np.arange(config.n_raters), len(catches))]),
        "item": np.concatenate([items, rng.integers(0, config.n_items, n_catch)]),
        "sys_a": np.concatenate([sys_a, catch_sys]),
        "sys_b": np.concatenate([sys_b, catch_sys]),
        "catch_kind": np.concatenate([np.full(len(items), ""), np.tile(catches, config.n_raters)]),
    })
    plan["catch_side"] = np.where(plan["catch_kind"].isin(["offbeat", "transposed"]),
                                  rng.choice(["A", "B"], len(plan)), "")
    plan = plan.sort_values("rater", kind="stable").reset_index(drop=True)
    plan["trial_index"] = np.concatenate([rng.permutation(n_trials) for _ in range(config.n_raters)])
    return plan


def _latent(config: SimulationConfig, plan: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Latent ratings ``[N, 3]`` of sides A and B (before rounding)."""
    n_r, n_s, n_a = config.n_raters, len(config.systems), len(ATTRIBUTES)
    quality = _quality(config)
    offset = rng.normal(0, config.rater_offset_sd, n_r)
    taste = rng.normal(0, config.taste_sd, (n_r, n_s))
    item = rng.normal(0, config.item_sd, config.n_items)
    noise_sd = config.noise_sd * np.exp(rng.normal(0, config.noise_sd_spread, n_r))
    r, i = plan["rater"].to_numpy(), plan["item"].to_numpy()
    sides = []
    for col in ("sys_a", "sys_b"):
        s = plan[col].to_numpy()
        mean = 3 + offset[r] + item[i] + taste[r, s]
        sides.append(mean[:, None] + quality[s] + rng.normal(0, 1, (len(plan), n_a)) * noise_sd[r, None])
    lat_a, lat_b = sides
    identical = (plan["catch_kind"] == "identical").to_numpy()
    lat_b[identical] = lat_a[identical] + rng.normal(0, config.identical_noise_sd, (identical.sum(), n_a))
    for kind, attr in (("offbeat", 0), ("transposed", 1)):
        for side, lat in (("A", lat_a), ("B", lat_b)):
            rows = ((plan["catch_kind"] == kind) & (plan["catch_side"] == side)).to_numpy()
            lat[rows, attr] -= config.catch_drop
            lat[rows, 2] -= config.catch_drop / 2
    return lat_a, lat_b


def simulate_study(config: SimulationConfig, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated export (the contract of ``schema.py`` plus ``simulated = 1``)."""
    plan = _trial_plan(config, rng)
    lat_a, lat_b = _latent(config, plan, rng)
    position = rng.normal(config.position_mean, config.position_sd, config.n_raters)
    r = plan["rater"].to_numpy()
    logit = config.preference_scale * (lat_a.mean(1) - lat_b.mean(1)) + position[r]
    chose_a = rng.random(len(plan)) < 1 / (1 + np.exp(-logit))
    rating_a = np.clip(np.round(lat_a), 1, 5).astype(int)
    rating_b = np.clip(np.round(lat_b), 1, 5).astype(int)
    careless = (rng.random(config.n_raters) < config.careless_fraction)[r]
    rating_a[careless] = rng.integers(1, 6, (careless.sum(), len(ATTRIBUTES)))
    rating_b[careless] = rng.integers(1, 6, (careless.sum(), len(ATTRIBUTES)))
    chose_a[careless] = rng.random(careless.sum()) < 0.5
    systems = np.array(config.systems)
    export = pd.DataFrame({
        "rater": [f"{SIMULATED_RATER_PREFIX}{k:04d}" for k in r],
        "session": [f"{SIMULATED_RATER_PREFIX}session-{k:04d}" for k in r],
        "trial_index": plan["trial_index"].to_numpy(),
        "item": [f"item{k:02d}" for k in plan["item"]],
        "system_a": systems[plan["sys_a"]],
        "system_b": systems[plan["sys_b"]],
        "is_catch": (plan["catch_kind"] != "").astype(int).to_numpy(),
        "catch_kind": plan["catch_kind"].to_numpy(),
        "catch_side": plan["catch_side"].to_numpy(),
        "preferred_side": np.where(chose_a, "A", "B"),
    })
    export["preferred"] = np.where(chose_a, export["system_a"], export["system_b"])
    for k, attr in enumerate(ATTRIBUTES):
        export[f"{attr}_a"], export[f"{attr}_b"] = rating_a[:, k], rating_b[:, k]
    offset_s = r * 3600 + export["trial_index"] * SECONDS_PER_TRIAL
    export["answered_at"] = (START_TIME + pd.to_timedelta(offset_s, unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    export[SIMULATED_COLUMN] = 1
    return export.sort_values(["rater", "trial_index"], kind="stable").reset_index(drop=True)
