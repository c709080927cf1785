"""Both cascade systems from one token generation per clip, in parallel worker processes.

The two-stage ablation is the three-stage cascade without its fine stage. With the same seed,
the two-stage run draws exactly the coarse codebooks that the three-stage run draws before its
fine stage, so one run per clip (``GenerationPipeline.generate_both``) gives both outputs and
the ablation is paired clip by clip. Clips already in the output cache are skipped; each worker
loads the models once and runs one thread (two threads on a shared core are 5-30x slower) on
batches of clips of one length (``GenerationPipeline.generate_both_batch``: the small stage
models are overhead-bound on a CPU, so a batch of 8 costs about a third per clip of single clips).
Off the CPU (``device``: a GPU) the batches run in this process on the run's own pipeline, which
``python -m benchmark run --device`` has moved there: worker processes would each need the device.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from tqdm import tqdm

from benchmark.cache import OutputCache
from benchmark.systems import SR, CascadeSystem, ClipAudio
from hafm.pipeline import length_batches

_WORKER: dict = {}


def _init_worker(checkpoints: str | None, expected_identity: str) -> None:
    from hafm.pipeline import GenerationPipeline
    from hafm.runtime import configure_threads

    configure_threads(1)
    pipeline = GenerationPipeline.load(checkpoints)
    if pipeline.identity() != expected_identity:  # e.g. a sampling.toml edited mid-run
        raise RuntimeError(f"worker pipeline {pipeline.identity()} differs from the run's {expected_identity}")
    _WORKER["pipeline"] = pipeline


Job = tuple[str, np.ndarray, int]  # clip id, vocals [n] at SR, seed


def _generate(pipeline, batch: list[Job]) -> list[tuple[str, dict[int, np.ndarray]]]:
    ids, vocals, seeds = zip(*batch)
    outputs = pipeline.generate_both_batch([torch.from_numpy(v).float()[None] for v in vocals], SR, seeds=list(seeds))
    return [(clip_id, {stages: wav[0, : len(v)].numpy() for stages, wav in out.items()})
            for clip_id, v, out in zip(ids, vocals, outputs)]


def _work(batch: list[Job]) -> list[tuple[str, dict[int, np.ndarray]]]:
    return _generate(_WORKER["pipeline"], batch)


def _results(jobs: list[list[Job]], pipeline, checkpoints: str | None, workers: int, device: torch.device):
    """Generated clips, batch by batch: in worker processes on the CPU, else in this process."""
    if device.type != "cpu":
        yield from (_generate(pipeline, batch) for batch in jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                             initargs=(checkpoints, pipeline.identity())) as pool:
        yield from pool.map(_work, jobs)


def precompute(systems: list, clips: list[ClipAudio], cache: OutputCache, checkpoints: str | None,
               workers: int = 2, batch: int = 8, device: torch.device | None = None) -> int:
    """Fill the cache for the cascade systems in ``systems``; returns the number of clips generated.

    ``device`` None or the CPU: ``workers`` processes; another device: the systems' own pipeline
    (already on that device) in this process."""
    cascades = {s.stages: s for s in systems if isinstance(s, CascadeSystem)}
    if not cascades:
        return 0
    todo = [c for c in clips
            if any(cache.get(s.name, s.identity(), c.clip_id) is None for s in cascades.values())]
    if not todo:
        return 0
    first = next(iter(cascades.values()))
    jobs = [[(todo[i].clip_id, todo[i].vocals, first.clip_seed(todo[i].clip_id)) for i in indices]
            for indices in length_batches([len(c.vocals) for c in todo], batch)]
    device = torch.device("cpu") if device is None else device
    with tqdm(total=len(todo), desc="cascade", unit="clip") as bar:
        for results in _results(jobs, first.pipeline, checkpoints, workers, device):
            for clip_id, outputs in results:
                for stages, system in cascades.items():
                    cache.put(system.name, system.identity(), clip_id, outputs[stages])
            bar.update(len(results))
    return len(todo)
