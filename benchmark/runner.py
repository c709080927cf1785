"""End-to-end benchmark run: clips -> system outputs (cached) -> proxies, embeddings -> FAD stats.

Everything a table needs is written to ``<out>/stats/`` (``per_clip.csv``, ``fad_stats.json``:
``benchmark.stats_files``, committed) and ``<out>/provenance.json``; ``benchmark.tables`` renders
them. The clip lists and generated audio (cached per system identity, so a killed run resumes and a
second run costs seconds) stay in ``<out>/_cache/``. Systems come from ``benchmark.registry``;
outside systems are folders of outputs (``outside``: name -> folder).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from benchmark.cache import OutputCache
from benchmark.clips import Clip, load_manifest, save_manifest, select_clips
from benchmark.config import BenchmarkConfig
from benchmark.embed_pool import embed_many
from benchmark.music.bench import clip_rows, music_identity
from benchmark.registry import Context, display_names, folder_spec, spec
from benchmark.stats_files import FAD_STATS, have_stats, stats_dir, write_fad_stats, write_per_clip
from benchmark.systems import SR, ClipAudio, System
from hafm.data.musdb_io import TrackAudio, iter_tracks
from hafm.fileio import sha256_json
from hafm.runtime import parallel_map

Outputs = dict[str, dict[str, np.ndarray]]  # system -> clip_id -> accompaniment [n] at 24 kHz


def load_split(root: str | Path, split: str) -> dict[str, TrackAudio]:
    """Every track of ``split`` as mono 24 kHz vocals and accompaniment."""
    tracks = {t.name: t for t in tqdm(iter_tracks(root, split, sr=SR), desc=f"reading {split}", unit="track")}
    if not tracks:
        raise FileNotFoundError(f"{root}: no tracks in the {split!r} split")
    return tracks


def choose_clips(cfg: BenchmarkConfig, tracks: dict[str, TrackAudio], split: str, per_song: int) -> list[Clip]:
    rng = np.random.default_rng(cfg.seed)
    clips: list[Clip] = []
    for name in sorted(tracks):
        clips += select_clips(name, split, tracks[name].vocals, SR, clip_seconds=cfg.clip_seconds,
                              count=per_song, min_active=cfg.min_vocal_active,
                              activity_db=cfg.activity_db, rng=rng)
    return clips


def clip_manifest(cfg: BenchmarkConfig, tracks: dict[str, TrackAudio], path: Path, split: str,
                  per_song: int) -> list[Clip]:
    """The clip list, written once; reused while the selection settings and the data are unchanged."""
    meta = {"split": split, "per_song": per_song, "seed": cfg.seed, "clip_seconds": cfg.clip_seconds,
            "min_vocal_active": cfg.min_vocal_active, "activity_db": cfg.activity_db,
            "tracks": sha256_json({n: len(t.vocals) for n, t in sorted(tracks.items())})}
    if path.exists():
        clips, old = load_manifest(path)
        if old == meta:
            return clips
    clips = choose_clips(cfg, tracks, split, per_song)
    if not clips:
        raise ValueError(f"no {cfg.clip_seconds} s clip with an active vocal in the {split} split")
    save_manifest(path, clips, meta)
    return clips


def cut(track: TrackAudio, clip: Clip) -> ClipAudio:
    start = int(round(clip.start * SR))
    stop = start + int(round(clip.duration * SR))
    return ClipAudio(clip.clip_id, clip.track, track.vocals[start:stop], track.accompaniment[start:stop])


def run_systems(systems: Iterable[System], clips: list[ClipAudio], cache: OutputCache) -> Outputs:
    """Each system's output for each clip, from the cache or computed (and cached at once)."""
    outputs: Outputs = {}
    for system in systems:
        ident = system.identity()
        got: dict[str, np.ndarray] = {}
        for clip in tqdm(clips, desc=system.name, unit="clip"):
            audio = cache.get(system.name, ident, clip.clip_id)
            if audio is None:
                audio = np.asarray(system(clip), dtype=np.float32)
                cache.put(system.name, ident, clip.clip_id, audio)
            got[clip.clip_id] = audio
        outputs[system.name] = got
    return outputs


def proxy_rows(outputs: Outputs, clips: list[ClipAudio], workers: int = 1) -> pd.DataFrame:
    """Per system x clip: the audio proxies and the note-based music metrics (``benchmark.music``)."""
    return pd.DataFrame(clip_rows(outputs, clips, SR, workers))


def mix(vocals: np.ndarray, accompaniment: np.ndarray) -> np.ndarray:
    n = min(len(vocals), len(accompaniment))
    return vocals[:n] + accompaniment[:n]


Embed = Callable[[np.ndarray, int], np.ndarray]


def songs_of(frames_by_clip: dict[str, np.ndarray], track_of: dict[str, str]) -> dict[str, np.ndarray]:
    """Group clip embeddings ``[frames, d]`` by song (songs sorted, clips in the given order)."""
    songs: dict[str, list[np.ndarray]] = {}
    for clip_id, frames in frames_by_clip.items():
        songs.setdefault(track_of[clip_id], []).append(frames)
    return {song: np.concatenate(parts) for song, parts in sorted(songs.items())}


def embed_sets(embed: Embed, sets: dict, workers: int, desc: str) -> dict:
    """Embed every clip of every set (set key -> clip id -> audio ``[n]`` at ``SR``) in one pass,
    so one process pool serves a whole backend. Keys: ``target`` for the reference clips,
    ``(target, system)`` for a system's."""
    keys = [(key, clip_id) for key, audio in sets.items() for clip_id in audio]
    frames = embed_many(embed, [sets[key][clip_id] for key, clip_id in keys], SR, workers, desc)
    out: dict = {key: {} for key in sets}
    for (key, clip_id), f in zip(keys, frames):
        out[key][clip_id] = f
    return out


def target_audio(target: str, outputs: dict[str, np.ndarray], clips: dict[str, ClipAudio]) -> dict[str, np.ndarray]:
    if target == "accompaniment":
        return outputs
    return {cid: mix(clips[cid].vocals, audio) for cid, audio in outputs.items()}


def elapsed(t0: float) -> float:
    return round(time.time() - t0, 1)


def data_fingerprint(root: str | Path) -> str:
    """Hash of every audio file's path, size and modification time under ``root`` (no decoding)."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".mp4", ".flac"))
    return sha256_json([(str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files])


def run_key(cfg: BenchmarkConfig, root: str | Path, model_id: str, backends: list[str],
            outside: dict[str, Path] | None = None) -> str:
    """Everything a run's statistics depend on: config, data, generation pipeline, embeddings, code
    version, and the outside systems' folders (their files' names, sizes and times; only when given,
    so runs without them keep their key)."""
    import benchmark
    import hafm

    payload = {"config": cfg.to_dict(), "data": data_fingerprint(root), "model": model_id, "backends": backends,
               "versions": [hafm.__version__, getattr(benchmark, "__version__", "")]}
    if outside:
        payload["outside"] = {name: data_fingerprint(folder) for name, folder in sorted(outside.items())}
    return sha256_json(payload)


def cached_stats(out: Path, key: str) -> dict | None:
    """The statistics of a finished run with the same key (a second run then costs seconds)."""
    import json

    if not have_stats(out):
        return None
    stats = json.loads((stats_dir(out) / FAD_STATS).read_text())
    meta = stats.get("meta", {})
    return stats if meta.get("run_key") == key and meta.get("music") == music_identity() else None


def build_systems(cfg: BenchmarkConfig, ctx: Context, outside: dict[str, Path] | None = None) -> list[System]:
    """The registered systems named in ``cfg.systems``, then one ``FolderSystem`` per outside folder."""
    specs = [spec(name) for name in cfg.systems]
    specs += [folder_spec(name, folder) for name, folder in (outside or {}).items()]
    return [s.make(ctx) for s in specs]


def embed_all(embedders: dict[str, Embed], cfg: BenchmarkConfig, outputs: Outputs, clips: list[ClipAudio],
              reference: list[ClipAudio]) -> dict:
    """FAD statistics for every backend x target x system (see ``benchmark.scoring``).

    Embedding (cached per audio file, ``benchmark.embed_pool``) and the statistics of the
    backend x target combinations (1,000-resample bootstraps each) run in ``cfg.workers`` processes.
    """
    by_id = {c.clip_id: c for c in clips}
    ref_by_id = {c.clip_id: c for c in reference}
    track_of = {c.clip_id: c.track for c in [*clips, *reference]}
    jobs = []
    for backend, embed in embedders.items():
        sets = {}
        for target in cfg.targets:
            sets[target] = target_audio(target, {c.clip_id: c.accompaniment for c in reference}, ref_by_id)
            sets.update({(target, s): target_audio(target, o, by_id) for s, o in outputs.items()})
        frames = embed_sets(embed, sets, cfg.workers, f"{backend} embeddings")
        for target in cfg.targets:
            sys_songs = {s: songs_of(frames[target, s], track_of) for s in outputs}
            jobs.append((backend, target, songs_of(frames[target], track_of), sys_songs,
                         cfg.bootstrap, cfg.seed))
    merged: dict = {"fad": [], "per_song": [], "paired": [], "reference_split_half": {}, "warnings": []}
    results = parallel_map(_score, jobs, cfg.workers, "statistics", chunksize=1, unit="set")
    for (backend, target, *_), res in zip(jobs, results):
        for row in res["fad"]:
            row["n_clips"] = len(outputs[row["system"]])
        for key in ("fad", "per_song", "paired", "warnings"):
            merged[key] += res[key]
        merged["reference_split_half"][f"{backend}/{target}"] = res["floor"]
    return merged


def _score(job: tuple) -> dict:
    from benchmark.scoring import score_target

    backend, target, ref_songs, sys_songs, n_resamples, seed = job
    return score_target(backend, target, ref_songs, sys_songs, n_resamples=n_resamples, seed=seed)


def run(cfg: BenchmarkConfig, root: str | Path, out: str | Path, *, embedders: dict[str, Embed],
        codec: Callable, pipeline, model_id: str, data_name: str,
        precompute: Callable | None = None, outside: dict[str, Path] | None = None) -> dict:
    """The whole benchmark; returns the stats written to ``out/stats/fad_stats.json``.

    ``codec`` is a factory called only when a system needs it; ``pipeline`` (a
    ``hafm.pipeline.GenerationPipeline``, None without model systems) generates, and ``model_id``
    is its identity; ``precompute`` (e.g. ``benchmark.cascade_pool.precompute``) may fill the
    output cache in parallel first; ``outside`` (system name -> folder of ``<clip_id>.wav``) adds
    outside systems, scored like the shipped ones.
    """
    t0 = time.time()
    out = Path(out)
    cache_dir = out / "_cache"
    key = run_key(cfg, root, model_id, list(embedders), outside)
    cached = cached_stats(out, key)
    if cached is not None:
        cached["meta"]["reused"] = True  # not written back: the file keeps the run that made it
        return cached
    test = load_split(root, "test")
    clips = clip_manifest(cfg, test, cache_dir / "clips.json", "test", cfg.clips_per_song)
    if cfg.max_clips:
        clips = clips[: cfg.max_clips]
    train = load_split(root, "train")
    ref_tracks = dict(sorted(train.items())[: cfg.max_reference_songs])
    ref_clips = clip_manifest(cfg, ref_tracks, cache_dir / "reference_clips.json", "train",
                              cfg.reference_clips_per_song)
    clip_audio = [cut(test[c.track], c) for c in clips]
    reference = [cut(ref_tracks[c.track], c) for c in ref_clips]
    pool = {name: t.accompaniment for name, t in test.items()}
    ctx = Context(cfg, pool, codec, pipeline, tuple(c.clip_id for c in clips))
    systems = build_systems(cfg, ctx, outside)
    cache = OutputCache(cache_dir / "outputs")
    if precompute is not None:
        precompute(systems, clip_audio, cache)
    outputs = run_systems(systems, clip_audio, cache)
    write_per_clip(out, proxy_rows(outputs, clip_audio, cfg.workers))
    stats = embed_all(embedders, cfg, outputs, clip_audio, reference)
    stats["meta"] = {"data": data_name, "n_clips": len(clips), "clip_seconds": cfg.clip_seconds,
                     "n_songs": len({c.track for c in clips}),
                     "reference": f"{len(ref_clips)} training-split clips of {len(ref_tracks)} songs",
                     "bootstrap": cfg.bootstrap, "systems": {s.name: s.identity() for s in systems},
                     "display_names": {s.name: display_names().get(s.name, s.name) for s in systems},
                     "outside": {name: str(folder) for name, folder in (outside or {}).items()},
                     "wall_seconds": elapsed(t0), "run_key": key, "music": music_identity()}
    write_fad_stats(out, stats)
    return stats
