"""The numbers behind the validation report: truth vs transcription, paired tests, "Done when" checks.

All read the validation rows (one per clip x condition x source, see ``benchmark.music.validate``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.music.stats import paired_difference, song_means

HEADLINE = ("harmony", "rhythm", "coherence")
METRICS = ("harmony", "rhythm", "coherence", "consonance", "chord_tones", "key", "onset_f", "tempo")
# Conditions whose audio is a faithful rendering of known notes (noise has none; the codec changes
# the audio but not the notes, so its transcription *should* differ from the truth).
TRUTH_FAMILIES = ("reference", "transpose", "shift", "tempo", "other_song")
CONTRASTS = ("other_song", "transpose_6", "shift_250", "tempo_1.1", "noise", "codec_8", "codec_4", "codec_1")


def truth_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (clip, condition) of ``TRUTH_FAMILIES``: ``<metric>_true`` and ``<metric>_transcribed``."""
    keep = rows[rows.family.isin(TRUTH_FAMILIES)]
    wide = keep.pivot_table(index=["clip_id", "track", "condition", "family"], columns="source",
                            values=list(METRICS))
    wide.columns = [f"{m}_{s}" for m, s in wide.columns]
    return wide.reset_index()


def _song_bootstrap_r(x: np.ndarray, y: np.ndarray, songs: np.ndarray, n: int = 1000, seed: int = 0):
    names = np.unique(songs)
    groups = [np.flatnonzero(songs == s) for s in names]
    rng = np.random.default_rng(seed)
    rs = []
    for _ in range(n):
        idx = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            rs.append(np.corrcoef(x[idx], y[idx])[0, 1])
    return np.quantile(rs, [0.025, 0.975]) if rs else (np.nan, np.nan)


def truth_correlation(rows: pd.DataFrame) -> pd.DataFrame:
    """Per metric: Pearson r (song-bootstrap CI) and Spearman rho between the metric from true notes
    and from transcriptions, pooled over ``TRUTH_FAMILIES``, and r over the undamaged clips alone."""
    from scipy.stats import spearmanr

    pairs = truth_pairs(rows)
    out = []
    for m in METRICS:
        x, y = pairs[f"{m}_true"].to_numpy(), pairs[f"{m}_transcribed"].to_numpy()
        ok = ~(np.isnan(x) | np.isnan(y))
        lo, hi = _song_bootstrap_r(x[ok], y[ok], pairs.track.to_numpy()[ok])
        ref = (pairs.family == "reference").to_numpy() & ok
        r_ref = np.corrcoef(x[ref], y[ref])[0, 1] if np.ptp(x[ref]) > 0 and np.ptp(y[ref]) > 0 else np.nan
        out.append({"metric": m, "r": float(np.corrcoef(x[ok], y[ok])[0, 1]), "r_ci_low": float(lo),
                    "r_ci_high": float(hi), "spearman": float(spearmanr(x[ok], y[ok]).statistic),
                    "n_clips": int(ok.sum()), "r_undamaged_only": float(r_ref),
                    "mean_abs_diff": float(np.mean(np.abs(x[ok] - y[ok])))})
    return pd.DataFrame(out)


def _song_values(rows: pd.DataFrame, condition: str, metric: str, source: str = "transcribed") -> pd.Series:
    part = rows[(rows.condition == condition) & (rows.source == source)]
    return song_means(part[metric], part["track"])


def paired_rows(rows: pd.DataFrame, metrics: tuple[str, ...] = (*HEADLINE, "harmony_chroma", "rhythm_xcorr",
                                                                 "tonality")) -> pd.DataFrame:
    """ground_truth - contrast per song for every metric and ``CONTRASTS`` condition (transcribed)."""
    out = []
    for metric in metrics:
        if metric not in rows:
            continue
        gt = _song_values(rows, "ground_truth", metric)
        for cond in CONTRASTS:
            d = paired_difference(gt, _song_values(rows, cond, metric))
            out.append({"metric": metric, "contrast": cond, "diff": d.diff, "ci_low": d.ci_low,
                        "ci_high": d.ci_high, "p_bootstrap": d.p_bootstrap, "p_wilcoxon": d.p_wilcoxon,
                        "n_songs": d.n_songs})
    return pd.DataFrame(out)


def _mean(rows: pd.DataFrame, condition: str, metric: str) -> float:
    return float(_song_values(rows, condition, metric).mean())


def done_when(rows: pd.DataFrame) -> list[dict]:
    """The issue's measurable "Done when" items, each with its value, its bar and pass/fail."""
    checks = []
    for metric in ("harmony", "rhythm"):
        d = paired_difference(_song_values(rows, "ground_truth", metric), _song_values(rows, "other_song", metric))
        checks.append({"check": f"ground truth beats another song's accompaniment on {metric} (paired CI > 0)",
                       "value": f"{d.diff:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]", "bar": "CI above 0",
                       "pass": bool(d.ci_low > 0)})
    for metric, cond, label in (("harmony", "transpose_6", "a tritone transposition"),
                                ("rhythm", "shift_250", "a 250 ms shift")):
        gap = _mean(rows, "ground_truth", metric) - _mean(rows, "other_song", metric)
        drop = _mean(rows, "ground_truth", metric) - _mean(rows, cond, metric)
        checks.append({"check": f"{label} lowers {metric} by at least half the truth - random gap",
                       "value": f"drop {drop:.3f} vs gap {gap:.3f} ({drop / gap:.2f} of it)" if gap else "no gap",
                       "bar": ">= 0.50 of the gap", "pass": bool(gap > 0 and drop >= 0.5 * gap)})
    corr = truth_correlation(rows).set_index("metric")
    for metric in METRICS:
        r = corr.loc[metric, "r"]
        checks.append({"check": f"{metric}: transcribed vs true-note values, Pearson r over test clips",
                       "value": f"{r:.3f}", "bar": ">= 0.8", "pass": bool(r >= 0.8)})
    return checks
