"""Both cascade systems from one token generation per clip, in parallel worker processes.

The two-stage ablation is the three-stage cascade without its fine stage. With the same seed,
the two-stage run draws exactly the coarse codebooks that the three-stage run draws before its
fine stage, so one run per clip (``GenerationPipeline.generate_both``) gives both outputs and
the ablation is paired clip by clip. Clips already in the output cache are skipped; each worker
loads the models once and runs one thread (two threads on a shared core are 5-30x slower).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from tqdm import tqdm

from benchmark.cache import OutputCache
from benchmark.systems import SR, CascadeSystem, ClipAudio

_WORKER: dict = {}


def _init_worker(checkpoints: str | None, expected_identity: str) -> None:
    from hafm.pipeline import GenerationPipeline
    from hafm.runtime import configure_threads

    configure_threads(1)
    pipeline = GenerationPipeline.load(checkpoints)
    if pipeline.identity() != expected_identity:  # e.g. a sampling.toml edited mid-run
        raise RuntimeError(f"worker pipeline {pipeline.identity()} differs from the run's {expected_identity}")
    _WORKER["pipeline"] = pipeline


def _work(job: tuple[str, np.ndarray, int]) -> tuple[str, dict[int, np.ndarray]]:
    clip_id, vocals, seed = job
    outputs = _WORKER["pipeline"].generate_both(torch.from_numpy(vocals).float()[None], SR, seed=seed)
    return clip_id, {stages: wav[0, : len(vocals)].numpy() for stages, wav in outputs.items()}


def precompute(systems: list, clips: list[ClipAudio], cache: OutputCache, checkpoints: str | None,
               workers: int = 2) -> int:
    """Fill the cache for the cascade systems in ``systems``; returns the number of clips generated."""
    cascades = {s.stages: s for s in systems if isinstance(s, CascadeSystem)}
    if not cascades:
        return 0
    todo = [c for c in clips
            if any(cache.get(s.name, s.identity(), c.clip_id) is None for s in cascades.values())]
    if not todo:
        return 0
    first = next(iter(cascades.values()))
    jobs = [(c.clip_id, c.vocals, first.clip_seed(c.clip_id)) for c in todo]
    initargs = (checkpoints, first.pipeline.identity())
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=initargs) as pool:
        for clip_id, outputs in tqdm(pool.map(_work, jobs), total=len(jobs), desc="cascade", unit="clip"):
            for stages, system in cascades.items():
                cache.put(system.name, system.identity(), clip_id, outputs[stages])
    return len(todo)
