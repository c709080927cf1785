"""Audio I/O and checks: load, save, resample, loudness-normalise, validate.

Waveforms are ``torch.Tensor [C, n]`` float32 in [-1, 1] (channels first, as torchaudio). Files are
read and written with ``soundfile`` (wav, flac, ogg, and mp3 where libsndfile supports it); every
write is atomic (``hafm.fileio``). Every refusal raises :class:`hafm.errors.AudioError` naming the
file or argument and the problem, so a bad input never reaches a model.
"""

from __future__ import annotations

import io
import math
import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from hafm.errors import AudioError, AudioTooLongError
from hafm.fileio import atomic_path

# A guard against accidental multi-hour inputs (a 3-hour vocal would take hours to tokenize and
# gigabytes of memory); callers that really mean it pass ``max_seconds=None``.
DEFAULT_MAX_SECONDS = 20 * 60.0
SILENCE_PEAK = 1e-6  # below -120 dBFS peak counts as digital silence
# torchaudio's sinc kernel holds (out/g) x (in/g) taps for rates in/out with gcd g: 80 x 147 for
# 44100 -> 24000, but about 1e9 (gigabytes) for an odd rate such as 44101 Hz, which a damaged or
# forged header can claim. Past this many taps resampling is refused instead of exhausting memory.
MAX_RESAMPLE_TAPS = 20_000_000


def _as_tensor(wav: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    if isinstance(wav, np.ndarray):
        if not np.issubdtype(wav.dtype, np.floating):
            raise AudioError(f"{name}: expected a float waveform, got a numpy array of dtype {wav.dtype}")
        wav = torch.from_numpy(np.ascontiguousarray(wav))
    if not isinstance(wav, torch.Tensor):
        raise AudioError(f"{name}: expected a waveform tensor or float numpy array, got {type(wav).__name__}")
    if not torch.is_floating_point(wav):
        raise AudioError(f"{name}: expected a float waveform, got a tensor of dtype {wav.dtype}")
    return wav


def validate(
    wav: torch.Tensor | np.ndarray,
    name: str = "waveform",
    sr: int | None = None,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> torch.Tensor:
    """Check a waveform ``[C, n]`` (or ``[n]``) and return it as float32 ``[C, n]``.

    Refuses: non-float data, more than 2 dimensions, zero length, NaN/inf samples, digital silence
    (unless ``allow_silent``), and more than ``max_seconds`` of audio when ``sr`` is given (that one as
    :class:`~hafm.errors.AudioTooLongError`, an ``AudioError`` carrying both lengths).
    """
    wav = _as_tensor(wav, name)
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)
    if wav.dim() != 2:
        raise AudioError(f"{name}: expected shape [channels, samples], got {tuple(wav.shape)}")
    if wav.shape[0] == 0 or wav.shape[1] == 0:
        raise AudioError(f"{name}: empty audio (shape {tuple(wav.shape)})")
    if not torch.isfinite(wav).all():
        n_bad = int((~torch.isfinite(wav)).sum())
        raise AudioError(f"{name}: contains {n_bad} NaN or infinite samples")
    if not allow_silent and float(wav.abs().max()) < SILENCE_PEAK:
        raise AudioError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
    if sr is not None:
        _check_length(name, wav.shape[1] / sr, max_seconds)
    return wav.to(torch.float32)


def _check_length(name: str, seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise AudioTooLongError(
            f"{name}: {seconds / 60:.1f} min of audio exceeds the limit of {max_seconds / 60:.1f} min "
            "(pass max_seconds=None to allow long inputs)",
            seconds, max_seconds,
        )


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _wav_data_bytes(path: Path) -> tuple[int, int] | None:
    """``(declared, present)`` bytes of a RIFF/WAVE file's ``data`` chunk, or None when the file is
    not plain RIFF/WAVE or its writer left the size open (0 or 0xFFFFFFFF, as streaming writers do)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                return (None if chunk_size in (0, 0xFFFFFFFF) else (chunk_size, size - pos - 8))
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _check_not_truncated(path: Path) -> None:
    # libsndfile silently reads whatever part of a truncated wav is present (a cut-off download
    # would become a few samples of audio), so the data chunk's declared size is checked here.
    sizes = _wav_data_bytes(path)
    if sizes is not None and sizes[1] < sizes[0]:
        raise AudioError(f"{path}: truncated wav (header declares {sizes[0]} bytes of audio data, "
                         f"the file holds {sizes[1]})")


def load(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: bool = True,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> tuple[torch.Tensor, int]:
    """Read an audio file; return ``(wav [C, n] float32, sample_rate Hz)``.

    ``mono`` averages the channels (C = 1); ``sr`` resamples to that rate. The file is validated
    (see :func:`validate`); the length guard is checked from the header before decoding.
    """
    path = Path(path)
    _check_readable(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: unreadable or not an audio file ({err})") from err
    if info.format in ("WAV", "WAVEX"):
        _check_not_truncated(path)
    if info.samplerate > 0:
        _check_length(str(path), info.frames / info.samplerate, max_seconds)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: corrupt audio data ({err})") from err
    wav = torch.from_numpy(data.T.copy())
    if mono:
        wav = downmix(wav)
    wav = validate(wav, str(path), sr=file_sr, max_seconds=max_seconds, allow_silent=allow_silent)
    if sr is not None and sr != file_sr:
        try:
            wav = resample(wav, file_sr, sr)
        except AudioError as err:  # a header's odd rate: name the file
            raise AudioError(f"{path}: {err}") from err
        file_sr = sr
    return wav, int(file_sr)


def downmix(wav: torch.Tensor) -> torch.Tensor:
    """Average the channels of ``[C, n]`` into ``[1, n]``."""
    return wav.mean(dim=0, keepdim=True)


def resample(wav: torch.Tensor, sr_in: int, sr_out: int) -> torch.Tensor:
    """Resample ``[..., n]`` from ``sr_in`` to ``sr_out`` Hz (band-limited sinc, torchaudio)."""
    if sr_in <= 0 or sr_out <= 0:
        raise AudioError(f"resample: sample rates must be positive, got {sr_in} -> {sr_out} Hz")
    if sr_in == sr_out:
        return wav
    g = math.gcd(int(sr_in), int(sr_out))
    if (sr_in // g) * (sr_out // g) > MAX_RESAMPLE_TAPS:
        raise AudioError(f"resample: {sr_in} -> {sr_out} Hz has no small rational ratio (is the file's sample "
                         "rate right? convert it to a standard rate first)")
    import torchaudio.functional as AF

    return AF.resample(wav, int(sr_in), int(sr_out))


def _writable_format(path: Path) -> str:
    """The soundfile format name of ``path``'s extension (``.wav`` -> WAV, ``.mp3`` -> MP3)."""
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        usable = ", ".join(f".{f.lower()}" for f in ("WAV", "FLAC", "OGG", "MP3") if f in sf.available_formats())
        raise AudioError(f"{path}: cannot write audio with extension {path.suffix!r} "
                         f"(this soundfile/libsndfile {sf.__libsndfile_version__} writes {usable})")
    return fmt


def output_subtype(path: str | os.PathLike, subtype: str | None = None) -> str:
    """The subtype ``save`` writes ``path`` with: ``subtype`` if given, else PCM_16 where the format
    takes it (wav, flac) and the format's own encoder otherwise (ogg: VORBIS, mp3: MPEG_LAYER_III)."""
    path = Path(path)
    fmt = _writable_format(path)
    if subtype is None:
        subtype = "PCM_16" if sf.check_format(fmt, "PCM_16") else sf.default_subtype(fmt)
    if not sf.check_format(fmt, subtype):
        raise AudioError(f"{path}: {fmt} files cannot hold subtype {subtype} "
                         f"(choose one of {', '.join(sf.available_subtypes(fmt))})")
    return subtype


def check_output_path(path: str | os.PathLike, sr: int | None = None, channels: int = 1,
                      subtype: str | None = None) -> Path:
    """Refuse an output path that cannot take the audio ``save`` would write there, so a long job
    fails before its work rather than after it: a directory, an extension soundfile cannot write,
    a subtype the format cannot hold, and (when ``sr`` is given) a rate or channel count the
    encoder refuses (MP3 takes 8-48 kHz and at most 2 channels). The last check opens an
    in-memory file with libsndfile itself, so it knows exactly what the encoder accepts."""
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file name")
    subtype = output_subtype(path, subtype)
    if sr is not None:
        try:
            with sf.SoundFile(io.BytesIO(), "w", samplerate=int(sr), channels=int(channels),
                              format=_writable_format(path), subtype=subtype):
                pass
        except (sf.LibsndfileError, RuntimeError, ValueError) as err:
            reason = str(err).split(": ", 1)[-1].replace("Error : ", "")
            raise AudioError(f"{path}: cannot write {channels}-channel {sr} Hz audio as {subtype} ({reason})") from err
    return path


def save(
    path: str | os.PathLike,
    wav: torch.Tensor | np.ndarray,
    sr: int,
    subtype: str | None = None,
    allow_silent: bool = True,
) -> None:
    """Write ``wav [C, n]`` (or ``[n]``) at ``sr`` Hz atomically; ``subtype`` e.g. PCM_16 or FLOAT
    (default: ``output_subtype``: PCM_16 for wav/flac, Vorbis for .ogg, MPEG layer III for .mp3).

    Output is clipped to [-1, 1] except for float subtypes (PCM would wrap; the lossy encoders
    expect full-scale input); silence is allowed by default because silent stems (e.g. an absent
    drum part) are legitimate files.
    """
    wav = validate(wav, str(path), max_seconds=None, allow_silent=allow_silent)
    check_output_path(path, sr=sr, channels=wav.shape[0], subtype=subtype)
    subtype = output_subtype(path, subtype)
    data = wav.detach().cpu().numpy().T
    if subtype not in ("FLOAT", "DOUBLE"):
        data = np.clip(data, -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, int(sr), subtype=subtype, format=_writable_format(Path(path)))


def loudness(wav: torch.Tensor, sr: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770) of ``wav [C, n]``."""
    import pyloudnorm

    wav = validate(wav, "loudness input")
    meter = pyloudnorm.Meter(sr)
    min_len = int(0.4 * sr) + 1  # BS.1770 gating needs at least one 400 ms block
    data = wav.numpy().T.astype(np.float64)
    if data.shape[0] < min_len:
        data = np.pad(data, ((0, min_len - data.shape[0]), (0, 0)))
    return float(meter.integrated_loudness(data))


def loudness_normalize(wav: torch.Tensor, sr: int, target_lufs: float = -23.0) -> torch.Tensor:
    """Scale ``wav [C, n]`` to ``target_lufs`` integrated loudness (EBU R128 default -23 LUFS).

    The result may exceed [-1, 1]; callers that write PCM should check the peak.
    """
    current = loudness(wav, sr)
    if not np.isfinite(current):
        raise AudioError(f"loudness_normalize: loudness is {current} LUFS (audio too quiet to measure)")
    gain = 10.0 ** ((target_lufs - current) / 20.0)
    return wav * gain
