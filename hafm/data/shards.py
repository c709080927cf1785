"""Token shards: one ``.npz`` per track, the training data of the three stages.

Layout: ``OUT/<split>/<track>.npz`` and ``OUT/index.json``. A shard holds

- ``semantic_vocals [T_s]`` and ``semantic_accomp [T_s]`` int16 (50 Hz cluster ids),
- ``acoustic_accomp [8, T_a]`` int16 (75 Hz codec codes), with ``T_a == T_s * 3 // 2``,
- ``onset_vocals [T_s]`` int16 (50 Hz, 1 where a vocal note starts: ``hafm.onsets.onset_stream``),
- ``meta``: a JSON string with the source audio's sha256, both tokenizers' ``identity()``, the
  onset detector's id, the track, split, sample count and shard format version.

Each waveform is zero-padded to whole 40 ms blocks (``hafm.tokenizers.alignment``) before either
tokenizer sees it, so the two token streams cover exactly the same time span.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from hafm.errors import HafmError, StaleCacheError
from hafm.fileio import atomic_path

# 2: adds onset_vocals. A version-1 shard is rebuilt, reusing its token arrays (``reusable_arrays``).
SHARD_VERSION = 2
TOKEN_ARRAYS = ("semantic_vocals", "semantic_accomp", "acoustic_accomp")
ARRAYS = (*TOKEN_ARRAYS, "onset_vocals")
REUSABLE_VERSIONS = (1, SHARD_VERSION)  # shard versions whose token arrays a rebuild may keep


def shard_path(out: str | os.PathLike, split: str, track: str) -> Path:
    """Where the shard of ``track`` in ``split`` lives."""
    return Path(out) / split / f"{track}.npz"


def save_shard(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write a shard atomically; ``arrays`` must hold every name in ``ARRAYS``."""
    missing = [k for k in ARRAYS if k not in arrays]
    if missing:
        raise HafmError(f"{path}: shard lacks {missing}")
    check_alignment(arrays, str(path))
    payload = {k: np.asarray(arrays[k], dtype=np.int16) for k in ARRAYS}
    payload["meta"] = np.array(json.dumps({**meta, "version": SHARD_VERSION}, sort_keys=True))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **payload)


def check_alignment(arrays: dict[str, np.ndarray], name: str) -> None:
    """Refuse token streams that break the 40 ms rule (``T_a == T_s * 3 // 2``, K >= 2 codebooks)."""
    sv, sa, aa = (np.asarray(arrays[k]) for k in TOKEN_ARRAYS)
    onsets = np.asarray(arrays.get("onset_vocals", sv))
    if sv.ndim != 1 or sa.shape != sv.shape or onsets.shape != sv.shape or aa.ndim != 2 or aa.shape[0] < 2:
        raise HafmError(
            f"{name}: expected semantic_vocals [T_s], semantic_accomp [T_s], onset_vocals [T_s], "
            f"acoustic_accomp [K, T_a]; got {sv.shape}, {sa.shape}, {onsets.shape}, {aa.shape}"
        )
    if aa.shape[1] != sv.shape[0] * 3 // 2:
        raise HafmError(f"{name}: T_a = {aa.shape[1]} but T_s = {sv.shape[0]} needs T_a = {sv.shape[0] * 3 // 2}")


def load_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a shard (int16), keyed as in ``ARRAYS``; a version-1 shard has no ``onset_vocals``."""
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in TOKEN_ARRAYS if k not in data.files]
        if missing:
            raise HafmError(f"{path}: not a token shard (lacks {missing})")
        return {k: data[k] for k in ARRAYS if k in data.files}


def read_meta(path: str | os.PathLike) -> dict:
    """The JSON metadata of a shard (source sha256, tokenizer ids, track, split, version)."""
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise HafmError(f"{path}: not a token shard (no meta)")
        return json.loads(str(data["meta"]))


def list_shards(
    out: str | os.PathLike,
    split: str,
    codec_id: str | None = None,
    semantic_id: str | None = None,
) -> list[Path]:
    """Sorted shard paths of ``split``; with ids given, raise StaleCacheError on any mismatch."""
    paths = sorted((Path(out) / split).glob("*.npz"))
    if codec_id is None and semantic_id is None:
        return paths
    for path in paths:
        meta = read_meta(path)
        for key, want in (("codec_id", codec_id), ("semantic_id", semantic_id)):
            if want is not None and meta.get(key) != want:
                raise StaleCacheError(
                    f"{path}: made with {key} {meta.get(key)!r}, expected {want!r}; re-run `hafm tokenize`"
                )
    return paths


def _same_source_meta(path: Path, source_sha256: str, versions: tuple[int, ...] = (SHARD_VERSION,)) -> dict | None:
    """The shard's metadata when it is a readable shard of one of ``versions`` and this source, else None."""
    if not path.exists():
        return None
    try:
        meta = read_meta(path)
    except (HafmError, OSError, ValueError, KeyError):
        return None  # unreadable or truncated: rebuild
    if meta.get("version") not in versions or meta.get("source_sha256") != source_sha256:
        return None
    return meta


def is_fresh(path: Path, source_sha256: str, codec_id: str, semantic_id: str, onset_id: str) -> bool:
    """True when ``path`` is a readable shard of this source made by these tokenizers and onset detector."""
    meta = _same_source_meta(path, source_sha256)
    return (meta is not None and meta.get("codec_id") == codec_id and meta.get("semantic_id") == semantic_id
            and meta.get("onset_id") == onset_id)


def reusable_arrays(path: Path, source_sha256: str, codec_id: str, semantic_id: str) -> dict[str, np.ndarray]:
    """The token arrays of a shard of this source that a rebuild may keep (none: ``{}``).

    Semantic tokenization costs far more than encoding with a codec, and both far more than onset
    detection: a rebuild keeps the semantic arrays when the semantic tokenizer is the same, and
    the codes when the codec is the same (also from a version-1 shard, which lacks the onsets).
    """
    meta = _same_source_meta(path, source_sha256, REUSABLE_VERSIONS)
    if meta is None:
        return {}
    try:
        arrays = load_shard(path)
    except (HafmError, OSError, ValueError, KeyError):
        return {}
    kept = {}
    if meta.get("semantic_id") == semantic_id:
        kept.update({k: arrays[k] for k in ("semantic_vocals", "semantic_accomp")})
    if meta.get("codec_id") == codec_id:
        kept["acoustic_accomp"] = arrays["acoustic_accomp"]
    return kept


def codec_shape(out: str | os.PathLike, split: str = "train") -> tuple[int, int]:
    """``(n_codebooks, n_coarse)`` of the codec that made the shards of ``split`` (first shard)."""
    first = _first_shard(out, split)
    n_codebooks = int(load_shard(first)["acoustic_accomp"].shape[0])
    return n_codebooks, int(read_meta(first).get("n_coarse", n_codebooks // 2))


def _first_shard(out: str | os.PathLike, split: str) -> Path:
    paths = sorted((Path(out) / split).glob("*.npz"))
    if not paths:
        raise HafmError(f"no {split!r} token shards under {out}; run `hafm tokenize` first")
    return paths[0]


def tokenizer_ids(out: str | os.PathLike, split: str = "train") -> tuple[str | None, str | None]:
    """``(codec_id, semantic_id)`` recorded in the first shard of ``split`` (None where not recorded)."""
    meta = read_meta(_first_shard(out, split))
    return meta.get("codec_id"), meta.get("semantic_id")
