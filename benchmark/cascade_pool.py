"""Both cascade systems from one token generation per clip, in parallel worker processes.

The two-stage ablation is the three-stage cascade without its fine stage. With the same seed,
``generate_tokens(stages=2)`` draws exactly the coarse codebooks that ``stages=3`` draws before
its fine stage, so one run per clip gives both outputs (codebooks 1-8 and 1-4 decoded) and the
ablation is paired clip by clip. Clips already in the output cache are skipped; each worker
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


def _init_worker(checkpoints: str | None) -> None:
    from hafm.model.cascade import load_cascade
    from hafm.runtime import configure_threads
    from hafm.tokenizers.codec import load_codec
    from hafm.tokenizers.semantic import load_semantic

    configure_threads(1)
    _WORKER.update(cascade=load_cascade(checkpoints or None), semantic=load_semantic(), codec=load_codec())


def cascade_outputs(vocals: np.ndarray, seed: int, cascade, semantic, codec) -> dict[int, np.ndarray]:
    """``{3: three-stage accompaniment, 2: two-stage accompaniment}``, each ``[n]`` at 24 kHz."""
    from hafm.config import SamplingConfig
    from hafm.generate import generate_tokens, vocal_semantic_tokens

    sampling = SamplingConfig()
    generator = torch.Generator().manual_seed(seed)
    wav = torch.from_numpy(vocals).float()[None]
    tokens = vocal_semantic_tokens(wav, SR, semantic, sampling.vocal_noise_std, generator)
    codes = generate_tokens(cascade, tokens, stages=3, sampling=sampling, generator=generator)
    with torch.inference_mode():
        return {k // 4 + 1: codec.decode(codes[None, :k])[0, 0, : len(vocals)].numpy() for k in (8, 4)}


def _work(job: tuple[str, np.ndarray, int]) -> tuple[str, dict[int, np.ndarray]]:
    clip_id, vocals, seed = job
    return clip_id, cascade_outputs(vocals, seed, _WORKER["cascade"], _WORKER["semantic"], _WORKER["codec"])


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
    seeds = {c.clip_id: next(iter(cascades.values())).clip_seed(c.clip_id) for c in todo}
    jobs = [(c.clip_id, c.vocals, seeds[c.clip_id]) for c in todo]
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(checkpoints,)) as pool:
        for clip_id, outputs in tqdm(pool.map(_work, jobs), total=len(jobs), desc="cascade", unit="clip"):
            for stages, system in cascades.items():
                cache.put(system.name, system.identity(), clip_id, outputs[stages])
    return len(todo)
