"""Reading MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (wav folders) trees through ``musdb``.

The same code reads real MUSDB18 / MUSDB18-HQ and the generated chorale corpus. Wav stems are
decoded with soundfile (exact and fast); ``.stem.mp4`` streams through musdb/stempeg, which needs
``ffmpeg``. Every track comes back as mono float32 vocals and accompaniment, where the
accompaniment is the sum of the non-vocal stems (drums + bass + other), as musdb's target.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hafm.audio import resample
from hafm.errors import AudioError, HafmError

SUBSETS = ("train", "test")
SOURCES = ("vocals", "drums", "bass", "other")
ACCOMPANIMENT_SOURCES = ("drums", "bass", "other")  # summed: the accompaniment (musdb's target)
STEMS = ("vocals", "accompaniment")


class TrackAudio(NamedTuple):
    """One song: ``vocals`` and ``accompaniment`` mono float32 ``[n]`` at ``sr`` Hz."""

    name: str
    vocals: np.ndarray
    accompaniment: np.ndarray
    sr: int


def detect_is_wav(root: str | os.PathLike) -> bool:
    """True for a MUSDB18-HQ tree (track folders of wavs), False for MUSDB18 (``.stem.mp4``)."""
    root = Path(root)
    folders = [root / s for s in SUBSETS if (root / s).is_dir()]
    if not folders:
        raise HafmError(f"{root}: not a MUSDB18 tree (no train/ or test/ folder)")
    if any(next(f.glob("*.stem.mp4"), None) for f in folders):
        return False
    if any(next(f.glob("*/mixture.wav"), None) for f in folders):
        return True
    raise HafmError(f"{root}: no tracks found (neither <subset>/*.stem.mp4 nor <subset>/<track>/mixture.wav)")


class _WavInfo:
    """What musdb asks of ``stempeg.Info`` when it indexes a wav (length, duration, rate), read from
    the wav header; anything else falls through to a ``probe`` (the real ``stempeg.Info``) of the
    file, made when first needed."""

    def __init__(self, path: str, probe: type):
        import soundfile as sf

        self._path, self._probe_type, self._probe = path, probe, None
        self._header = sf.info(path)

    def samples(self, idx: int | None = None) -> int:
        return int(self._header.frames)

    def duration(self, idx: int | None = None) -> float:
        return float(self._header.duration)

    def rate(self, idx: int | None = None) -> int:
        return int(self._header.samplerate)

    sample_rate = rate

    def channels(self, idx: int | None = None) -> int:
        return int(self._header.channels)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # unpickling looks attributes up before __init__ ran
            raise AttributeError(name)
        if self._probe is None:
            self._probe = self._probe_type(self._path)
        return getattr(self._probe, name)


@contextlib.contextmanager
def _wav_headers_without_ffprobe():
    """While musdb indexes a tree, read wav headers with soundfile: musdb builds a ``stempeg.Info``
    for every track's mixture, one ffprobe process each, and indexing the chorale corpus' 365
    tracks took about 3 minutes that way. ``.stem.mp4`` files still go to ffprobe."""
    import stempeg

    real = stempeg.Info
    stempeg.Info = lambda path: _WavInfo(path, real) if str(path).lower().endswith(".wav") else real(path)
    try:
        yield
    finally:
        stempeg.Info = real


def open_db(root: str | os.PathLike, subset: str | None = None, is_wav: bool | None = None):
    """``musdb.DB`` over ``root``; ``subset`` "train", "test" or None (both); ``is_wav`` auto."""
    import musdb

    if subset is not None and subset not in SUBSETS:
        raise HafmError(f"unknown subset {subset!r}; expected one of {SUBSETS}")
    if is_wav is None:
        is_wav = detect_is_wav(root)
    subsets = [subset] if subset else list(SUBSETS)
    with _wav_headers_without_ffprobe():
        return musdb.DB(root=str(root), is_wav=is_wav, subsets=subsets)


def _mono(audio: np.ndarray) -> np.ndarray:
    """``[n]`` or ``[n, C]`` -> ``[n]`` float32 (channel mean)."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio if audio.ndim == 1 else audio.mean(axis=1)


def read_source(track, name: str) -> np.ndarray:
    """Decode one stem (``vocals``, ``drums``, ``bass``, ``other``) of a musdb track to mono float32 ``[n]``.

    Raises :class:`AudioError` when it is unreadable or holds NaN/inf samples.
    """
    source = track.sources[name]
    if track.is_wav:
        import soundfile as sf

        try:
            data, _ = sf.read(source.path, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(f"{source.path}: unreadable stem ({err})") from err
    else:
        data = source.audio
    mono = _mono(data)
    if not np.isfinite(mono).all():
        raise AudioError(f"{source.path}: stem contains {int((~np.isfinite(mono)).sum())} NaN or infinite samples")
    return mono


def tracks_of(root: str | os.PathLike, subset: str) -> list:
    """The musdb tracks of one subset, sorted by name; :class:`HafmError` when there are none."""
    tracks = sorted(open_db(root, subset), key=lambda t: t.name)
    if not tracks:
        raise HafmError(f"no tracks in {Path(root) / subset} (neither *.stem.mp4 nor <track>/mixture.wav)")
    return tracks


def track_folder(track) -> Path | None:
    """The folder of a MUSDB18-HQ-layout track (where the chorale corpus also keeps ``notes.json``);
    None for a ``.stem.mp4`` track."""
    return Path(track.path).parent if track.is_wav else None


def stem_paths(track, stem: str) -> list[Path]:
    """The files ``stem`` (``vocals`` or ``accompaniment``) of ``track`` is decoded from: its wavs,
    or the track's ``.stem.mp4`` (which holds every stem)."""
    names = _sources_of(stem)
    if not track.is_wav:
        return [Path(track.path)]
    return [Path(track.sources[n].path) for n in names]


def _sources_of(stem: str) -> tuple[str, ...]:
    if stem not in STEMS:
        raise HafmError(f"unknown stem {stem!r}; expected one of {STEMS}")
    return ("vocals",) if stem == "vocals" else ACCOMPANIMENT_SOURCES


def read_stem(track, stem: str, sr: int | None = None) -> np.ndarray:
    """``vocals``, or ``accompaniment`` (drums + bass + other), of a musdb track: mono float32 ``[n]``
    at ``sr`` Hz (None: ``track.rate``)."""
    names = _sources_of(stem)
    missing = [s for s in names if s not in track.sources]
    if missing:
        raise HafmError(f"{track.path}: track {track.name!r} lacks stems {missing}")
    parts = {name: read_source(track, name) for name in names}
    lengths = {name: len(w) for name, w in parts.items()}
    if len(set(lengths.values())) != 1:
        raise AudioError(f"track {track.name!r}: stems have different lengths {lengths}")
    wav = sum(parts.values()) if len(parts) > 1 else parts[names[0]]
    return wav if sr is None else resample(wav, int(track.rate), sr)


def read_track(track, sr: int | None = None) -> TrackAudio:
    """Decode one musdb track into mono vocals and accompaniment, resampled to ``sr`` if given."""
    vocals, accompaniment = read_stem(track, "vocals"), read_stem(track, "accompaniment")
    if len(vocals) != len(accompaniment):
        raise AudioError(f"track {track.name!r}: stems have different lengths "
                         f"(vocals {len(vocals)}, accompaniment {len(accompaniment)} samples)")
    rate = int(track.rate)
    if sr is not None and sr != rate:
        vocals, accompaniment = (resample(w, rate, sr) for w in (vocals, accompaniment))
        rate = sr
    return TrackAudio(track.name, vocals, accompaniment, rate)


def iter_tracks(
    root: str | os.PathLike, subset: str | None = None, is_wav: bool | None = None, sr: int | None = None
) -> Iterator[TrackAudio]:
    """Yield ``(name, vocals [n], accompaniment [n], sr)`` for every track, sorted by subset/name."""
    for track in open_db(root, subset, is_wav):
        yield read_track(track, sr)
