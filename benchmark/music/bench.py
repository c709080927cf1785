"""Per-clip rows of the benchmark: the audio proxies and the note-based music metrics.

``clip_rows(outputs, clips, sr, workers)`` returns one row per (system, clip): ``clip_id``,
``track``, ``system``, the proxies of ``benchmark.proxies`` (``rhythm_xcorr``, ``harmony_chroma``,
``tonality``) and the ``benchmark.music.metrics`` columns (``harmony``, ``rhythm``,
``coherence`` and their parts). The work runs in ``workers`` processes of one thread each:
first every clip's vocal (the same for all systems, so tracked once), then every
(system, clip). Model passes are cached (``benchmark.music.cache``), so a second run only decodes.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from benchmark.music.cache import TranscriptionCache, default_cache_dir
from benchmark.music.metrics import Transcribers, note_metrics
from benchmark.music.notes import Notes
from benchmark.proxies import proxies
from hafm.fileio import sha256_json
from hafm.runtime import parallel_map

METRICS_VERSION = 3  # bump when a metric's definition changes: cached benchmark stats are then recomputed
PROXY_NAMES = {"rhythm": "rhythm_xcorr", "harmony": "harmony_chroma", "tonality": "tonality"}


def music_identity() -> str:
    """What the per-clip music columns depend on: metric code version, models and decoding settings."""
    return sha256_json({"version": METRICS_VERSION, **Transcribers.fitted().identity()})[:16]


def cached_transcribers() -> Transcribers:
    """The fitted backends behind the on-disk cache (one per process and cache folder, so the ONNX
    session and the weight hashes are made once per worker)."""
    return _transcribers_at(str(default_cache_dir()))


@cache
def _transcribers_at(folder: str) -> Transcribers:
    return Transcribers.fitted(TranscriptionCache(folder))


def _vocal_job(job: tuple[str, np.ndarray, int]) -> tuple[str, np.ndarray]:
    clip_id, vocals, sr = job
    return clip_id, cached_transcribers().vocal_notes(vocals, sr).to_array()


def _clip_job(job: tuple) -> dict:
    system, clip_id, track, vocal_rows, vocals, accomp, sr = job
    duration = min(len(vocals), len(accomp)) / sr
    accomp_notes, accomp_onsets = cached_transcribers().accompaniment_part(accomp, sr)
    row = {"clip_id": clip_id, "track": track, "system": system}
    row.update({PROXY_NAMES[k]: v for k, v in proxies(vocals, accomp, sr).items()})
    row.update(note_metrics(Notes.from_array(vocal_rows), accomp_notes, duration, accomp_onsets))
    return row


def clip_rows(outputs: dict[str, dict[str, np.ndarray]], clips: list, sr: int, workers: int = 1) -> list[dict]:
    """Rows for every system x clip. ``clips``: objects with ``clip_id``, ``track``, ``vocals [n]``."""
    vocal_jobs = [(c.clip_id, c.vocals, sr) for c in clips]
    vocal_notes = dict(parallel_map(_vocal_job, vocal_jobs, workers, "vocal f0 (torchcrepe)"))
    jobs = [(system, c.clip_id, c.track, vocal_notes[c.clip_id], c.vocals, by_clip[c.clip_id], sr)
            for system, by_clip in outputs.items() for c in clips]
    return list(parallel_map(_clip_job, jobs, workers, "music metrics (basic-pitch)"))
