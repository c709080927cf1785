"""Turn a MUSDB18(-HQ) tree into token shards: semantic tokens of vocals and accompaniment, codec
codes of the accompaniment and the vocal's onset stream, resumably and in parallel (one tokenizer
pair per worker process).

A shard is rebuilt when it is missing, unreadable, from another shard version, from other source
audio (sha256 of the stem files), from other tokenizers (their ``identity()``) or another onset
detector (``hafm.onsets.ONSET_ID``); otherwise it is kept. A rebuild keeps the token arrays whose
tokenizer did not change. Throughput is reported in seconds of song per wall-clock second.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hafm.data.shards import SHARD_VERSION, is_fresh, reusable_arrays, save_shard, shard_path
from hafm.errors import HafmError
from hafm.fileio import atomic_write_json, sha256_file, sha256_json
from hafm.onsets import ONSET_ID, onset_stream
from hafm.tokenizers.alignment import ACOUSTIC_SR, SEMANTIC_SR, block_samples, padded_length

CodecFactory = Callable[[], object]  # () -> AcousticCodec
SemanticFactory = Callable[[], object]  # () -> SemanticTokenizer


def _to_rate(wav: np.ndarray, sr: int, target_sr: int, n_out: int):
    """``[n]`` at ``sr`` -> ``torch [1, 1, n_out]`` at ``target_sr`` (n_out fixed by the 40 ms rule)."""
    import torch

    from hafm.audio import resample

    x = torch.from_numpy(resample(np.asarray(wav, dtype=np.float32), sr, target_sr))
    if x.shape[0] < n_out:  # sinc resampling may round the length down by a sample
        x = torch.nn.functional.pad(x, (0, n_out - x.shape[0]))
    return x[:n_out].reshape(1, 1, n_out)


def tokenize_pair(vocals: np.ndarray, accompaniment: np.ndarray, sr: int, codec, semantic,
                  known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Tokens of one song: vocals/accompaniment ``[n]`` at ``sr`` Hz -> the shard's arrays.

    Both waveforms are zero-padded to whole 40 ms blocks first, so ``T_s = 2 k`` and
    ``T_a = 3 k`` for ``k`` blocks; a tokenizer that returns another length is refused.
    ``known`` holds arrays of this audio made by these tokenizers (``semantic_vocals`` and
    ``semantic_accomp``, ``acoustic_accomp``): their tokenizer is skipped.
    """
    import torch

    known = known or {}
    n = len(vocals)
    if len(accompaniment) != n:
        raise HafmError(f"vocals ({n}) and accompaniment ({len(accompaniment)}) differ in length")
    n_blocks = padded_length(n, sr) // block_samples(sr)
    pad = n_blocks * block_samples(sr) - n
    vocals, accompaniment = (np.pad(w, (0, pad)) for w in (vocals, accompaniment))
    n16, n24 = n_blocks * block_samples(SEMANTIC_SR), n_blocks * block_samples(ACOUSTIC_SR)
    vocals_16k = _to_rate(vocals, sr, SEMANTIC_SR, n16)
    with torch.inference_mode():
        if "semantic_vocals" in known:
            sem_v, sem_a = (torch.from_numpy(known[k].astype(np.int64))
                            for k in ("semantic_vocals", "semantic_accomp"))
        else:
            sem_v = semantic.encode(vocals_16k)[0]
            sem_a = semantic.encode(_to_rate(accompaniment, sr, SEMANTIC_SR, n16))[0]
        if "acoustic_accomp" in known:
            codes = torch.from_numpy(known["acoustic_accomp"].astype(np.int64))
        else:
            codes = codec.encode(_to_rate(accompaniment, sr, ACOUSTIC_SR, n24))[0]
    if sem_v.shape[-1] != 2 * n_blocks or sem_a.shape[-1] != 2 * n_blocks:
        raise HafmError(
            f"semantic tokenizer {semantic.identity()} returned {sem_v.shape[-1]} frames for {n_blocks} "
            f"40 ms blocks; expected {2 * n_blocks}"
        )
    if tuple(codes.shape) != (codec.n_codebooks, 3 * n_blocks):
        raise HafmError(
            f"codec {codec.identity()} returned codes {tuple(codes.shape)} for {n_blocks} 40 ms blocks; "
            f"expected ({codec.n_codebooks}, {3 * n_blocks})"
        )
    return {
        "semantic_vocals": sem_v.cpu().numpy().astype(np.int16),
        "semantic_accomp": sem_a.cpu().numpy().astype(np.int16),
        "acoustic_accomp": codes.cpu().numpy().astype(np.int16),
        "onset_vocals": onset_stream(vocals_16k.reshape(-1).numpy(), 2 * n_blocks).astype(np.int16),
    }


def source_sha256(track) -> str:
    """Hash of the files a musdb track is read from (4 wav stems, or the one .stem.mp4)."""
    if not track.is_wav:
        return sha256_file(track.path)
    return sha256_json({name: sha256_file(src.path) for name, src in sorted(track.sources.items())})


# one tokenizer pair per worker process, built once by the pool initializer
_WORKER: dict = {}


def _init_worker(make_codec: CodecFactory, make_semantic: SemanticFactory) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    from hafm.runtime import configure_threads

    configure_threads(1)
    # a pool re-spawns workers whose initializer raises, forever: keep the error for the first job
    try:
        _WORKER["codec"] = make_codec()
        _WORKER["semantic"] = make_semantic()
    except Exception as err:  # noqa: BLE001 -- re-raised by the worker's first job
        _WORKER["error"] = err


def _tokenize_track(args: tuple[object, str]) -> dict:
    """Build (or keep) one track's shard; return its index entry and what was done."""
    from hafm.data.musdb_io import read_track

    track, out = args
    if "error" in _WORKER:
        raise _WORKER["error"]
    codec, semantic = _WORKER["codec"], _WORKER["semantic"]
    ids = {"codec_id": codec.identity(), "semantic_id": semantic.identity()}
    sha = source_sha256(track)
    path = shard_path(out, track.subset, track.name)
    entry = {"path": str(path.relative_to(out)), "source_sha256": sha, "split": track.subset, **ids}
    if is_fresh(path, sha, **ids, onset_id=ONSET_ID):
        return {**entry, "status": "fresh", "seconds": float(track.duration), "tokenize_s": 0.0}
    known = reusable_arrays(path, sha, **ids)
    status = "recoded" if known else "stale" if path.exists() else "built"
    start = time.perf_counter()
    audio = read_track(track)
    arrays = tokenize_pair(audio.vocals, audio.accompaniment, audio.sr, codec, semantic, known)
    n_coarse = getattr(codec, "n_coarse", arrays["acoustic_accomp"].shape[0] // 2)
    meta = {**ids, "onset_id": ONSET_ID, "n_coarse": int(n_coarse), "source_sha256": sha, "track": track.name,
            "split": track.subset, "sample_rate": audio.sr, "n_samples": len(audio.vocals)}
    save_shard(path, arrays, meta)
    return {**entry, "status": status, "seconds": len(audio.vocals) / audio.sr,
            "tokenize_s": time.perf_counter() - start,
            "T_s": int(arrays["semantic_vocals"].shape[0]), "T_a": int(arrays["acoustic_accomp"].shape[1])}


def build_shards(
    root: str | os.PathLike,
    out: str | os.PathLike,
    make_codec: CodecFactory,
    make_semantic: SemanticFactory,
    subsets: tuple[str, ...] = ("train", "test"),
    workers: int = 2,
    is_wav: bool | None = None,
    progress: bool = True,
) -> dict:
    """Tokenize every track of ``subsets`` under ``root`` into ``out``; write ``out/index.json``.

    ``make_codec``/``make_semantic`` build the tokenizers inside each worker (they must pickle:
    module-level functions or ``functools.partial`` of them). Returns the index.
    """
    import multiprocessing

    from tqdm import tqdm

    from hafm.data.musdb_io import open_db

    out = Path(out)
    make_codec(), make_semantic()  # fail here, with the loader's message, if weights are missing
    tracks = [t for subset in subsets for t in open_db(root, subset, is_wav)]
    if not tracks:
        raise HafmError(f"{root}: no tracks in subsets {list(subsets)}")
    jobs = [(t, str(out)) for t in tracks]
    start = time.perf_counter()
    pool = None
    if workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(workers, _init_worker, (make_codec, make_semantic))
        stream = pool.imap_unordered(_tokenize_track, jobs)
    else:
        _init_worker(make_codec, make_semantic)
        stream = map(_tokenize_track, jobs)
    try:
        results = list(tqdm(stream, total=len(jobs), unit="track", disable=not progress))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    index = _index(results, time.perf_counter() - start)
    atomic_write_json(out / "index.json", index)
    return index


def _index(results: list[dict], wall_s: float) -> dict:
    built = [r for r in results if r["status"] != "fresh"]
    audio_s = sum(r["seconds"] for r in built)
    ids = {key: sorted({r[key] for r in results}) for key in ("codec_id", "semantic_id")}
    if any(len(v) != 1 for v in ids.values()):
        raise HafmError(f"workers disagree on tokenizer ids {ids}; tokenizers are not deterministic")
    ids = {key: v[0] for key, v in ids.items()}
    counts = {s: sum(r["status"] == s for r in results) for s in ("built", "stale", "recoded", "fresh")}
    return {
        **ids,
        "version": SHARD_VERSION,
        "counts": counts,
        "tokenized_seconds": audio_s,
        "wall_seconds": wall_s,
        # song seconds per wall second, over the tracks tokenized in this run (all workers together)
        "throughput": audio_s / wall_s if built and wall_s > 0 else None,
        "tracks": {f"{r['split']}/{Path(r['path']).stem}": r for r in sorted(results, key=lambda r: r["path"])},
    }
