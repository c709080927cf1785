"""Choose the transcribers' thresholds on validation songs against their true notes.

``python -m benchmark.music.fit --root data/chorales`` takes 10 s clips of the *validation* songs
of the training split (``hafm.data.splits``; never test songs), runs each model once (cached),
then grid-searches the decoding settings for the best mean note F1 (mir_eval.transcription: onset
within 50 ms, pitch within 50 cents, offsets ignored) of the accompaniment (basic-pitch) and of
the vocal (torchcrepe). The onset latency is part of the grid: it is a property of the model on
this corpus' rendered instruments, so it is measured here like the thresholds. It writes
``results/metrics_fit.json``; with ``--write`` it also saves the chosen settings (accompaniment,
and the vocal hop, see ``chosen_settings``) to ``benchmark/configs/music_thresholds.json``, which
``Transcribers.fitted`` (the benchmark and the validation) reads.

The onset sources of the rhythm metrics (``benchmark.music.onsets``) are fitted the same way
(``fit_onsets``), for the best mean onset F-measure (mir_eval.onset, 50 ms) against the true
onsets: the vocal's attack snapping and the accompaniment's onset-posterior peaks. There each
timbre counts equally (the vocal's General MIDI voice, the accompaniment's instrument set, from
the corpus manifest): the validation songs hold few clips of some voices, and a setting that
suits the most frequent voice only would not carry to songs sung by another.
``--onsets-only`` refits just these on top of a saved ``--out`` report.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

import mir_eval
import numpy as np
from tqdm import tqdm

from benchmark.music.cache import TranscriptionCache, default_cache_dir
from benchmark.music.corpus import SR, clip_audio, clip_timbres, clip_true_notes, corpus_clips
from benchmark.music.metrics import THRESHOLDS, note_metrics
from benchmark.music.notes import Notes, onsets
from benchmark.music.onsets import attack_strength, pick_attacks, snap_onsets
from benchmark.music.transcribe import BasicPitch
from benchmark.music.vocal import Crepe
from hafm.fileio import atomic_write_json

ACCOMP_GRID = {"onset_threshold": (0.3, 0.4, 0.5, 0.6, 0.7), "frame_threshold": (0.2, 0.3, 0.4),
               "min_note_ms": (58.0, 127.7)}
VOCAL_GRID = {"voicing_threshold": (0.3, 0.5, 0.7), "onset_delta": (0.15, 0.3, 0.5, 0.8, 2.0),
              "median_frames": (3, 5), "min_note_s": (0.06, 0.1)}
LAGS_S = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08)
VOCAL_ONSET_GRID = {"attack_delta": (0.05, 0.1, 0.15, 0.2), "snap_s": (0.0, 0.08, 0.1, 0.12, 0.15),
                    "attack_lag_s": (0.0, 0.01, 0.02, 0.03)}
ACCOMP_ONSET_GRID = {"peak_threshold": (0.5, 0.6, 0.7, 0.8, 0.9), "peak_lag_s": (0.0, 0.01, 0.02, 0.025, 0.03, 0.04)}


def note_f1(ref: Notes, est: Notes, onset_tolerance: float = 0.05) -> float:
    """mir_eval note F-measure (onset within ``onset_tolerance`` s, pitch within 50 cents, no offsets)."""
    if len(ref) == 0 or len(est) == 0:
        return float(len(ref) == len(est))
    intervals = [np.stack([n.onset, np.maximum(n.offset, n.onset + 1e-3)], axis=1) for n in (ref, est)]
    hz = [mir_eval.util.midi_to_hz(n.pitch) for n in (ref, est)]
    return float(mir_eval.transcription.precision_recall_f1_overlap(
        intervals[0], hz[0], intervals[1], hz[1], onset_tolerance=onset_tolerance, offset_ratio=None)[2])


def grid_search(backend, outputs: list[dict], truths: list[Notes], grid: dict) -> tuple[dict, list[dict]]:
    """Best settings (mean F1 over clips) of ``backend`` over ``grid`` x ``LAGS_S``; all rows too.

    Decoding runs once per grid point; each latency is then a shift of the decoded notes.
    """
    rows = []
    names = list(grid)
    for values in tqdm(list(itertools.product(*grid.values())), desc=f"grid {backend.name}", unit="setting"):
        decoder = dataclasses.replace(backend, **dict(zip(names, values)), onset_lag_s=0.0)
        decoded = [decoder.decode(o) for o in outputs]
        for lag in LAGS_S:
            f1 = [note_f1(t, d.earlier(lag)) for t, d in zip(truths, decoded)]
            rows.append({**dict(zip(names, values)), "onset_lag_s": lag, "f1": float(np.mean(f1))})
    best = max(rows, key=lambda r: r["f1"])
    return best, rows


def onset_f(ref: Notes, est: np.ndarray) -> float:
    """mir_eval onset F-measure (50 ms) of onset times ``est`` (s) against the notes ``ref``'s onsets."""
    truth = onsets(ref)
    if len(truth) == 0 or len(est) == 0:
        return float(len(truth) == len(est))
    return float(mir_eval.onset.f_measure(truth, onsets(Notes(est, est, est, est)), window=0.05)[0])


def balanced_mean(values: list[float], groups: list[str]) -> float:
    """Mean over groups of the per-group means: every timbre counts the same."""
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    return float(np.mean([values[groups == g].mean() for g in np.unique(groups)]))


def _best(rows: list[dict]) -> dict:
    return max(rows, key=lambda r: r["onset_f"])


def fit_vocal_onsets(vocal: Crepe, outputs: list[dict], audio: list[np.ndarray], truths: list[Notes],
                     groups: list[str]) -> tuple[dict, list[dict]]:
    """Best ``VOCAL_ONSET_GRID`` setting of the vocal's attack snapping (``snap_s`` 0: the f0
    notes' own onsets) for the timbre-balanced mean onset F, with the timbre-balanced note F1 of
    the snapped notes (``note_f1``); all rows too."""
    decoded = [vocal.decode(o) for o in outputs]
    strength = [attack_strength(a, SR) for a in audio]
    rows = []
    for delta, snap, lag in itertools.product(*VOCAL_ONSET_GRID.values()):
        est = [snap_onsets(d, pick_attacks(s, delta, lag), snap) for d, s in zip(decoded, strength)]
        f = [onset_f(t, e.onset) for t, e in zip(truths, est)]
        rows.append({"attack_delta": delta, "snap_s": snap, "attack_lag_s": lag, "onset_f": balanced_mean(f, groups)})
    best = _best(rows)
    snapped = [snap_onsets(d, pick_attacks(s, best["attack_delta"], best["attack_lag_s"]), best["snap_s"])
               for d, s in zip(decoded, strength)]
    return {**best, "note_f1": balanced_mean([note_f1(t, n) for t, n in zip(truths, snapped)], groups)}, rows


def fit_accompaniment_onsets(accomp: BasicPitch, outputs: list[dict], truths: list[Notes],
                             groups: list[str]) -> tuple[dict, list[dict]]:
    """Best ``ACCOMP_ONSET_GRID`` setting of the onset-posterior peaks for the timbre-balanced
    mean onset F; all rows too, and the decoded notes' onsets as ``notes_onset_f``."""
    rows = []
    for threshold, lag in itertools.product(*ACCOMP_ONSET_GRID.values()):
        decoder = dataclasses.replace(accomp, peak_threshold=threshold, peak_lag_s=lag)
        f = [onset_f(t, decoder.onset_times(o)) for t, o in zip(truths, outputs)]
        rows.append({"peak_threshold": threshold, "peak_lag_s": lag, "onset_f": balanced_mean(f, groups)})
    notes_f = balanced_mean([onset_f(t, accomp.decode(o).onset) for t, o in zip(truths, outputs)], groups)
    return {**_best(rows), "notes_onset_f": notes_f}, rows


def model_outputs(backend, audio: list[np.ndarray], cache: TranscriptionCache) -> list[dict]:
    return [cache.output(backend, x, SR) for x in tqdm(audio, desc=f"model {backend.name}", unit="clip")]


CANDIDATES = {"harmony": ("consonance", "chord_tones", "key"), "rhythm": ("onset_f", "tempo")}


def metric_selection(vocal_notes: list[Notes], accomp_notes: list[Notes], songs: list[str],
                     duration: float, accomp_onsets: list[np.ndarray] | None = None) -> dict:
    """Per candidate metric: mean with the true accompaniment and with another validation song's
    (transcribed notes both; the rhythm columns read ``accomp_onsets`` where given), and the
    paired effect size d = mean / sd of the per-clip differences.

    The headline of each family is the candidate with the largest d; the chance level of the
    onset F-measure is its mean over other-song pairs.
    """
    rng = np.random.default_rng(0)
    timing = accomp_onsets if accomp_onsets is not None else [None] * len(accomp_notes)
    own, other = [], []
    for i, (vocal, song) in enumerate(zip(vocal_notes, songs)):
        j = int(rng.choice([k for k, s in enumerate(songs) if s != song]))
        own.append(note_metrics(vocal, accomp_notes[i], duration, timing[i]))
        other.append(note_metrics(vocal, accomp_notes[j], duration, timing[j]))
    table = {}
    for family, names in CANDIDATES.items():
        for name in names:
            d = np.array([a[name] - b[name] for a, b in zip(own, other)])
            table[name] = {"family": family, "true_pair": float(np.mean([a[name] for a in own])),
                           "other_song": float(np.mean([b[name] for b in other])),
                           "effect_size_d": float(d.mean() / (d.std(ddof=1) + 1e-12))}
    chosen = {f: max(names, key=lambda n: table[n]["effect_size_d"]) for f, names in CANDIDATES.items()}
    return {"candidates": table, "headline": chosen, "chance_onset_f": table["onset_f"]["other_song"]}


def validation_data(root: str | Path, per_song: int, max_songs: int) -> tuple[list, list, list]:
    """Clips of the validation songs, their ``(vocals, accompaniment)`` audio and true notes."""
    clips = corpus_clips(root, "train", "validation", per_song=per_song, max_songs=max_songs)
    return clips, [clip_audio(c) for c in clips], [clip_true_notes(c) for c in clips]


def fit(root: str | Path, cache: TranscriptionCache, per_song: int = 2, max_songs: int = 0) -> dict:
    """Fit both transcribers on the validation songs; returns the report written to JSON."""
    clips, audio, truths = validation_data(root, per_song, max_songs)
    report = {"clips": len(clips), "songs": len({c.track for c in clips}), "split": "train/validation",
              "metric": "mean note F1, mir_eval.transcription, onset 50 ms, pitch 50 cents, offsets ignored"}
    acc_out = model_outputs(BasicPitch(), [a for _, a in audio], cache)
    best, rows = grid_search(BasicPitch(), acc_out, [t[1] for t in truths], ACCOMP_GRID)
    default = next(r for r in rows if r["onset_threshold"] == 0.5 and r["frame_threshold"] == 0.3
                   and r["min_note_ms"] == 127.7 and r["onset_lag_s"] == 0.0)
    report["accompaniment"] = {"best": best, "upstream_default": default, "grid": rows}
    report["vocal"] = {}
    for hop in (0.02, 0.04):
        voc_out = model_outputs(Crepe(hop_s=hop), [v for v, _ in audio], cache)
        best, rows = grid_search(Crepe(hop_s=hop), voc_out, [t[0] for t in truths], VOCAL_GRID)
        report["vocal"][f"hop_{hop}"] = {"best": best, "grid": rows}
    report["chosen"] = chosen_settings(report)
    return fit_onsets(report, clips, audio, truths, cache)


def fit_onsets(report: dict, clips: list, audio: list, truths: list, cache: TranscriptionCache) -> dict:
    """``report`` with its ``onsets`` fitted on top of its note settings (``fit_vocal_onsets`` for
    each vocal hop, ``fit_accompaniment_onsets``), ``chosen`` including them (the hop by the note F1
    of the snapped notes), and the metric ``selection`` (and the chance level of the onset F)
    measured with the final onsets."""
    accomp = BasicPitch(**chosen_settings(report)["accompaniment"])
    voices, sets = zip(*[clip_timbres(c) for c in clips])
    vocals = [v for v, _ in audio]
    report["onsets"] = {"metric": "mir_eval.onset F (50 ms) vs true onsets, mean over timbres of the per-timbre mean",
                        "vocal": {}}
    for hop, fitted in report["vocal"].items():
        vocal = Crepe(hop_s=float(hop.removeprefix("hop_")), **settings_of(fitted["best"]))
        vbest, vrows = fit_vocal_onsets(vocal, [cache.output(vocal, v, SR) for v in vocals], vocals,
                                        [t[0] for t in truths], list(voices))
        report["onsets"]["vocal"][hop] = {"best": vbest, "grid": vrows}
    acc_out = [cache.output(accomp, a, SR) for _, a in audio]
    abest, arows = fit_accompaniment_onsets(accomp, acc_out, [t[1] for t in truths], list(sets))
    report["onsets"]["accompaniment"] = {"best": abest, "grid": arows}
    report["chosen"] = chosen_settings(report)
    vocal, accomp = Crepe(**report["chosen"]["vocal"]), BasicPitch(**report["chosen"]["accompaniment"])
    voc_out = [cache.output(vocal, v, SR) for v in vocals]
    vocal_notes = [vocal.refine(vocal.decode(o), v, SR) for o, (v, _) in zip(voc_out, audio)]
    report["selection"] = metric_selection(vocal_notes, [accomp.decode(o) for o in acc_out],
                                           [c.track for c in clips], clips[0].duration,
                                           [accomp.onset_times(o) for o in acc_out])
    return report


FINER_HOP_GAIN = 0.02  # note F1 the 20 ms hop must gain over 40 ms to be worth twice the CPU


def settings_of(best: dict) -> dict:
    """A grid row without its scores: keyword arguments of a backend."""
    return {k: v for k, v in best.items() if k not in ("f1", "onset_f", "note_f1", "notes_onset_f")}


def chosen_settings(report: dict) -> dict:
    """The best accompaniment settings and the best vocal settings of the 40 ms hop, or of the
    20 ms hop where its note F1 is higher by more than ``FINER_HOP_GAIN``, with the fitted onset
    settings where the report has them (the hop's note F1 is then that of its snapped notes), as
    keyword arguments of ``BasicPitch`` and ``Crepe``."""
    onsets = report.get("onsets", {})
    snapped = onsets.get("vocal", {})
    f1 = {h: snapped[h]["best"]["note_f1"] if h in snapped else report["vocal"][h]["best"]["f1"]
          for h in ("hop_0.02", "hop_0.04")}
    hop = "hop_0.02" if f1["hop_0.02"] > f1["hop_0.04"] + FINER_HOP_GAIN else "hop_0.04"
    chosen = {"accompaniment": settings_of(report["accompaniment"]["best"]),
              "vocal": {"hop_s": float(hop.removeprefix("hop_")), **settings_of(report["vocal"][hop]["best"])}}
    if hop in snapped:
        chosen["vocal"].update(settings_of(snapped[hop]["best"]))
    if "accompaniment" in onsets:
        chosen["accompaniment"].update(settings_of(onsets["accompaniment"]["best"]))
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.music.fit", description=__doc__.splitlines()[0])
    p.add_argument("--root", default="data/chorales")
    p.add_argument("--out", default="results/metrics_fit.json")
    p.add_argument("--cache", default=None, help="transcription cache (default: $HAFM_TRANSCRIPTION_CACHE)")
    p.add_argument("--per-song", type=int, default=2, help="10 s clips per validation song")
    p.add_argument("--max-songs", type=int, default=0, help="only the first N validation songs (0: all)")
    p.add_argument("--write", action="store_true", help=f"save the chosen settings to {THRESHOLDS}")
    p.add_argument("--onsets-only", action="store_true", help="refit only the onset settings on the --out report")
    args = p.parse_args(argv)
    cache = TranscriptionCache(args.cache or default_cache_dir())
    if args.onsets_only:
        report = fit_onsets(json.loads(Path(args.out).read_text()), *validation_data(args.root, args.per_song,
                                                                                       args.max_songs), cache)
    else:
        report = fit(args.root, cache, args.per_song, args.max_songs)
    atomic_write_json(args.out, report)
    if args.write:
        atomic_write_json(THRESHOLDS, report["chosen"])
    print(json.dumps({"chosen": report["chosen"], "selection": report["selection"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
