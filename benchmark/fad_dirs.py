"""FAD between two folders of audio: ``fad_dirs(REF_DIR, EVAL_DIR)``, the Python side of
``python -m benchmark fad``.

Every audio file under a folder (recursively: .wav .flac .ogg .mp3 .aiff, any sample rate, any
channel count) is one *song*: the unit the bootstrap CI resamples, as ``benchmark.fad.fad``
expects. Each file is embedded by a backend of ``benchmark.embeddings`` (resampled to the
backend's rate there) through the on-disk embedding cache, so a second run over the same audio
only reads ``.npz`` files. Channels (``channels``): ``"downmix"`` averages them into the mono
signal every backend takes (the default, as frechet-audio-distance and fadtk do); ``"each"``
embeds every channel on its own and pools the frames of all channels into the file's song, so a
stereo image that differs between the channels is seen.

Statistics (``benchmark.fad``): exact Fréchet distance of the eval songs to the reference
Gaussian with a centred bootstrap CI over eval songs, per-song FAD, the reference's split-half
floor (what two halves of the reference score against each other: a FAD near it means "as
close as the reference is to itself"), and FAD-infinity on request. Whatever makes these numbers
unreliable (few songs, fewer frames than dimensions, a failed FAD-inf fit) is warned about
(``FadDirsWarning``) and listed in ``FadDirsResult.warnings``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.embeddings import Backend, EmbeddingCache, default_cache_dir, get_backend
from benchmark.fad import FadInfResult, Result, as_reference, fad, fad_inf, reference_floor, song_stats
from hafm import audio
from hafm.errors import HafmError
from hafm.frechet import FewFramesWarning, FrechetInputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
CHANNEL_MODES = ("downmix", "each")
# Below this many eval songs the bootstrap over songs has too few distinct resamples for its
# 2.5% / 97.5% percentiles to be stable (with 5 songs there are only 126 distinct resamples).
MIN_SONGS = 10
FLOOR_MIN_SONGS = 4  # benchmark.fad.reference_floor needs two halves of >= 2 songs


class FadDirsWarning(UserWarning):
    """The folders give a FAD whose CI or value should not be trusted (few songs or frames)."""


@dataclass(frozen=True)
class FadDirsResult:
    """FAD of EVAL_DIR against REF_DIR. ``fad``: value, centred CI, songs, frames; ``floor``:
    the reference's split-half FAD (None below 4 reference songs); ``per_song``: file -> FAD of
    that file alone (biased upwards at few frames: compare across systems, not songs)."""

    backend: str
    dim: int
    channels: str
    reference_dir: str
    eval_dir: str
    fad: Result
    reference_songs: int
    reference_frames: int
    floor: Result | None
    fad_inf: FadInfResult | None
    per_song: dict[str, float]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-ready: NaN (no CI with ``n_resamples=0``) becomes None."""
        return _json_safe(dataclasses.asdict(self))


def audio_files(folder: str | Path) -> dict[str, Path]:
    """``{relative posix path: file}`` of every audio file under ``folder``, sorted; refuses none found."""
    root = Path(folder)
    if not root.is_dir():
        raise HafmError(f"{root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise HafmError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in it or below it")
    return {p.relative_to(root).as_posix(): p for p in files}


def embed_folder(folder: str | Path, backend: Backend, cache: EmbeddingCache | None = None,
                 channels: str = "downmix", progress: bool = False) -> dict[str, np.ndarray]:
    """``{file: frames [n_frames, d]}`` for every audio file under ``folder``.

    ``channels``: ``"downmix"`` (mean of the channels) or ``"each"`` (every channel embedded, frames
    stacked: a stereo file gives twice the frames of its downmix). Silent files are embedded, not
    refused: silence must score badly, not stop the comparison.
    """
    if channels not in CHANNEL_MODES:
        raise HafmError(f"channels must be one of {CHANNEL_MODES}, got {channels!r}")
    from tqdm import tqdm

    out = {}
    for name, path in tqdm(audio_files(folder).items(), desc=f"embed {Path(folder).name} ({backend.name})",
                           disable=not progress):
        wav, sr = audio.load(path, mono=False, max_seconds=None, allow_silent=True)
        signals = [audio.downmix(wav)[0]] if channels == "downmix" else list(wav)
        frames = [cache.embed(backend, x, sr) if cache is not None else backend.embed(x, sr) for x in signals]
        out[name] = np.concatenate(frames)
    return out


def fad_dirs(reference_dir: str | Path, eval_dir: str | Path, backend: str | Backend = "musicnn", *,
             channels: str = "downmix", n_resamples: int = 1000, confidence: float = 0.95,
             inf: bool = False, seed: int = 0, cache_dir: str | Path | None = None, use_cache: bool = True,
             device: str = "cpu", weights: str | None = None, progress: bool = False) -> FadDirsResult:
    """FAD of the audio files in ``eval_dir`` against those in ``reference_dir`` (one song per file).

    backend: a name of ``benchmark.embeddings.BACKENDS`` (with ``device``: cpu, cuda, cuda:N, mps or
    auto; and ``weights`` for vggish/clap/encodec) or a backend object. n_resamples: bootstrap
    resamples of the eval songs (0: no CI, NaN bounds). inf: also FAD-infinity. Embeddings are
    cached under ``cache_dir`` (default ``$HAFM_EMBEDDING_CACHE`` or ``~/.cache/hafm/embeddings``)
    unless ``use_cache`` is False.
    """
    if isinstance(backend, str):
        backend = _named_backend(backend, device, weights)
    cache = EmbeddingCache(cache_dir or default_cache_dir()) if use_cache else None
    ref_songs = embed_folder(reference_dir, backend, cache, channels, progress)
    eval_songs = embed_folder(eval_dir, backend, cache, channels, progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FewFramesWarning)
        ref = as_reference(ref_songs)
        result = _fad_with_ci(ref, eval_songs, n_resamples, confidence, seed)
        floor = reference_floor(ref_songs, rng=seed) if len(ref_songs) >= FLOOR_MIN_SONGS else None
        inf_result, inf_note = _fad_inf(ref, eval_songs, seed) if inf else (None, None)
    notes = _notes(ref_songs, eval_songs, ref.dim, n_resamples, caught, inf_note)
    for note in notes:
        warnings.warn(note, FadDirsWarning, stacklevel=2)
    return FadDirsResult(
        backend=backend.name, dim=ref.dim, channels=channels, reference_dir=str(reference_dir),
        eval_dir=str(eval_dir), fad=result, reference_songs=len(ref_songs),
        reference_frames=sum(len(f) for f in ref_songs.values()), floor=floor, fad_inf=inf_result,
        per_song=_per_song(ref, eval_songs), warnings=tuple(notes))


def _named_backend(name: str, device: str, weights: str | None) -> Backend:
    """Backend ``name`` on ``device`` (checked before any file is read; ``auto`` resolved)."""
    from hafm.device import resolve_device

    device = str(resolve_device(device))
    backend = get_backend(name, device=device)
    if weights is None:
        return backend
    if "weights" not in {f.name for f in dataclasses.fields(backend)}:
        raise HafmError(f"backend {name} reads its weights from its wheel; weights are for vggish, clap and encodec")
    return get_backend(name, device=device, weights=weights)


def _fad_with_ci(ref, eval_songs: dict[str, np.ndarray], n_resamples: int, confidence: float,
                 seed: int) -> Result:
    if n_resamples > 0:
        return fad(ref, eval_songs, n_resamples=n_resamples, confidence=confidence, rng=seed)
    stats = song_stats(ref, eval_songs)
    value = stats.fad(ref, np.ones(len(stats.names)))
    return Result(value=value, ci_low=math.nan, ci_high=math.nan, n=len(stats.names),
                  n_frames=int(stats.counts.sum()), n_resamples=0, confidence=confidence)


def _per_song(ref, eval_songs: dict[str, np.ndarray]) -> dict[str, float]:
    """``benchmark.fad.per_song_fad``, with NaN for a song of one frame (no covariance)."""
    stats = song_stats(ref, eval_songs)
    eye = np.eye(len(stats.names))
    return {name: stats.fad(ref, eye[g]) if stats.counts[g] >= 2 else math.nan
            for g, name in enumerate(stats.names)}


def _fad_inf(ref, eval_songs: dict[str, np.ndarray], seed: int) -> tuple[FadInfResult | None, str | None]:
    try:
        return fad_inf(ref, eval_songs, rng=seed), None
    except FrechetInputError as err:
        return None, f"FAD-inf not computed: {err}"


def _notes(ref_songs: dict, eval_songs: dict, dim: int, n_resamples: int, caught: list,
           inf_note: str | None) -> list[str]:
    """Why the numbers may mislead, one sentence each (few songs, few frames, no floor, no FAD-inf)."""
    notes = []
    if n_resamples > 0 and len(eval_songs) < MIN_SONGS:
        notes.append(f"only {len(eval_songs)} eval songs: a bootstrap CI over fewer than {MIN_SONGS} songs "
                     "is unstable; treat it as a rough spread")
    for what, songs in (("reference", ref_songs), ("eval", eval_songs)):
        frames = sum(len(f) for f in songs.values())
        if frames <= dim:
            notes.append(f"{what}: {frames} frames for {dim} dimensions: its covariance is singular and FAD is "
                         "biased upwards; use more or longer files (compare only runs of equal size)")
    if len(ref_songs) < FLOOR_MIN_SONGS:
        notes.append(f"only {len(ref_songs)} reference songs: no split-half noise floor (needs {FLOOR_MIN_SONGS})")
    if inf_note:
        notes.append(inf_note)
    # frechet's own warnings repeat the frame counts above; keep only any others
    notes += [str(w.message) for w in caught if not issubclass(w.category, FewFramesWarning)]
    return notes


def _json_safe(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value
