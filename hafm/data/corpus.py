"""Build the embedded chorale corpus in the MUSDB18-HQ layout, resumably and in parallel.

``DIR/{train,test}/<track>/{vocals,bass,drums,other,mixture}.wav`` plus ``notes.json`` per track
and ``DIR/manifest.json``. Files are mono, 16-bit PCM at ``sample_rate`` (24 kHz by default, the
codec's rate; musdb reads mono wavs as ``[n, 1]``), which keeps the corpus near 4 GB.

The split is by chorale (a seeded hash), so every augmented rendering of a test chorale is in
test. A track is re-rendered only when its manifest entry is missing, was made with other
render settings, or a stem's sha256 no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hafm.fileio import atomic_path, atomic_write_json, sha256_file, sha256_json

RENDER_VERSION = 1  # bump when the rendering code changes what it writes
FILES = ("vocals", "bass", "drums", "other", "mixture")


@dataclass(frozen=True)
class RenderJob:
    """One track to render: which chorale, which variant, and where."""

    track: str
    chorale_id: str
    score_path: str
    split: str
    seed: int
    transpose: int = 0
    tempo_factor: float = 1.0
    patch_set: str | None = None

    def settings(self, config: CorpusConfig) -> dict:
        """Everything that determines the files' content (compared on resume)."""
        return {
            "version": RENDER_VERSION,
            "sample_rate": config.sample_rate,
            "drums": config.drums,
            "seed": self.seed,
            "transpose": self.transpose,
            "tempo_factor": self.tempo_factor,
            "patch_set": self.patch_set,
        }


@dataclass
class CorpusConfig:
    """Options of ``hafm data chorales`` (units: Hz, semitones, tempo multipliers)."""

    sample_rate: int = 24_000
    drums: bool = False
    seed: int = 0
    n_test: int = 50
    transposes: list[int] = field(default_factory=lambda: [0])
    tempo_factors: list[float] = field(default_factory=lambda: [1.0])
    patch_sets: list[str | None] = field(default_factory=lambda: [None])  # None: seeded per track
    limit: int | None = None  # render only the first N chorales (tests, previews)
    workers: int = 2
    # > 0: a training-augmentation tree instead of a corpus: this many seeded random variants
    # (transpose, tempo, instruments) of every *training* chorale and nothing else, kept apart from
    # the corpus so that its test songs, validation songs and the benchmark never change
    augment: int = 0


AUGMENT_TRANSPOSES = (-4, -3, -2, -1, 1, 2, 3, 4)  # semitones: keeps the soprano within a singer's range
AUGMENT_TEMPO_FACTORS = (0.85, 0.9, 0.95, 1.05, 1.1, 1.15)


def split_of(chorale: str, all_chorales: list[str], seed: int, n_test: int) -> str:
    """``"test"`` for the ``n_test`` chorales with the smallest seeded hash, else ``"train"``."""
    ranked = sorted(all_chorales, key=lambda c: _hash_int(f"{seed}:split:{c}"))
    return "test" if chorale in set(ranked[:n_test]) else "train"


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _variant_name(chorale: str, transpose: int, tempo_factor: float, patch_set: str | None) -> str:
    parts = [chorale]
    if transpose:
        parts.append(f"t{transpose:+d}")
    if tempo_factor != 1.0:
        parts.append(f"x{tempo_factor:g}")
    if patch_set:
        parts.append(patch_set)
    return "_".join(parts)


def plan_jobs(chorales: dict[str, Path], config: CorpusConfig) -> list[RenderJob]:
    """All renderings asked for: every SATB chorale x transposes x tempo factors x patch sets, or,
    with ``config.augment``, the augmentation variants of the training chorales."""
    ids = sorted(chorales)
    if config.limit is not None:
        ids = ids[: config.limit]
    # the split ranks the whole corpus, so --limit previews keep each chorale's split
    all_ids = sorted(chorales)
    if config.augment:
        return _augment_jobs(chorales, ids, all_ids, config)
    jobs = []
    for cid in ids:
        split = split_of(cid, all_ids, config.seed, config.n_test)
        for transpose in config.transposes:
            for factor in config.tempo_factors:
                for patch_set in config.patch_sets:
                    track = _variant_name(cid, transpose, factor, patch_set)
                    seed = _hash_int(f"{config.seed}:track:{track}") % (2**31)
                    jobs.append(RenderJob(track, cid, str(chorales[cid]), split, seed, transpose, factor, patch_set))
    return jobs


def _augment_jobs(chorales: dict[str, Path], ids: list[str], all_ids: list[str],
                  config: CorpusConfig) -> list[RenderJob]:
    """``config.augment`` variants of each training chorale: transpose and tempo drawn without
    repetition from a seeded hash of (seed, chorale), instruments seeded per track."""
    jobs = []
    for cid in ids:
        if split_of(cid, all_ids, config.seed, config.n_test) != "train":
            continue
        grid = [(t, f) for t in AUGMENT_TRANSPOSES for f in AUGMENT_TEMPO_FACTORS]
        grid.sort(key=lambda tf: _hash_int(f"{config.seed}:augment:{cid}:{tf[0]}:{tf[1]}"))
        for transpose, factor in grid[: config.augment]:
            track = _variant_name(cid, transpose, factor, None)
            seed = _hash_int(f"{config.seed}:track:{track}") % (2**31)
            jobs.append(RenderJob(track, cid, str(chorales[cid]), "train", seed, transpose, factor, None))
    return jobs


def _is_satb(path: Path) -> bool:
    from music21 import converter

    from hafm.data.chorales import satb_parts

    return satb_parts(converter.parse(str(path))) is not None


def satb_chorales(map_fn=map) -> dict[str, Path]:
    """``{chorale_id: score path}`` for the plain 4-part (SATB) chorales in music21's corpus.

    ``map_fn`` (e.g. a pool's ``map``) parallelises the parsing of the ~430 Bach scores.
    """
    from hafm.data.chorales import chorale_id, chorale_paths

    paths = chorale_paths()
    out: dict[str, Path] = {}
    for path, ok in zip(paths, map_fn(_is_satb, paths)):
        if ok:
            out.setdefault(chorale_id(path), path)
    return out


def render_job(job: RenderJob, root: str, config: CorpusConfig) -> dict:
    """Render one track's stems and notes into ``root``; return its manifest entry."""
    import soundfile as sf

    from hafm.data.chorales import perform
    from hafm.data.render import choose_patches, mix_to_pcm16, render_stems

    perf = perform(Path(job.score_path), job.seed, job.tempo_factor, job.transpose)
    patches = choose_patches(job.seed, job.patch_set)
    pcm = mix_to_pcm16(render_stems(perf, patches, config.sample_rate, config.drums), config.sample_rate)
    folder = Path(root) / job.split / job.track
    checksums = {}
    for name in FILES:
        path = folder / f"{name}.wav"
        with atomic_path(path) as tmp:
            sf.write(str(tmp), pcm[name], config.sample_rate, subtype="PCM_16")
        checksums[name] = sha256_file(path)
    atomic_write_json(folder / "notes.json", _notes_document(job, perf, config.sample_rate))
    return {
        "split": job.split,
        "chorale_id": job.chorale_id,
        "duration_s": len(pcm["mixture"]) / config.sample_rate,
        "sample_rate": config.sample_rate,
        "channels": 1,
        "tempo_bpm": perf.bpm,
        "tempo_source": perf.bpm_source,
        "repeats_expanded": perf.repeats_expanded,
        "patches": patches.as_dict(),
        "sha256": checksums,
        "settings": job.settings(config),
    }


def _notes_document(job: RenderJob, perf, sr: int) -> dict:
    parts = {"soprano": "vocals", "alto": "other", "tenor": "other", "bass": "bass"}
    return {
        "track": job.track,
        "chorale_id": job.chorale_id,
        "sample_rate": sr,
        "tempo_bpm": perf.bpm,
        "transpose": job.transpose,
        "beats_s": [round(t, 6) for t in perf.beats if t >= 0],
        "downbeats_s": [round(t, 6) for t in perf.downbeats if t >= 0],
        "notes": [
            {"part": voice, "stem": parts[voice], "onset_s": round(n.onset, 6), "offset_s": round(n.offset, 6),
             "pitch": n.pitch}
            for voice, notes in perf.notes.items()
            for n in notes
        ],
    }


def is_done(entry: dict | None, job: RenderJob, root: Path, config: CorpusConfig) -> bool:
    """True when the manifest entry matches the job's settings and every file's checksum."""
    if not entry or entry.get("settings") != job.settings(config) or entry.get("split") != job.split:
        return False
    folder = root / job.split / job.track
    if not (folder / "notes.json").exists():
        return False
    for name in FILES:
        path = folder / f"{name}.wav"
        if not path.exists() or sha256_file(path) != entry["sha256"].get(name):
            return False
    return True


def load_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not path.exists():
        return {"tracks": {}}
    return json.loads(path.read_text())


def _worker_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    from hafm.runtime import configure_threads

    configure_threads(1)


def _run(args: tuple[RenderJob, str, CorpusConfig]) -> tuple[str, dict | str]:
    """Render one job; a score the renderer refuses comes back as its error message."""
    from hafm.errors import HafmError

    job, root, config = args
    try:
        return job.track, render_job(job, root, config)
    except HafmError as err:
        return job.track, str(err)


def build_corpus(
    root: str | os.PathLike,
    config: CorpusConfig,
    progress: bool = True,
    chorales: dict[str, Path] | None = None,
) -> dict:
    """Render every planned track not already done; write ``manifest.json`` as tracks finish.

    ``chorales`` (``{id: score path}``) defaults to every SATB chorale in music21's corpus.
    Returns the manifest. Safe to interrupt and re-run: finished tracks are verified and skipped.
    """
    import multiprocessing

    from tqdm import tqdm

    root = Path(root)
    if root.exists() and not root.is_dir():
        from hafm.errors import HafmError

        raise HafmError(f"{root}: exists and is not a folder; choose another --out for the corpus")
    root.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(root)
    manifest["config"] = {**asdict(config), "render_version": RENDER_VERSION, "soundfont": "TimGM6mb.sf2"}
    tracks = manifest["tracks"]
    failed = manifest.setdefault("failed", {})
    pool = None
    if config.workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(config.workers, initializer=_worker_init)
    else:
        _worker_init()
    map_fn = pool.map if pool is not None else map
    imap_fn = pool.imap_unordered if pool is not None else map
    try:
        jobs = plan_jobs(chorales if chorales is not None else satb_chorales(map_fn), config)
        todo = [j for j in jobs if not is_done(tracks.get(j.track), j, root, config)]
        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="track", disable=not progress)
        for track, entry in imap_fn(_run, [(job, str(root), config) for job in todo]):
            if isinstance(entry, str):
                failed[track] = entry
            else:
                tracks[track] = entry
                failed.pop(track, None)
                atomic_write_json(root / "manifest.json", manifest)
            bar.update(1)
        bar.close()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    manifest["summary"] = _summary(tracks)
    atomic_write_json(root / "manifest.json", manifest)
    return manifest


def _summary(tracks: dict) -> dict:
    out = {"n_tracks": len(tracks), "hash": sha256_json({k: v["sha256"] for k, v in tracks.items()})}
    for split in ("train", "test"):
        entries = [t for t in tracks.values() if t["split"] == split]
        out[split] = {"tracks": len(entries), "hours": sum(t["duration_s"] for t in entries) / 3600}
    return out
