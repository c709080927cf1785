"""The Markdown of ``results/metrics_validation.md`` (every number computed from the rows)."""

from __future__ import annotations

import datetime as dt
import platform

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from benchmark.music.report_checks import METRICS

SENSITIVE = {  # the harm each metric is meant to see (True) or to ignore (False), by family
    "harmony": {"transpose": True, "shift": False, "tempo": False, "codec": True},
    "consonance": {"transpose": True, "shift": False, "tempo": False, "codec": True},
    "chord_tones": {"transpose": True, "shift": False, "tempo": False, "codec": True},
    "key": {"transpose": True, "shift": False, "tempo": False, "codec": True},
    "rhythm": {"transpose": False, "shift": True, "tempo": True, "codec": True},
    "onset_f": {"transpose": False, "shift": True, "tempo": True, "codec": True},
    "tempo": {"transpose": False, "shift": False, "tempo": True, "codec": True},
    "coherence": {"transpose": True, "shift": True, "tempo": True, "codec": True},
    "harmony_chroma": {"transpose": True, "shift": False, "tempo": False, "codec": True},
    "rhythm_xcorr": {"transpose": False, "shift": True, "tempo": True, "codec": True},
    "tonality": {"transpose": False, "shift": False, "tempo": False, "codec": True},
}
FAMILIES = ("transpose", "shift", "tempo", "codec")


def _m(means: pd.DataFrame, cond: str, metric: str, source: str = "transcribed") -> float:
    v = means[(means.condition == cond) & (means.metric == metric) & (means.source == source)]["mean"]
    return float(v.iloc[0]) if len(v) else float("nan")


def gap_share(drop: float, gap: float) -> float:
    """``drop / gap``: NaN where the metric does not separate truth from another song (gap 0)."""
    return float(drop / gap) if gap != 0 else float("nan")


def sensitivity(means: pd.DataFrame, metric: str, family: str) -> tuple[float, float]:
    """(Spearman rho of damage level vs mean, drop at the largest level / truth-random gap)."""
    part = means[(means.source == "transcribed") & (means.metric == metric) & (means.family == family)]
    gt, rnd = _m(means, "ground_truth", metric), _m(means, "other_song", metric)
    levels = np.concatenate([[0.0 if family != "tempo" else 1.0], part.level.to_numpy()])
    values = np.concatenate([[gt], part["mean"].to_numpy()])
    if family == "codec":  # fewer codebooks = more harm: order by harm
        levels = np.concatenate([[0.0], 1.0 / part.level.to_numpy()])
    rho = float(-spearmanr(levels, values).statistic) if np.ptp(values) > 0 else 0.0
    worst = values[np.argmax(levels)]
    return rho, gap_share(gt - worst, gt - rnd)


def sensitivity_table(means: pd.DataFrame, metrics: tuple[str, ...]) -> list[str]:
    lines = ["| metric | " + " | ".join(FAMILIES) + " | noise: drop / gap |", "|---" * (len(FAMILIES) + 2) + "|"]
    for metric in metrics:
        cells = []
        for family in FAMILIES:
            rho, share = sensitivity(means, metric, family)
            meant = "sees" if SENSITIVE[metric][family] else "ignores"
            cells.append(f"{share:+.2f} (rho {rho:+.2f}; meant to {meant})")
        gt, rnd, noise = (_m(means, c, metric) for c in ("ground_truth", "other_song", "noise"))
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {gap_share(gt - noise, gt - rnd):+.2f} |")
    return lines


def condition_table(means: pd.DataFrame, metrics: tuple[str, ...]) -> list[str]:
    conds = list(dict.fromkeys(means.condition))
    lines = ["| condition | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for cond in conds:
        cells = []
        for metric in metrics:
            t, tr = _m(means, cond, metric, "true"), _m(means, cond, metric)
            cells.append(f"{tr:.3f}" + ("" if np.isnan(t) else f" ({t:.3f})"))
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    return lines


def fit_section(fit: dict | None) -> list[str]:
    if not fit:
        return ["(no `metrics_fit.json`: run `python -m benchmark.music.fit`)", ""]
    acc = fit["accompaniment"]
    lines = [f"Fitted on {fit['clips']} clips of {fit['songs']} validation songs of the training split "
             f"({fit['metric']}).", "",
             f"- basic-pitch (accompaniment): best {acc['best']} ; upstream defaults (0.5 / 0.3 / 127.7 ms, "
             f"no latency) F1 {acc['upstream_default']['f1']:.3f}."]
    for hop, v in fit["vocal"].items():
        lines.append(f"- torchcrepe tiny (vocal), {hop.replace('hop_', 'hop ')} s: best {v['best']}.")
    onsets = fit.get("onsets", {})
    if onsets:
        lines += ["", f"Onset sources of the rhythm metrics ({onsets['metric']}):", ""]
        acc = onsets["accompaniment"]["best"]
        lines.append(f"- accompaniment: basic-pitch onset-posterior peaks {acc} (the decoded notes' onsets: "
                     f"F {acc['notes_onset_f']:.3f}).")
        for hop, v in onsets["vocal"].items():
            lines.append(f"- vocal, {hop.replace('hop_', 'hop ')} s: f0 notes snapped to the audio's attacks, "
                         f"best {v['best']} (snap_s 0, the notes' own onsets: F "
                         f"{max(r['onset_f'] for r in v['grid'] if r['snap_s'] == 0):.3f}).")
        lines.append(f"- chosen: {fit['chosen']}; onset-F chance level (another song's accompaniment): "
                     f"{fit['selection']['chance_onset_f']:.3f}.")
    return lines + [""]


def cost_lines(rows: pd.DataFrame) -> list[str]:
    """The measured CPU per clip, scaled to the benchmark's 10 s clips (``seconds``: this run's length):
    model passes run uncached once per clip, the rest (decoding, onsets, metrics) as the run did it."""
    real = rows[(rows.source == "transcribed") & rows.condition.isin(["ground_truth", "other_song"])]
    scale = 10.0 / float(rows.seconds.iloc[0])
    clips = rows.drop_duplicates("clip_id")
    vocal = (clips.cpu_vocal_s.mean() + clips.get("cpu_vocal_model_s", pd.Series([np.nan])).mean()) * scale
    model = real.get("cpu_model_s", pd.Series([np.nan])).mean() * scale
    tr, px = real.cpu_transcribe_s.mean() * scale, real.cpu_proxies_s.mean() * scale
    n_clips, n_sys = 98, 7
    added = n_clips * vocal + n_clips * n_sys * (model + tr)
    return [f"CPU seconds per 10 s clip (process time, one thread, measured during this run on "
            f"{rows.seconds.iloc[0]:g} s clips and scaled to 10 s): torchcrepe vocal {vocal:.2f} (model pass "
            f"uncached, notes, attack snapping), basic-pitch accompaniment model pass {model:.2f} (uncached), "
            f"its decoding, onsets and every note metric {tr:.2f}, audio proxies {px:.2f} (xcorr + CQT chroma + "
            f"HPSS tonality). The music metrics then add about {added:.0f} CPU s to a cold benchmark "
            f"({n_clips} clips x {n_sys} systems, vocals tracked once), {added / 2 / 60:.1f} min on 2 worker "
            "processes, on top of the proxies (already part of it); a second run reads the model passes "
            "from the cache.", ""]


def report_markdown(rows: pd.DataFrame, means: pd.DataFrame, fit: dict | None, checks: list[dict],
                    corr: pd.DataFrame, paired: pd.DataFrame) -> str:
    gt = rows[(rows.source == "transcribed") & (rows.condition == "ground_truth")]
    lines = ["# Validation of the music metrics (rhythm, harmony, coherence)", "",
             f"Generated by `python -m benchmark.music.validate` on {dt.date.today().isoformat()} "
             f"({platform.machine()}, {platform.python_version()}). Test split of the chorale corpus: "
             f"{rows.clip_id.nunique()} clips x {rows.seconds.iloc[0]:g} s of {rows.track.nunique()} songs, the benchmark's clip "
             "choice. Each metric is computed from the transcriptions (basic-pitch for the accompaniment, "
             "torchcrepe for the vocal) and, in parentheses or dashed, from the true notes (`notes.json`). "
             "Means are over songs (per-song means first); CIs are 95% song bootstraps (1000 resamples). "
             "The codec damage uses the default codec (`hafm.tokenizers.codec.load_codec()`).", "",
             "## Thresholds (chosen on validation songs, never on test songs)", "", *fit_section(fit),
             "## Transcription accuracy on the test clips (not used for any choice)", "",
             f"- accompaniment note F1 (onset 50 ms, pitch): mean {gt.accomp_note_f1.mean():.3f} "
             f"(10th-90th percentile {gt.accomp_note_f1.quantile(0.1):.2f}-{gt.accomp_note_f1.quantile(0.9):.2f})",
             f"- vocal note F1: mean {rows.drop_duplicates('clip_id').vocal_note_f1.mean():.3f}", "",
             "## The issue's \"Done when\" items", "", "| check | value | bar | met |", "|---|---|---|---|"]
    lines += [f"| {c['check']} | {c['value']} | {c['bar']} | {'yes' if c['pass'] else 'NO'} |" for c in checks]
    lines += ["", "## Transcribed vs true-note metrics", "",
              "Pooled over the clips of every condition whose notes are known exactly (undamaged, transposed, "
              "shifted, tempo-warped, another song's); `metrics_validation_truth.png`.", "",
              "| metric | Pearson r [95% CI] | Spearman | r, undamaged clips only | mean abs diff | n |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r.metric} | {r.r:.3f} [{r.r_ci_low:.3f}, {r.r_ci_high:.3f}] | {r.spearman:.3f} | "
              f"{r.r_undamaged_only:.3f} | {r.mean_abs_diff:.3f} | {r.n_clips} |" for r in corr.itertuples()]
    lines += ["", "## Sensitivity under controlled damage", "",
              "`metrics_validation_sensitivity.png` (note metrics), `metrics_validation_proxies.png` (audio "
              "proxies). Each cell: drop from the undamaged value at the strongest damage of the family, as a "
              "share of the truth - another-song gap (1 = as bad as another song's accompaniment), and the "
              "Spearman rho of harm vs decrease (+1: falls monotonically).", "",
              *sensitivity_table(means, (*METRICS, "harmony_chroma", "rhythm_xcorr", "tonality")), "",
              "Means per condition, transcribed (true notes):", "",
              *condition_table(means, ("harmony", "rhythm", "coherence", "chord_tones", "key", "tempo")), "",
              *condition_table(means, ("harmony_chroma", "rhythm_xcorr", "tonality")), "",
              "## Paired tests against the undamaged accompaniment (ground truth - condition, over songs)", "",
              "| metric | condition | diff [95% CI] | p (bootstrap) | p (Wilcoxon) | songs |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r.metric} | {r.contrast} | {r.diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] | "
              f"{r.p_bootstrap:.3g} | {r.p_wilcoxon:.3g} | {r.n_songs} |" for r in paired.itertuples()]
    lines += ["", "## Cost", "", *cost_lines(rows)]
    return "\n".join(lines) + "\n"
