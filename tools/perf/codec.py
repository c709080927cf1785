"""Speed of the acoustic codec: encode + decode throughput as a multiple of real time.

``python -m tools.perf.codec [--codec default] [--seconds 60] [--threads 1 2]`` encodes a
deterministic synthetic clip (harmonic notes plus noise, 24 kHz mono) and decodes it with 4 and 8
codebooks, repeats each step and keeps the median time, for each thread count, and writes
``results/perf/codec.json`` with the machine, the date and the load average at the start (the
machine may be shared: read the numbers with it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from hafm.fileio import atomic_write_json
from hafm.tokenizers.alignment import ACOUSTIC_SR

# encode + decode (8 codebooks), on 2 cores: "well above real time". The log-magnitude default rebuilds
# the phase by Griffin-Lim (32 iterations), so it is far slower than the MDCT codec's one matrix product.
TARGET_X_REALTIME = 10.0


def synthetic_clip(seconds: float, seed: int = 0) -> torch.Tensor:
    """``[1, 1, n]`` at 24 kHz: random harmonic notes every 0.25 s plus faint noise."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * ACOUSTIC_SR)
    step = ACOUSTIC_SR // 4
    t = torch.arange(step) / ACOUSTIC_SR
    notes = []
    for _ in range(-(-n // step)):
        f = 110.0 * 2 ** (torch.randint(0, 36, (1,), generator=g).item() / 12)
        notes.append(sum(torch.sin(2 * torch.pi * f * h * t) / h for h in range(1, 6)) * torch.exp(-t / 0.2))
    wav = 0.2 * torch.cat(notes)[:n] + 0.005 * torch.randn(n, generator=g)
    return wav[None, None]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, lazy basis construction)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(codec, wav: torch.Tensor, threads: int, repeats: int) -> dict:
    """Median seconds and x-real-time of encode, decode(4), decode(8) and encode + decode(8)."""
    torch.set_num_threads(threads)
    seconds = wav.shape[-1] / ACOUSTIC_SR
    codes = codec.encode(wav)
    encode_s = _median_seconds(lambda: codec.encode(wav), repeats)
    decode4_s = _median_seconds(lambda: codec.decode(codes[:, :4]), repeats)
    decode8_s = _median_seconds(lambda: codec.decode(codes), repeats)
    return {
        "threads": threads,
        "encode_s": round(encode_s, 4),
        "decode4_s": round(decode4_s, 4),
        "decode8_s": round(decode8_s, 4),
        "encode_x_realtime": round(seconds / encode_s, 1),
        "decode8_x_realtime": round(seconds / decode8_s, 1),
        "encode_decode8_x_realtime": round(seconds / (encode_s + decode8_s), 1),
    }


def machine() -> dict:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    return {
        "cpu": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--codec", nargs="+", default=["logmag", "mdct"],
                        help="codec names or paths (see hafm.tokenizers.codec.load_codec), measured side by side")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test clip (s)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to measure")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per step (median kept)")
    parser.add_argument("--out", default="results/perf/codec.json", help="JSON output")
    args = parser.parse_args(argv)

    from hafm.tokenizers.codec import load_codec

    wav = synthetic_clip(args.seconds)
    info = machine()
    runs = []
    for name in args.codec:
        codec = load_codec(name)
        runs += [{"codec": name, "codec_identity": codec.identity(), **measure(codec, wav, threads, args.repeats)}
                 for threads in args.threads]
    result = {
        "benchmark": "codec encode + decode throughput",
        "clip_seconds": args.seconds,
        "target_encode_decode8_x_realtime_on_2_cores": TARGET_X_REALTIME,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": info,
        "runs": runs,
    }
    atomic_write_json(args.out, result)
    for run in runs:
        print(f"{run['codec']}, {run['threads']} thread(s): encode {run['encode_x_realtime']}x, "
              f"decode(8) {run['decode8_x_realtime']}x, "
              f"encode+decode(8) {run['encode_decode8_x_realtime']}x real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
