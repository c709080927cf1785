"""Per-stage sampling settings chosen on the validation split (held-out training songs).

``sweep`` generates accompaniments for clips of every validation song with each candidate
setting and scores them by FAD against the clips' true accompaniments (``musicnn`` embeddings,
as the benchmark's default backend) and by rhythm (``hafm.onsets.rhythm_alignment``, the
benchmark's ``rhythm_xcorr``). It runs in two rounds, because the stages interact only one way:
round 1 varies the semantic and coarse stages (the fine stage greedy); round 2 keeps round 1's
best and varies the fine stage. The winner is the lowest-FAD setting among those whose mean
rhythm reaches ``min_rhythm_ratio`` of the true accompaniments' on the same clips, a floor lowered
to the highest rhythm less ``RHYTHM_TOLERANCE`` when that is below it: settings within about two
standard errors of the best are not told apart, whether or not the best reaches the floor.
Why a rhythm floor: FAD alone chose settings that hold one chord for seconds (rhythm 0.17 where
the truth has 0.57; 2026-11-28 sweep), since sustained tonal frames embed close to chorale frames.
Test songs are never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from hafm.config import SamplingConfig
from hafm.frechet import Reference, gaussian_stats, prepare_reference
from hafm.pipeline import length_batches


# Rhythm means over the validation clips differing by less than this are not told apart: the
# standard error of the true accompaniments' mean is 0.018 over 36 clips and 0.010 over 108 (per-clip
# sd 0.105; measured 2026-11-28).
RHYTHM_TOLERANCE = 0.02


@dataclass(frozen=True)
class SweepConfig:
    """The sweep's clips and candidates. Temperatures 0 mean greedy decoding."""

    clip_seconds: float = 10.0  # the benchmark's clip length: generation spans two windows, as there
    max_songs: int = 0  # validation songs used (0: all)
    seed: int = 0
    # Evenly spaced clips per validation song (``validation_clips``): 3 (108 clips) resolves rhythm
    # means to about 0.01 (standard error); one clip per song left top-p 0.7-0.8 and none 0.04 apart.
    clips_per_song: int = 3
    # Default grid: where the 2026-11-28 sweep (36 songs) put its best settings. Coarse temperature
    # 0.9 and coarse guidance 3 lost there in every combination (FAD 43-72 against 24-26); semantic
    # guidance 1 and 2 gave rhythm 0.19-0.20 and 0.28-0.30 against 0.30-0.31 for guidance 3.
    semantic_temperatures: tuple[float, ...] = (0.8, 0.9, 1.0)
    semantic_guidance_scales: tuple[float, ...] = (3.0,)
    # Nucleus sampling of the semantic stage (0: off). Top-p 0.8 raised the rhythm proxy by +0.023
    # [+0.004, +0.041] over 108 validation clips (2026-11-29, results/sampling_top_p); on 36 clips
    # 0.7 and 0.8 gave 0.34-0.35 and 0.9 no more than none (0.31).
    semantic_top_ps: tuple[float, ...] = (0.0, 0.7, 0.8)
    coarse_temperatures: tuple[float, ...] = (0.6,)
    coarse_guidance_scales: tuple[float, ...] = (1.0,)
    fine_temperatures: tuple[float, ...] = (0.0, 0.5)
    # A candidate is eligible when its mean rhythm >= this share of the true accompaniments' rhythm
    # on the same clips: 0.6, the bar (0.35 against a true 0.57) as a share of the truth.
    min_rhythm_ratio: float = 0.6
    top_k: int = 250
    workers: int = 2
    batch: int = 8  # clips generated together (see GenerationPipeline.codes_batch)


def round_one(base: SamplingConfig, cfg: SweepConfig) -> list[SamplingConfig]:
    """Semantic x coarse candidates (temperature and guidance of each, semantic top-p), fine greedy."""
    out = []
    for t_sem, g_sem, p_sem, t_coarse, g_coarse in itertools.product(
            cfg.semantic_temperatures, cfg.semantic_guidance_scales, cfg.semantic_top_ps,
            cfg.coarse_temperatures, cfg.coarse_guidance_scales):
        out.append(dataclasses.replace(base, top_k=cfg.top_k, stage_overrides={
            "semantic": {"temperature": t_sem, "guidance_scale": g_sem, "top_p": p_sem},
            "coarse": {"temperature": t_coarse, "guidance_scale": g_coarse},
            "fine": {"temperature": 0.0}}))
    return out


def round_two(best: SamplingConfig, cfg: SweepConfig) -> list[SamplingConfig]:
    """``best`` with each other fine-stage temperature (unguided: guidance matters least there)."""
    out = []
    for t_fine in cfg.fine_temperatures:
        overrides = {**best.stage_overrides, "fine": {"temperature": t_fine}}
        candidate = dataclasses.replace(best, stage_overrides=overrides)
        if candidate != best:
            out.append(candidate)
    return out


def describe(sampling: SamplingConfig) -> dict[str, float]:
    """Flat ``{stage_setting: value}`` of what each stage samples with (for tables)."""
    return {f"{stage}_{key}": value for stage, values in sampling.effective().items()
            for key, value in values.items() if key in ("temperature", "top_p", "guidance_scale")}


_WORKER: dict = {}


def _init_worker(load_pipeline: Callable) -> None:
    from hafm.runtime import configure_threads

    configure_threads(1)
    _WORKER["pipeline"] = load_pipeline()


def _generate(job: tuple[int, list[int], SamplingConfig, list[np.ndarray], list[int]]
              ) -> tuple[int, list[int], list[np.ndarray]]:
    candidate, indices, sampling, vocals, seeds = job
    pipeline = _WORKER["pipeline"].with_sampling(sampling)
    wavs = pipeline.generate_batch([torch.from_numpy(v)[None] for v in vocals], 24_000, seeds=seeds)
    return candidate, indices, [w[0].numpy() for w in wavs]


def generate_all(load_pipeline: Callable, candidates: Sequence[SamplingConfig], vocals: Sequence[np.ndarray],
                 seed: int, workers: int, batch: int = 8, seeds: Sequence[int] | None = None,
                 on_clip: Callable[[int, int, np.ndarray], None] | None = None) -> list[list[np.ndarray]]:
    """``outputs[c][i]``: candidate ``c`` on clip ``i`` (24 kHz), in ``workers`` processes, clips of
    one length generated ``batch`` at a time (clip ``i`` with seed ``seed + i``, or ``seeds[i]``).
    ``on_clip(c, i, wav)`` is called as each output arrives (e.g. to store it at once)."""
    seeds = [seed + i for i in range(len(vocals))] if seeds is None else list(seeds)
    jobs = [(c, idx, s, [vocals[i] for i in idx], [seeds[i] for i in idx]) for c, s in enumerate(candidates)
            for idx in length_batches([len(v) for v in vocals], batch)]
    outputs: list[list] = [[None] * len(vocals) for _ in candidates]
    with contextlib.ExitStack() as stack:
        if workers <= 1:
            _init_worker(load_pipeline)
            results = map(_generate, jobs)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(workers, initializer=_init_worker,
                                                           initargs=(load_pipeline,)))
            results = pool.map(_generate, jobs)
        bar = stack.enter_context(tqdm(total=len(candidates) * len(vocals), desc="sweep", unit="clip"))
        for candidate, indices, wavs in results:
            for i, wav in zip(indices, wavs):
                outputs[candidate][i] = wav
                if on_clip is not None:
                    on_clip(candidate, i, wav)
            bar.update(len(indices))
    return outputs


def reference_stats(embed: Callable, reference: Sequence[np.ndarray]) -> Reference:
    """The reference Gaussian of 24 kHz clips, frames pooled over clips: embedded once per sweep,
    not once per candidate."""
    frames = np.concatenate([embed(torch.from_numpy(r)) for r in reference])
    return prepare_reference(*gaussian_stats(frames, "validation reference"), n_frames=len(frames))


def score(embed: Callable, reference: Reference, outputs: Sequence[np.ndarray]) -> float:
    """FAD of ``outputs`` (24 kHz clips, frames pooled) against ``reference`` (``reference_stats``)."""
    out = np.concatenate([embed(torch.from_numpy(o)) for o in outputs])
    return reference.distance(*gaussian_stats(out, "generated"))


def mean_rhythm(vocals: Sequence[np.ndarray], accompaniments: Sequence[np.ndarray], sr: int = 24_000) -> float:
    """Mean ``rhythm_alignment`` over clips (vocal ``i`` against accompaniment ``i``, ``[n]`` at ``sr``)."""
    from hafm.onsets import rhythm_alignment

    return float(np.mean([rhythm_alignment(v, a, sr) for v, a in zip(vocals, accompaniments, strict=True)]))


def effective_floor(rows: Sequence[dict], floor: float) -> float:
    """``floor``, lowered to the highest rhythm less ``RHYTHM_TOLERANCE`` when that is below it.

    Rows within the tolerance of the best are not told apart from it, so they stay eligible even
    when only the best reaches ``floor``. When no row reaches ``floor``, falling back to FAD alone
    would pick the settings the floor exists to exclude (2026-11-28, 10 s validation clips: no
    setting reached 0.34, and FAD alone picked unguided semantic sampling at rhythm 0.19).
    """
    return min(floor, max(r["rhythm"] for r in rows) - RHYTHM_TOLERANCE)


def choose(rows: Sequence[dict], floor: float) -> int:
    """Index of the lowest-FAD row whose ``rhythm`` reaches ``effective_floor(rows, floor)``."""
    floor = effective_floor(rows, floor)
    return min((i for i, r in enumerate(rows) if r["rhythm"] >= floor), key=lambda i: rows[i]["fad"])


def sweep(load_pipeline: Callable, base: SamplingConfig, vocals: Sequence[np.ndarray],
          accompaniments: Sequence[np.ndarray], embed: Callable, cfg: SweepConfig
          ) -> tuple[SamplingConfig, list[dict], float]:
    """Both rounds; returns the chosen setting, one row per candidate (round, settings, FAD,
    rhythm, eligible, chosen) and the true accompaniments' mean rhythm on these clips."""
    truth = mean_rhythm(vocals, accompaniments)
    floor = cfg.min_rhythm_ratio * truth
    reference = reference_stats(embed, accompaniments)
    rows: list[dict] = []
    candidates_all: list[SamplingConfig] = []
    best = base
    for round_no, make in ((1, round_one), (2, round_two)):
        candidates = make(best, cfg)
        outputs = generate_all(load_pipeline, candidates, vocals, cfg.seed, cfg.workers, cfg.batch)
        rows += [{"round": round_no, **describe(c), "fad": score(embed, reference, out),
                  "rhythm": mean_rhythm(vocals, out), "eligible": False, "chosen": False}
                 for c, out in zip(candidates, outputs)]
        candidates_all += candidates
        best = candidates_all[choose(rows, floor)]
    final_floor = effective_floor(rows, floor)
    for row in rows:
        row["eligible"] = row["rhythm"] >= final_floor
    rows[candidates_all.index(best)]["chosen"] = True
    return best, rows, truth


def even_starts(vocals: np.ndarray, n: int, count: int) -> list[int]:
    """``count`` clip starts (samples) spread evenly over a song of ``len(vocals)`` samples, clips of ``n``."""
    spare = max(0, len(vocals) - n)
    return [spare * (k + 1) // (count + 1) for k in range(count)]


def validation_clips(root: str, max_songs: int, seconds: float, clips_per_song: int = 1,
                     starts: Callable[[np.ndarray, int, int], list[int]] = even_starts
                     ) -> tuple[list[str], list, list]:
    """Names, vocals and accompaniments ``[n]`` at 24 kHz: ``clips_per_song`` clips of ``seconds``
    from each validation song, where ``starts(vocals, n, count)`` puts them (default evenly spaced;
    one clip: the middle). With more than one clip per song a name is ``<song>@<start>s``;
    ``clip_song`` gives the song back."""
    from hafm.data import musdb_io, splits

    tracks = splits.select(sorted(musdb_io.open_db(root, "train"), key=lambda t: t.name), "validation")
    names, vocals, accomps = [], [], []
    n = int(seconds * 24_000)
    for track in tracks[:max_songs or None]:
        audio = musdb_io.read_track(track, sr=24_000)
        for start in starts(audio.vocals, n, clips_per_song):
            names.append(track.name if clips_per_song == 1 else f"{track.name}@{start / 24_000:.1f}s")
            vocals.append(np.ascontiguousarray(audio.vocals[start:start + n], dtype=np.float32))
            accomps.append(np.ascontiguousarray(audio.accompaniment[start:start + n], dtype=np.float32))
    return names, vocals, accomps


def clip_song(name: str) -> str:
    """The song of a ``validation_clips`` name."""
    return name.rsplit("@", 1)[0] if "@" in name else name
