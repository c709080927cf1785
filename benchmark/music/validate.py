"""Validation of the music metrics on the test songs: truth vs transcription, controlled damage.

``python -m benchmark.music.validate --root data/chorales --out results`` takes the benchmark's
clips of the test songs (10 s, 2 per song, same seeded choice; ``--max-songs``/``--seconds`` for a
quick look), and for each clip and each
condition (``conditions``) computes every metric twice: from the true notes of the (damaged)
accompaniment and the true vocal notes, and from the transcriptions of the audio (basic-pitch,
torchcrepe), with the audio proxies beside them. Rows go to ``<out>/_cache/metrics_validation.csv``;
``benchmark.music.report`` turns them into ``<out>/metrics_validation.md`` and its figures.
Thresholds were fixed beforehand on validation songs (``benchmark.music.fit``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.music import damage
from benchmark.music.bench import PROXY_NAMES
from benchmark.music.corpus import SR, CorpusClip, clip_audio, clip_true_notes, corpus_clips
from benchmark.music.fit import note_f1
from benchmark.music.metrics import Transcribers, note_metrics
from benchmark.music.notes import Notes
from benchmark.proxies import proxies
from hafm.fileio import atomic_write_text
from hafm.runtime import parallel_map

TRANSPOSE = (1, 2, 3, 4, 5, 6)
SHIFT_MS = (25, 50, 100, 150, 250, 350, 500)
TEMPO = (1.02, 1.05, 1.1, 1.2)
CODEBOOKS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Condition:
    """One damage: ``family`` (transpose, shift, tempo, codec, noise, other_song, reference) and ``level``."""

    name: str
    family: str
    level: float


def conditions() -> list[Condition]:
    out = [Condition("ground_truth", "reference", 0)]
    out += [Condition(f"transpose_{k}", "transpose", k) for k in TRANSPOSE]
    out += [Condition(f"shift_{ms}", "shift", ms) for ms in SHIFT_MS]
    out += [Condition(f"tempo_{x}", "tempo", x) for x in TEMPO]
    out += [Condition(f"codec_{k}", "codec", k) for k in CODEBOOKS]
    return out + [Condition("noise", "noise", 1), Condition("other_song", "other_song", 1)]


@cache
def _codec():
    """The default codec (``hafm.tokenizers.codec.load_codec()``), loaded once per process."""
    from hafm.tokenizers.codec import load_codec

    return load_codec()


def damaged(cond: Condition, accomp: np.ndarray, notes: Notes, partner: tuple[np.ndarray, Notes],
            seed: int) -> tuple[np.ndarray, Notes]:
    """The accompaniment under ``cond`` and its true notes (``partner``: another song's clip)."""
    if cond.family == "reference":
        return accomp, notes
    if cond.family == "other_song":
        return partner
    make = {"transpose": lambda: damage.transpose(int(cond.level)), "shift": lambda: damage.shift(cond.level),
            "tempo": lambda: damage.tempo(cond.level), "noise": lambda: damage.noise(seed),
            "codec": lambda: damage.codec(_codec(), int(cond.level))}[cond.family]
    return make()(accomp, notes)


def _clip_rows(job: tuple[int, CorpusClip, CorpusClip, np.ndarray]) -> list[dict]:
    """Every condition of one clip: a ``true`` row and a ``transcribed`` row each."""
    index, clip, partner_clip, vocal_rows = job
    from benchmark.music.bench import cached_transcribers

    tr = cached_transcribers()
    vocals, accomp = clip_audio(clip)
    true_vocal, true_accomp = clip_true_notes(clip)
    partner = (clip_audio(partner_clip)[1], clip_true_notes(partner_clip)[1])
    heard_vocal, duration = Notes.from_array(vocal_rows), clip.duration
    rows = []
    for cond in conditions():
        audio, notes = damaged(cond, accomp, true_accomp, partner, seed=index)
        base = {"clip_id": clip.clip_id, "track": clip.track, "condition": cond.name, "family": cond.family,
                "level": cond.level, "seconds": duration}
        rows.append({**base, "source": "true", **note_metrics(true_vocal, notes, duration)})
        tr.output(tr.accompaniment, audio, SR)  # in the cache before the timing: a warm run's cost
        t0 = time.process_time()
        heard, heard_onsets = tr.accompaniment_part(audio, SR)
        values = note_metrics(heard_vocal, heard, duration, heard_onsets)
        t1 = time.process_time()
        proxy = {PROXY_NAMES[k]: v for k, v in proxies(vocals, audio, SR).items()}
        rows.append({**base, "source": "transcribed", **values, **proxy,
                     "accomp_note_f1": note_f1(notes, heard) if len(notes) else np.nan,
                     "cpu_transcribe_s": t1 - t0, "cpu_proxies_s": time.process_time() - t1,
                     "cpu_model_s": cpu_seconds(tr.accompaniment.model_output, audio, SR)
                     if cond.family == "reference" else np.nan})
    return rows


def cpu_seconds(fn, *args) -> float:
    """Process CPU seconds of ``fn(*args)`` (a model pass run here, not read from the cache)."""
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def _vocal_rows(clip: CorpusClip) -> tuple[np.ndarray, float, float, float]:
    """The clip's transcribed vocal notes ``[n, 4]``, the CPU seconds of a warm run (cache read,
    decode, attack snapping), their note F1 and the CPU seconds of an uncached model pass."""
    from benchmark.music.bench import cached_transcribers

    tr, vocals = cached_transcribers(), clip_audio(clip)[0]
    tr.output(tr.vocal, vocals, SR)  # in the cache before the timing: a warm run's cost
    t0 = time.process_time()
    notes = tr.vocal_notes(vocals, SR)
    cpu = time.process_time() - t0
    return notes.to_array(), cpu, note_f1(clip_true_notes(clip)[0], notes), cpu_seconds(tr.vocal.model_output, vocals, SR)


def partners(clips: list[CorpusClip], seed: int = 0) -> list[int]:
    """For each clip, the index of a clip of another song (a seeded derangement over songs)."""
    rng = np.random.default_rng(seed)
    out = []
    for clip in clips:
        others = [j for j, c in enumerate(clips) if c.track != clip.track]
        out.append(int(rng.choice(others)))
    return out


def validate(root: str | Path, out: str | Path, workers: int = 1, per_song: int = 2, seconds: float = 10.0,
             max_songs: int = 0) -> pd.DataFrame:
    """Rows of every test clip x condition x source (see the module docstring), also written to
    ``<out>/_cache/metrics_validation.csv``."""
    clips = corpus_clips(root, "test", "all", per_song=per_song, seconds=seconds, max_songs=max_songs)
    vocal = parallel_map(_vocal_rows, clips, workers, "vocal f0 (torchcrepe)", chunksize=1)
    jobs = [(i, c, clips[j], vocal[i][0]) for i, (c, j) in enumerate(zip(clips, partners(clips)))]
    rows = [r for part in parallel_map(_clip_rows, jobs, workers, "conditions", chunksize=1) for r in part]
    frame = pd.DataFrame(rows)
    cost = {c.clip_id: v[1:] for c, v in zip(clips, vocal)}
    frame["cpu_vocal_s"] = frame.clip_id.map(lambda c: cost[c][0])
    frame["vocal_note_f1"] = frame.clip_id.map(lambda c: cost[c][1])
    frame["cpu_vocal_model_s"] = frame.clip_id.map(lambda c: cost[c][2])
    path = Path(out) / "_cache" / "metrics_validation.csv"
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))
    return frame


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.music.validate", description=__doc__.splitlines()[0])
    p.add_argument("--root", default="data/chorales")
    p.add_argument("--out", default="results")
    p.add_argument("--workers", type=int, default=1, help="processes (one thread each)")
    p.add_argument("--per-song", type=int, default=2, help="clips per test song")
    p.add_argument("--seconds", type=float, default=10.0, help="clip length (s)")
    p.add_argument("--max-songs", type=int, default=0, help="only the first N test songs (0: all)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the cached rows")
    args = p.parse_args(argv)
    from benchmark.music.report import write_report

    if not args.report_only:
        validate(args.root, args.out, args.workers, args.per_song, args.seconds, args.max_songs)
    for path in write_report(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
