"""Speed of the Fréchet distance: scipy's sqrtm against the eigh routes, and the bootstrap CI.

    python -m tools.perf.frechet [--out results/perf/frechet.json]

Per FAD at each d, on the same statistics (n = 10 d well-conditioned frames per side):
  * ``scipy_sqrtm``: the textbook route, ``trace(scipy.linalg.sqrtm(S1 @ S2))`` on real input;
  * ``package_complex_sqrtm``: frechet-audio-distance's route (the product cast to complex first);
  * ``eigh_one_shot``: ``frechet_distance`` (eigen-decomposes S1 on every call);
  * ``eigh_prepared_reference``: ``Reference.distance`` with S1's square root computed once;
  * ``bootstrap_resample``: one resample inside ``fad`` (``SongStats.fad`` on 20 songs whose
    statistics, already projected into the reference's basis, are built once per system).
  * ``bootstrap_few_frames``: the benchmark's shape (musicnn d = 753, 50 songs x 6 frames: fewer
    frames than dimensions, so every resample is singular), a 1,000-resample CI through the frame
    Gram matrix vs through an SVD of the drawn frames (``GRAM_MAX_FRAMES = 0``), side by side.
Times are the minimum over repeats (the machine is shared). Targets: >= 10x faster than sqrtm
per FAD at d = 128 and 1024; a 1,000-resample bootstrap CI at d = 200 in < 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import scipy
from threadpoolctl import threadpool_limits

import benchmark.fad as fad_module
from benchmark.fad import fad, song_stats
from hafm.frechet import frechet_distance, gaussian_stats, prepare_reference
from tools.parity import make_embeddings, sqrtm_distance
from hafm.fileio import atomic_write_json

DIMS = (128, 200, 512, 1024)
BOOTSTRAP = {"d": 200, "songs": 50, "frames_per_song": 15, "n_resamples": 1000}
FEW_FRAMES = {"d": 753, "songs": 50, "frames_per_song": 6, "n_resamples": 1000}


def best_time(fn: Callable[[], object], min_total_s: float = 1.0, min_repeats: int = 3) -> float:
    """Minimum wall time of ``fn()`` in seconds over repeats lasting at least ``min_total_s``."""
    times: list[float] = []
    while len(times) < min_repeats or sum(times) < min_total_s:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def package_route(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """What frechet-audio-distance 0.3.4 computes: sqrtm of the product cast to complex."""
    covmean = scipy.linalg.sqrtm((s1 @ s2).astype(complex))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean).real)


def per_fad_times(d: int, seed: int) -> dict:
    """Seconds per FAD for each route at dimension d, and ours' relative error against sqrtm."""
    ref_frames, eval_frames = make_embeddings(d, "well", seed)
    mu1, s1 = gaussian_stats(ref_frames)
    mu2, s2 = gaussian_stats(eval_frames)
    ref = prepare_reference(mu1, s1, n_frames=len(ref_frames))
    songs = np.array_split(eval_frames, 20)
    stats = song_stats(ref, songs)  # built once per system, outside the resampling loop
    weights = np.bincount(np.random.default_rng(seed).integers(0, 20, 20), minlength=20).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = {
            "scipy_sqrtm": best_time(lambda: sqrtm_distance(mu1, s1, mu2, s2)),
            "package_complex_sqrtm": best_time(lambda: package_route(mu1, s1, mu2, s2)),
            "eigh_one_shot": best_time(lambda: frechet_distance(mu1, s1, mu2, s2)),
            "eigh_prepared_reference": best_time(lambda: ref.distance(mu2, s2)),
            "bootstrap_resample": best_time(lambda: stats.fad(ref, weights)),
        }
        exact = sqrtm_distance(mu1, s1, mu2, s2)
        errors = [abs(v - exact) / exact for v in (frechet_distance(mu1, s1, mu2, s2), ref.distance(mu2, s2),
                                                   stats.fad(ref, np.ones(20)))]
    return {"seconds": times, "max_rel_err": max(errors)}


def bootstrap_seconds(threads: int, seed: int = 0) -> dict:
    """Wall and process CPU time of ``fad`` with a 1,000-resample CI at d = 200 (50 songs x 15
    frames, reference prepared). CPU time shows the work when other jobs share the cores."""
    rng = np.random.default_rng(seed)
    d = BOOTSTRAP["d"]
    ref_frames, _ = make_embeddings(d, "well", seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    songs = {f"song{i}": rng.standard_normal((BOOTSTRAP["frames_per_song"], d)) @ mix
             for i in range(BOOTSTRAP["songs"])}
    ref = prepare_reference(*gaussian_stats(ref_frames))
    with threadpool_limits(threads):
        wall, cpu = time.perf_counter(), time.process_time()
        fad(ref, songs, n_resamples=BOOTSTRAP["n_resamples"])
        return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def bootstrap_few_frames(seed: int = 0) -> dict:
    """CPU seconds of a 1,000-resample ``fad`` with fewer frames than dimensions (``FEW_FRAMES``),
    Gram route vs SVD route, one thread, and the largest relative difference of value and CI."""
    rng = np.random.default_rng(seed)
    d, rank = FEW_FRAMES["d"], 64  # low-rank frames, as musicnn's: most variance in few directions
    basis = rng.standard_normal((rank, d))
    ref = prepare_reference(*gaussian_stats(rng.standard_normal((4000, rank)) @ basis
                                            + 0.1 * rng.standard_normal((4000, d))))
    n = FEW_FRAMES["frames_per_song"]
    songs = {f"song{i}": rng.standard_normal((n, rank)) @ basis + 0.2 + 0.1 * rng.standard_normal((n, d))
             for i in range(FEW_FRAMES["songs"])}
    out, results = {}, {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for route, limit in (("svd", 0), ("gram", fad_module.GRAM_MAX_FRAMES)):
            original, fad_module.GRAM_MAX_FRAMES = fad_module.GRAM_MAX_FRAMES, limit
            try:
                cpu = time.process_time()
                results[route] = fad(ref, songs, n_resamples=FEW_FRAMES["n_resamples"])
                out[f"{route}_cpu_s"] = time.process_time() - cpu
            finally:
                fad_module.GRAM_MAX_FRAMES = original
    a, b = results["svd"], results["gram"]
    out["speedup"] = out["svd_cpu_s"] / out["gram_cpu_s"]
    out["max_rel_diff"] = max(abs(x - y) / abs(x) for x, y in ((a.value, b.value), (a.ci_low, b.ci_low),
                                                               (a.ci_high, b.ci_high)))
    return {**out, **FEW_FRAMES}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(dims: tuple[int, ...]) -> dict:
    load_at_start = list(os.getloadavg())
    with threadpool_limits(1):
        per_d = [per_fad_times(d, seed=d) for d in dims]
    routes = ("eigh_one_shot", "eigh_prepared_reference", "bootstrap_resample")
    return {
        "d": list(dims),
        "ms_per_fad": {route: [1e3 * r["seconds"][route] for r in per_d]
                       for route in ("scipy_sqrtm", "package_complex_sqrtm", *routes)},
        "speedup_vs_sqrtm": {route: [r["seconds"]["scipy_sqrtm"] / r["seconds"][route] for r in per_d]
                             for route in routes},
        "speedup_vs_package_complex_sqrtm": {
            route: [r["seconds"]["package_complex_sqrtm"] / r["seconds"][route] for r in per_d] for route in routes},
        "max_rel_err": max(r["max_rel_err"] for r in per_d),
        "bootstrap_1000_s": {"threads_1": bootstrap_seconds(1), "threads_2": bootstrap_seconds(2), **BOOTSTRAP},
        "bootstrap_few_frames": bootstrap_few_frames(),
        "threads_per_fad": 1,
        "targets": {"speedup_vs_sqrtm": ">= 10 at d = 128 and 1024", "bootstrap_1000_s": "< 5 s on 2 cores"},
        "machine": {"platform": platform.platform(), "processor": _cpu_model(),
                    "cpus": os.cpu_count(), "loadavg_at_start": load_at_start, "loadavg_at_end": list(os.getloadavg()),
                    "numpy": np.__version__, "scipy": scipy.__version__},
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fréchet distance speed: sqrtm vs eigh routes, bootstrap CI",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/perf/frechet.json"), help="result JSON")
    parser.add_argument("--dims", type=int, nargs="+", default=list(DIMS), help="embedding dimensions")
    args = parser.parse_args(argv)
    result = run(tuple(args.dims))
    atomic_write_json(args.out, result)
    for i, d in enumerate(result["d"]):
        speed = ", ".join(f"{k} {v[i]:.1f}x" for k, v in result["speedup_vs_sqrtm"].items())
        print(f"d={d}: sqrtm {result['ms_per_fad']['scipy_sqrtm'][i]:.1f} ms; {speed}")
    boot = result["bootstrap_1000_s"]
    print(f"max rel err {result['max_rel_err']:.1e}; bootstrap 1000 at d=200: "
          f"1 thread {boot['threads_1']['wall_s']:.2f} s wall ({boot['threads_1']['cpu_s']:.2f} s CPU), "
          f"2 threads {boot['threads_2']['wall_s']:.2f} s wall ({boot['threads_2']['cpu_s']:.2f} s CPU); "
          f"load average {result['machine']['loadavg_at_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
