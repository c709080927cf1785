"""Speed and memory of generation with the ``small`` cascade (random weights: speed does not depend on them).

``python -m tools.perf.generation`` writes ``results/perf/generation.json``:

* ``kv_cache_speedup``: coarse stage, 500-frame prefix, 1,500 generated frames, guidance as
  configured (2 rows). The KV-cache run is timed whole. The recomputing run (every step reruns
  the whole sequence) is timed at ``--recompute-samples`` evenly spaced lengths and integrated over
  the 1,503 steps (trapezoid; sampling costs left out, so the speedup is a lower bound);
  ``--exact-recompute`` times the real ``generate(use_cache=False)`` instead (about 10 minutes).
* ``rtf_10s``: process CPU seconds per second of audio for a 10 s vocal, three stages, default
  sampling (the shipped ``sampling.toml``, as ``hafm generate``), tokenization and decoding included, with the
  time of each part (``rtf_10s_wall``: the wall clock, which a shared machine inflates). It is the
  first clip after loading (``tokenizers_load_cpu_s``: loading the tokenizers, imports included);
  ``rtf_10s_second_clip`` is another 10 s vocal in the same process (what each clip of a batch job costs).
* ``guidance_cost_10s``: CPU seconds of each stage with and without guidance, the measurement
  behind the default ``guidance_stages``.
* ``batch_speedup``: CPU seconds per 10 s clip of the three token stages, clips generated one by
  one vs ``--batch`` clips as one batch (one generator per clip), the measurement behind the
  benchmark's ``batch`` setting.
* ``peak_mem_4min_gb``: peak resident memory (RSS) of a child process generating a 4-minute vocal.

Tokenizers are the shipped ones when present; otherwise stand-ins with the same computation and
random weights (musicnn features + 500 random centroids, MDCT + random 8 x 1024 codebooks); the
JSON says which. Run with one thread (the project's default) on an otherwise idle machine; the
JSON records the load average at the start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from tools.perf.codec import machine
from hafm.config import SamplingConfig, small
from hafm.pipeline import load_sampling
from hafm.errors import MissingWeightsError
from hafm.fileio import atomic_write_json
from hafm.generate import (
    generate_stage,
    generate_tokens,
    semantic_window,
    vocal_onset_stream,
    vocal_semantic_tokens,
    window_grid,
    with_onsets,
)
from hafm.model.cascade import Cascade
from hafm.model.lm import IncrementalDecoder, StageLM
from hafm.tokenizers.alignment import acoustic_from_semantic

TARGETS = {"kv_cache_speedup": 30.0, "rtf_10s": 1.0, "peak_mem_4min_gb": 4.0}


class Stopwatch:
    """Wall-clock and process CPU seconds of a block. With one thread, CPU seconds are what an idle
    machine's wall clock would show (the machine may be shared: both are recorded)."""

    def __enter__(self) -> "Stopwatch":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def synthetic_vocal(seconds: float, sr: int = 44_100, seed: int = 0) -> torch.Tensor:
    """``[1, n]``: a sung-like line (random notes every 0.5 s, vibrato, syllable envelope)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    notes = 220 * 2 ** (rng.integers(0, 12, size=int(seconds * 2) + 1) / 12)
    f0 = notes[(t * 2).astype(int)] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2 * t))
    return torch.from_numpy((0.3 * envelope * np.sin(2 * np.pi * np.cumsum(f0) / sr))[None].astype(np.float32))


def load_tokenizers() -> tuple[object, object, str]:
    """Shipped semantic tokenizer and codec, or same-cost stand-ins with random weights."""
    from hafm.tokenizers.codec import RvqCodec, load_codec
    from hafm.tokenizers.features import FeatureConfig, build_extractor
    from hafm.tokenizers.semantic import KMeansSemanticTokenizer, load_semantic

    try:
        return load_semantic(), load_codec(), "shipped"
    except MissingWeightsError:
        g = torch.Generator().manual_seed(0)
        extractor = build_extractor(FeatureConfig())
        dim = extractor(np.zeros(16_000, dtype=np.float32)).shape[1]
        semantic = KMeansSemanticTokenizer(FeatureConfig(), torch.randn(500, dim, generator=g).numpy(),
                                           np.zeros(dim, np.float32), np.ones(dim, np.float32), extractor=extractor)
        codec = RvqCodec(0.01 * torch.randn(8, 1024, 641, generator=g), {"codec": "logmag-rvq"})
        return semantic, codec, "stand-ins (random weights, same computation)"


def guided_rows(stage: str, sampling: SamplingConfig) -> int:
    """2 when ``stage`` samples with classifier-free guidance (conditional + unconditional rows), else 1."""
    settings = sampling.for_stage(stage)
    return 2 if stage in settings.guidance_stages and settings.guidance_scale != 1.0 else 1


def kv_cache_speedup(lm: StageLM, sampling: SamplingConfig, prefix_frames: int, n_frames: int,
                     samples: int, exact: bool) -> dict:
    """Seconds to generate ``n_frames`` with the KV cache and by recomputing every step."""
    prefix = torch.randint(0, lm.cfg.prefix_vocab, (1, lm.cfg.prefix_streams, prefix_frames))
    generator = torch.Generator().manual_seed(0)
    with Stopwatch() as watch:
        lm.generate(prefix, n_frames, sampling, generator)
    cached = watch.cpu
    steps = n_frames + lm.cfg.target_codebooks - 1
    if exact:
        with Stopwatch() as watch:
            lm.generate(prefix, n_frames, sampling, generator, use_cache=False)
        recompute, method = watch.cpu, "exact"
    else:
        recompute = _integrated_recompute(lm, sampling, prefix_frames, steps, samples)
        method = f"{samples} sampled lengths"
    rows = guided_rows(lm.cfg.name, sampling)
    return {"stage": lm.cfg.name, "rows": rows, "prefix_frames": prefix_frames, "generated_frames": n_frames,
            "steps": steps, "clock": "process CPU seconds", "cached_s": round(cached, 2),
            "cached_ms_per_step": round(1000 * cached / steps, 2),
            "recompute_s": round(recompute, 1), "recompute_method": method,
            "speedup": round(recompute / cached, 1)}


@torch.inference_mode()
def _integrated_recompute(lm: StageLM, sampling: SamplingConfig, prefix_frames: int, steps: int, samples: int) -> float:
    """Sum over the steps of one full recomputation, interpolated from ``samples`` timed lengths."""
    rows = guided_rows(lm.cfg.name, sampling)
    total = prefix_frames + steps
    table = lm.rel_bias.table(total)
    lengths = np.linspace(prefix_frames + 1, total, samples).round().astype(int)
    seconds = []
    for length in lengths:
        x = torch.randn(rows, int(length), lm.cfg.d_model)
        decoder = IncrementalDecoder(lm, table, rows, total, use_cache=False)
        with Stopwatch() as watch:
            decoder(x)
        seconds.append(watch.cpu)
    every_step = np.interp(np.arange(prefix_frames + 1, total + 1), lengths, seconds)
    return float(every_step.sum())


def timed_generation(cascade: Cascade, semantic, codec, vocals: torch.Tensor, sr: int,
                     sampling: SamplingConfig, seed: int = 0) -> dict:
    """Seconds of each part of ``generate_accompaniment`` (same steps, timed one by one)."""
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    generator = torch.Generator().manual_seed(seed)

    def timed(name, fn):
        with Stopwatch() as watch:
            out = fn()
        wall[name], cpu[name] = round(watch.wall, 3), round(watch.cpu, 3)
        return out

    tokens = timed("semantic_tokenizer",
                   lambda: vocal_semantic_tokens(vocals, sr, semantic, sampling.vocal_noise_std, generator))
    onsets = None
    if cascade.semantic.cfg.vocal_onsets or cascade.coarse.cfg.vocal_onsets:
        onsets = timed("onset_stream", lambda: vocal_onset_stream(vocals, sr, tokens.shape[0]))[None]
    n_ac = acoustic_from_semantic(tokens.shape[0])
    grid = window_grid(tokens.shape[0], *semantic_window(sampling))
    accomp = timed("stage1_semantic",
                   lambda: generate_stage(cascade.semantic, with_onsets(cascade.semantic, tokens[None, None], onsets),
                                          tokens.shape[0], grid, sampling, generator))
    pair = with_onsets(cascade.coarse, torch.cat([tokens[None, None], accomp], dim=1), onsets)
    coarse = timed("stage2_coarse", lambda: generate_stage(cascade.coarse, pair, n_ac, grid, sampling, generator))
    fine = timed("stage3_fine", lambda: generate_stage(cascade.fine, coarse, n_ac, grid, sampling, generator))
    with torch.inference_mode():
        timed("codec_decode", lambda: codec.decode(torch.cat([coarse, fine], dim=1)))
    seconds = vocals.shape[1] / sr
    return {"audio_s": seconds, "windows": len(grid), "cpu_s": cpu, "wall_s": wall,
            "rtf": round(sum(cpu.values()) / seconds, 3), "rtf_wall": round(sum(wall.values()) / seconds, 3)}


def guidance_cost(cascade: Cascade, sampling: SamplingConfig, seconds: float = 10.0) -> dict:
    """CPU seconds of each stage for ``seconds`` of audio with guidance (2 rows) and without (1 row)."""
    n_sem = int(seconds * 50)
    lengths = {"semantic": (n_sem, n_sem), "coarse": (n_sem, acoustic_from_semantic(n_sem)),
               "fine": (acoustic_from_semantic(n_sem),) * 2}
    out = {}
    for name, (n_prefix, n_frames) in lengths.items():
        lm = cascade.stage(name)
        prefix = torch.randint(0, lm.cfg.prefix_vocab, (1, lm.cfg.condition_streams, n_prefix))
        row = {}
        for label, stages in (("guided", (name,)), ("conditional_only", ())):
            with Stopwatch() as watch:
                lm.generate(prefix, n_frames, dataclasses.replace(sampling, guidance_stages=stages, stage_overrides={}),
                            torch.Generator().manual_seed(0))
            row[label] = round(watch.cpu, 2)
        out[name] = row
    return out


def batch_throughput(cascade: Cascade, sampling: SamplingConfig, batch: int, seconds: float = 10.0) -> dict:
    """CPU seconds per clip of the token stages: ``batch`` clips one by one, then as one batch."""
    tokens = torch.randint(0, cascade.semantic.cfg.prefix_vocab, (batch, int(seconds * 50)),
                           generator=torch.Generator().manual_seed(0))

    def generators() -> list[torch.Generator]:
        return [torch.Generator().manual_seed(i) for i in range(batch)]

    onsets = (tokens % 40 == 0).long()  # about the corpus' rate of 1.3 onsets a second; unused without onsets
    with Stopwatch() as single:
        for row, onset_row, generator in zip(tokens, onsets, generators()):
            generate_tokens(cascade, row, sampling=sampling, generator=generator, vocal_onsets=onset_row)
    with Stopwatch() as together:
        generate_tokens(cascade, tokens, sampling=sampling, generator=generators(), vocal_onsets=onsets)
    return {"clip_s": seconds, "batch": batch, "clock": "process CPU seconds",
            "one_by_one_s_per_clip": round(single.cpu / batch, 3),
            "batched_s_per_clip": round(together.cpu / batch, 3), "speedup": round(single.cpu / together.cpu, 2)}


def peak_memory_child(seconds: float) -> dict:
    """Run the 4-minute generation in a child process; its peak RSS (ru_maxrss) is the answer."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-m", "tools.perf.generation", "--child-seconds", str(seconds)],
                         check=True, capture_output=True, text=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kb <= before:
        raise RuntimeError("could not read the child's peak memory")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "peak_rss_gb": round(peak_kb / 2**20, 3)}


def child(seconds: float) -> int:
    torch.set_num_threads(1)
    semantic, codec, _ = load_tokenizers()
    cascade = Cascade.from_config(small())
    sr = 44_100
    print(json.dumps(timed_generation(cascade, semantic, codec, synthetic_vocal(seconds, sr), sr, load_sampling())))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--recompute-samples", type=int, default=8,
                        help="sequence lengths timed for the recompute estimate")
    parser.add_argument("--exact-recompute", action="store_true", help="time the whole recomputing generation (slow)")
    parser.add_argument("--long-seconds", type=float, default=240.0, help="vocal length (s) of the peak-memory run")
    parser.add_argument("--batch", type=int, default=8, help="clips per batch of the batch-speedup run")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the 4-minute run")
    parser.add_argument("--out", default="results/perf/generation.json", help="JSON output")
    parser.add_argument("--child-seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_seconds:
        return child(args.child_seconds)

    torch.set_num_threads(1)
    info = machine()
    cfg, sampling = small(), load_sampling()  # the shipped settings (sampling.toml), as `hafm generate`
    cascade = Cascade.from_config(cfg)
    with Stopwatch() as load:
        semantic, codec, tokenizers = load_tokenizers()
        getattr(semantic, "extractor", None)  # the feature network loads on first use: count it here
    kv = kv_cache_speedup(cascade.coarse, sampling, 500, 1500, args.recompute_samples, args.exact_recompute)
    print(f"KV cache: {kv['cached_s']} s vs recompute {kv['recompute_s']} s: {kv['speedup']}x", flush=True)
    sr = 44_100
    rtf = timed_generation(cascade, semantic, codec, synthetic_vocal(10.0, sr), sr, sampling)
    print(f"10 s vocal: RTF {rtf['rtf']} (CPU), {rtf['rtf_wall']} (wall); CPU s {rtf['cpu_s']}", flush=True)
    again = timed_generation(cascade, semantic, codec, synthetic_vocal(10.0, sr, seed=1), sr, sampling, seed=1)
    print(f"second 10 s vocal in the same process: RTF {again['rtf']} (CPU)", flush=True)
    guidance = guidance_cost(cascade, sampling)
    print(f"guided vs conditional-only stage CPU seconds (10 s): {guidance}", flush=True)
    batched = batch_throughput(cascade, sampling, args.batch)
    print(f"batch of {args.batch}: {batched['speedup']}x less CPU per clip than one by one", flush=True)
    long = None if args.skip_memory else peak_memory_child(args.long_seconds)
    if long:
        print(f"{args.long_seconds:.0f} s vocal: peak RSS {long['peak_rss_gb']} GB, RTF {long['rtf']}", flush=True)
    result = {
        "benchmark": "generation speed and memory (small cascade, random weights, 1 thread)",
        "kv_cache_speedup": kv["speedup"], "rtf_10s": rtf["rtf"], "rtf_10s_second_clip": again["rtf"],
        "tokenizers_load_cpu_s": round(load.cpu, 3),
        "peak_mem_4min_gb": None if long is None else long["peak_rss_gb"],
        "rtf_10s_wall": rtf["rtf_wall"], "batch_speedup": batched["speedup"], "batch": batched,
        "targets": TARGETS, "kv_cache": kv, "generation_10s": rtf, "generation_10s_second_clip": again,
        "guidance_cost_10s": guidance,
        "generation_long": long,
        "sampling": {k: v for k, v in vars(sampling).items()}, "tokenizers": tokenizers,
        "parameters": cascade.num_parameters(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": info,
        "threads": torch.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    atomic_write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
