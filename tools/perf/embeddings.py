"""Speed of the FAD embedding backends, and what the fast ``musicnn`` mode changes.

    python -m tools.perf.embeddings [--root data/chorales] [--out results/perf/embeddings.json]

Seconds per 10 s clip at 24 kHz (the benchmark's clips; resampling and log-mel included), on one
thread, for every backend and mode side by side in one run:
  * ``musicnn`` windows (the default: one front/mid-end pass per clip, back end on 15 windows),
    and exact patches (upstream: the network on 15 overlapping patches) one per pass or 16;
  * ``musicnn_vgg`` at the 1.5 s hop (default, 5 patches) and the old 0.5 s hop (15 patches),
    one patch per pass or all of a clip's patches in one pass;
  * the whole-clip front/mid end of 8 clips stacked in one pass, per clip, against one clip per
    pass (whether batching across clips pays);
  * ``vggish`` with random weights (the speed does not depend on the values) when its release
    weights are absent.
Times: process CPU seconds (what the work costs; the machine is shared) and wall seconds, each
the minimum over repeats of the mean over the timing clips.

Differences, on ``--clips`` clips cut from the corpus' test split (accompaniment and mix, as the
runner embeds them; a synthetic melody when ``--root`` is missing): per-frame cosine similarity
between windows and exact patches, and the FAD between the two sets of embeddings of the same
clips next to the split-half FAD of the exact embeddings (two disjoint halves of the clips, a
floor that any real difference between systems must clear). The same for ``musicnn_vgg`` at the
1.5 s against the 0.5 s hop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmark.embeddings import Backend, get_backend
from hafm.frechet import frechet_distance, gaussian_stats
from hafm.fileio import atomic_write_json
from hafm.runtime import configure_threads

SR = 24_000  # the benchmark's clip rate (benchmark.systems.SR)
CLIP_S = 10.0


def corpus_clips(root: Path, n_clips: int) -> tuple[list[np.ndarray], str]:
    """``n_clips`` 10 s clips [n] at 24 kHz: accompaniment and mix from the middle of test tracks."""
    if not root.exists():
        return synthetic_clips(n_clips), "synthetic melodies (corpus not found)"
    from hafm.data.musdb_io import iter_tracks

    n = int(CLIP_S * SR)
    clips: list[np.ndarray] = []
    for track in iter_tracks(root, "test", sr=SR):
        if len(track.vocals) < n:
            continue
        start = (len(track.vocals) - n) // 2
        accomp = track.accompaniment[start:start + n]
        clips += [accomp, accomp + track.vocals[start:start + n]]
        if len(clips) >= n_clips:
            break
    return [c.astype(np.float32) for c in clips[:n_clips]], f"{root} test split, middle 10 s, accompaniment and mix"


def synthetic_clips(n_clips: int, seed: int = 0) -> list[np.ndarray]:
    """Decaying sine notes on a random beat and scale: a stand-in when no corpus is present."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(CLIP_S * SR)) / SR
    clips = []
    for _ in range(n_clips):
        beat = rng.uniform(0.3, 0.7)
        pitch = 48 + rng.integers(0, 24, size=int(CLIP_S / beat) + 1)
        f = 440.0 * 2 ** ((pitch[(t // beat).astype(int)] - 69) / 12)
        clips.append((0.3 * np.sin(2 * np.pi * f * t) * np.exp(-(t % beat) / 0.15)).astype(np.float32))
    return clips


def seconds_per_clip(fn: Callable[[np.ndarray], object], clips: list[np.ndarray], repeats: int) -> dict:
    """Minimum over ``repeats`` of the mean CPU and wall seconds of ``fn(clip)`` over ``clips``."""
    cpu, wall = [], []
    fn(clips[0])  # warm-up: lazy loads, allocator
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        for clip in clips:
            fn(clip)
        cpu.append((time.process_time() - c) / len(clips))
        wall.append((time.perf_counter() - w) / len(clips))
    return {"cpu_s": min(cpu), "wall_s": min(wall)}


def vggish_backend() -> tuple[Backend, str]:
    from benchmark import vggish
    from hafm.errors import MissingWeightsError

    try:
        vggish.find_weights()
        return get_backend("vggish"), "release weights"
    except MissingWeightsError:
        torch.manual_seed(0)
        return get_backend("vggish", model=vggish.VGGish().eval()), "random weights (release file absent)"


def front_end_batching(model: torch.nn.Module, clips: list[np.ndarray], batch: int, repeats: int) -> dict:
    """CPU seconds per clip of the whole-clip front/mid end, ``batch`` clips stacked in one pass
    against one clip per pass (log-mel precomputed: only the network is timed)."""
    from hafm.audio import resample
    from hafm.musicnn import log_mel

    mels = torch.stack([torch.from_numpy(log_mel(resample(c, SR, 16_000)))
                        for c in clips[:batch]])
    with torch.inference_mode():
        one = seconds_per_clip(lambda m: model.frame_features(m[None]), list(mels), repeats)
        stacked = seconds_per_clip(lambda m: model.frame_features(m), [mels], repeats)
    return {"one_clip_per_pass": one, f"{batch}_clips_per_pass": {k: v / batch for k, v in stacked.items()},
            "n_clips": int(mels.shape[0])}


def timing_modes() -> dict[str, tuple[Callable[[np.ndarray], object], str]]:
    """Mode name -> (embed one clip, what it is)."""
    musicnn = get_backend("musicnn")
    model = musicnn.network()
    vgg_model = get_backend("musicnn_vgg").network()
    vggish, vggish_note = vggish_backend()

    def embed_with(backend: Backend) -> Callable[[np.ndarray], object]:
        return lambda clip: backend.embed(clip, SR)

    return {
        "musicnn/windows (default)": (embed_with(musicnn), "one front/mid-end pass, 15 windows"),
        "musicnn/exact_patches batch 1": (embed_with(get_backend("musicnn", exact_patches=True, model=model)),
                                          "15 patches, one per pass"),
        "musicnn/exact_patches batch 16 (before)": (
            embed_with(get_backend("musicnn", exact_patches=True, batch_size=16, model=model)),
            "15 patches in one pass (the previous code)"),
        "musicnn_vgg/hop 1.5 s batch 1 (default)": (embed_with(get_backend("musicnn_vgg", model=vgg_model)),
                                                    "5 patches, one per pass"),
        "musicnn_vgg/hop 1.5 s batch 16": (
            embed_with(get_backend("musicnn_vgg", batch_size=16, model=vgg_model)), "5 patches in one pass"),
        "musicnn_vgg/hop 0.5 s batch 1": (embed_with(get_backend("musicnn_vgg", hop_s=0.5, model=vgg_model)),
                                          "15 patches, one per pass"),
        "musicnn_vgg/hop 0.5 s batch 16 (before)": (
            embed_with(get_backend("musicnn_vgg", hop_s=0.5, batch_size=16, model=vgg_model)),
            "15 patches in one pass (the previous code)"),
        "vggish": (embed_with(vggish), f"0.96 s examples, {vggish_note}"),
    }


def split_half_fad(frames_per_clip: list[np.ndarray]) -> float:
    """FAD between the frames of the even and the odd clips: the sampling floor at this size."""
    even = np.concatenate(frames_per_clip[0::2])
    odd = np.concatenate(frames_per_clip[1::2])
    return frechet_distance(*gaussian_stats(even), *gaussian_stats(odd))


def compare(reference: list[np.ndarray], other: list[np.ndarray]) -> dict:
    """FAD(reference frames, other frames) of the same clips, its split-half floor, and, when the
    frames pair up one to one, their cosine similarity."""
    out = {"fad": frechet_distance(*gaussian_stats(np.concatenate(reference)), *gaussian_stats(np.concatenate(other))),
           "fad_split_half_floor_of_reference": split_half_fad(reference),
           "frames_reference": int(sum(len(r) for r in reference)), "frames_other": int(sum(len(o) for o in other))}
    if all(len(r) == len(o) for r, o in zip(reference, other, strict=True)):
        a, b = np.concatenate(reference), np.concatenate(other)
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
        out.update({"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                    "cosine_p01": float(np.quantile(cos, 0.01)),
                    "relative_l2_mean": float(np.mean(np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)))})
    return out


def differences(clips: list[np.ndarray]) -> dict:
    musicnn = get_backend("musicnn")
    exact = get_backend("musicnn", exact_patches=True, model=musicnn.network())
    vgg = get_backend("musicnn_vgg")
    vgg_fine = get_backend("musicnn_vgg", hop_s=0.5, model=vgg.network())

    def embed_all(backend: Backend) -> list[np.ndarray]:
        return [backend.embed(c, SR) for c in clips]

    with warnings.catch_warnings():  # split halves with fewer frames than dims: FewFramesWarning (floor biased up)
        warnings.simplefilter("ignore")
        return {"musicnn windows vs exact_patches": compare(embed_all(exact), embed_all(musicnn)),
                "musicnn_vgg hop 1.5 s vs 0.5 s": compare(embed_all(vgg_fine), embed_all(vgg))}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def run(root: Path, n_clips: int, timing_clips: int, repeats: int) -> dict:
    configure_threads(1)
    load_at_start = list(os.getloadavg())
    clips, source = corpus_clips(root, max(n_clips, timing_clips, 8))
    timed = {name: {**seconds_per_clip(fn, clips[:timing_clips], repeats), "what": what}
             for name, (fn, what) in timing_modes().items()}
    model = get_backend("musicnn").network()
    return {
        "seconds_per_10s_clip": timed,
        "cross_clip_batching_musicnn_front_mid_end": front_end_batching(model, clips, 8, repeats),
        "differences": differences(clips[:n_clips]),
        "clips": {"source": source, "n_for_differences": min(n_clips, len(clips)), "n_for_timing": timing_clips,
                  "seconds": CLIP_S, "sample_rate": SR, "repeats": repeats},
        "threads": torch.get_num_threads(),
        "machine": {"platform": platform.platform(), "processor": _cpu_model(), "cpus": os.cpu_count(),
                    "loadavg_at_start": load_at_start, "loadavg_at_end": list(os.getloadavg()),
                    "torch": torch.__version__},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FAD embedding speed per 10 s clip, and the fast mode's effect",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("data/chorales"), help="corpus (MUSDB layout)")
    parser.add_argument("--out", type=Path, default=Path("results/perf/embeddings.json"), help="result JSON")
    parser.add_argument("--clips", type=int, default=60, help="clips for the difference measures")
    parser.add_argument("--timing-clips", type=int, default=4, help="clips per timing repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (the minimum is kept)")
    args = parser.parse_args(argv)
    result = run(args.root, args.clips, args.timing_clips, args.repeats)
    atomic_write_json(args.out, result)
    for name, t in result["seconds_per_10s_clip"].items():
        print(f"{name:45s} {t['cpu_s']:.3f} s CPU  {t['wall_s']:.3f} s wall per 10 s clip")
    for name, d in result["differences"].items():
        cos = f"cosine mean {d['cosine_mean']:.4f} (min {d['cosine_min']:.4f}); " if "cosine_mean" in d else ""
        print(f"{name}: {cos}FAD {d['fad']:.4g} vs split-half floor {d['fad_split_half_floor_of_reference']:.4g}")
    print(f"load average {result['machine']['loadavg_at_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
