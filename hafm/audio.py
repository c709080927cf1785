"""The toolkit's one audio layer: read/load, write, resample, loudness, and the input checks.

Waveforms are channels first, ``[C, n]`` (``[n]`` is taken as mono), float in [-1, 1]. The core
works on numpy arrays; ``load`` and ``validate`` hand float32 torch tensors to the model code, and
``resample``, ``downmix``, ``loudness`` and ``write`` take either. torch is never imported at
module level (only where a tensor is made), so the listening-test server, which has no torch,
builds its stimuli with this module.

- Files: read and written with ``soundfile`` (wav, flac, ogg, and mp3 where libsndfile supports
  it); every write is atomic (temporary file + rename, ``hafm.fileio``).
- Resampling: ``soxr`` at its "HQ" setting, librosa's default (``soxr_hq``). Measured on sines
  (44.1 kHz -> 16/22.05/24 kHz, 24 -> 16 kHz): within 0.01 dB up to 90% of the output Nyquist
  frequency, -3 dB at about 95%, aliases of tones above Nyquist below -130 dB, and any rate
  pair (44101 -> 16000 Hz included) without a large kernel. scipy's ``resample_poly`` (Kaiser,
  beta 5) passes aliases from just above Nyquist at -12 dB and torchaudio's default sinc
  (rolloff 0.99, width 6) at -10 dB, with 0.7 / 2.4 dB of loss at 90% of Nyquist.
- Loudness: ITU-R BS.1770-4 integrated loudness by ``pyloudnorm`` (K-weighting, 400 ms blocks
  with 75% overlap, -70 LUFS absolute and -10 LU relative gates).

Every refusal raises :class:`hafm.errors.AudioError` naming the file or argument and the problem,
so a bad input never reaches a model.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf
import soxr

from hafm.errors import AudioError, AudioTooLongError
from hafm.fileio import atomic_path

if TYPE_CHECKING:
    import torch

# A guard against accidental multi-hour inputs (a 3-hour vocal would take hours to tokenize and
# gigabytes of memory); callers that really mean it pass ``max_seconds=None``.
DEFAULT_MAX_SECONDS = 20 * 60.0
SILENCE_PEAK = 1e-6  # below -120 dBFS peak counts as digital silence
RESAMPLE_QUALITY = "HQ"  # soxr's setting; see the module docstring for what it measures
# Names the resampler in the cache keys of results computed from resampled audio.
RESAMPLER = f"soxr-{RESAMPLE_QUALITY}"
LOUDNESS_BLOCK_S = 0.4  # BS.1770 gating block


def _is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch: if torch was never imported,
    nothing can be a tensor."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(wav: Any) -> Any:
    """A tensor's samples as a CPU numpy array (half precision widened: numpy has no bfloat16);
    anything else unchanged."""
    if not _is_tensor(wav):
        return wav
    wav = wav.detach().cpu()
    return (wav.float() if wav.is_floating_point() and wav.element_size() < 4 else wav).numpy()


def check(
    wav: np.ndarray | torch.Tensor,
    name: str = "waveform",
    sr: int | None = None,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> np.ndarray:
    """Check a waveform ``[C, n]`` (or ``[n]``) and return it as a float32 numpy array ``[C, n]``.

    Refuses: non-float data, more than 2 dimensions, zero length, NaN/inf samples (after the cast
    to float32, so a float64 value beyond float32's range counts), digital silence (unless
    ``allow_silent``), and more than ``max_seconds`` of audio when ``sr`` (Hz) is given (that one as
    :class:`~hafm.errors.AudioTooLongError`, an ``AudioError`` carrying both lengths).
    """
    x = _to_numpy(wav)
    if not isinstance(x, np.ndarray):
        raise AudioError(f"{name}: expected a waveform tensor or float numpy array, got {type(wav).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise AudioError(f"{name}: expected a float waveform, got dtype {x.dtype}")
    x = np.ascontiguousarray(x[None] if x.ndim == 1 else x, dtype=np.float32)
    if x.ndim != 2:
        raise AudioError(f"{name}: expected shape [channels, samples], got {tuple(x.shape)}")
    if x.size == 0:
        raise AudioError(f"{name}: empty audio (shape {tuple(x.shape)})")
    n_bad = int(x.size - np.isfinite(x).sum())
    if n_bad:
        raise AudioError(f"{name}: contains {n_bad} NaN or infinite samples")
    if not allow_silent and float(np.abs(x).max()) < SILENCE_PEAK:
        raise AudioError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
    if sr is not None:
        _check_length(name, x.shape[1] / sr, max_seconds)
    return x


def validate(
    wav: np.ndarray | torch.Tensor,
    name: str = "waveform",
    sr: int | None = None,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> torch.Tensor:
    """:func:`check` for the model code: the checked waveform as a float32 CPU tensor ``[C, n]``."""
    import torch

    return torch.from_numpy(check(wav, name, sr, max_seconds, allow_silent))


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


def _decode(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """The samples of ``path`` as float32 ``[C, n]`` and its rate in Hz; the length guard is
    checked from the header, before decoding."""
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
    return data.T, int(file_sr)


def read(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: bool = True,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> tuple[np.ndarray, int]:
    """Read an audio file; return ``(wav [C, n] float32 numpy, sample_rate Hz)``.

    ``mono`` averages the channels (C = 1); ``sr`` resamples to that rate. The file is checked
    (see :func:`check`), and checked again after resampling: a clip of a few samples can round to
    none at a lower rate.
    """
    path = Path(path)
    _check_readable(path)
    wav, file_sr = _decode(path, max_seconds)
    if mono:
        wav = downmix(wav)
    wav = check(wav, str(path), sr=file_sr, max_seconds=max_seconds, allow_silent=allow_silent)
    if sr is not None and sr != file_sr:
        wav = check(resample(wav, file_sr, sr), str(path), max_seconds=None, allow_silent=allow_silent)
        file_sr = sr
    return wav, int(file_sr)


def load(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: bool = True,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> tuple[torch.Tensor, int]:
    """:func:`read` for the model code: ``(wav [C, n] float32 tensor, sample_rate Hz)``."""
    import torch

    wav, rate = read(path, sr, mono, max_seconds, allow_silent)
    return torch.from_numpy(wav), rate


def downmix(wav: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Average the channels of ``[C, n]`` into ``[1, n]`` (array or tensor, as given)."""
    return wav.mean(0)[None]


def resample(wav: np.ndarray | torch.Tensor, sr_in: int, sr_out: int) -> np.ndarray | torch.Tensor:
    """Resample ``wav [..., n]`` (time last) from ``sr_in`` to ``sr_out`` Hz: ``[..., round(n * sr_out / sr_in)]``.

    The toolkit's one resampler (soxr "HQ", see the module docstring). Returns what it was given:
    a numpy array (float64 stays float64, anything else becomes float32), or a tensor of the same
    dtype and device (computed on the CPU; no gradient flows through it).
    """
    if sr_in <= 0 or sr_out <= 0:
        raise AudioError(f"resample: sample rates must be positive, got {sr_in} -> {sr_out} Hz")
    if sr_in == sr_out:
        return wav
    if _is_tensor(wav):
        import torch

        out = _resample_array(_to_numpy(wav), int(sr_in), int(sr_out))
        return torch.from_numpy(out).to(device=wav.device, dtype=wav.dtype)
    return _resample_array(np.asarray(wav), int(sr_in), int(sr_out))


def _resample_array(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """``[..., n]`` -> ``[..., n']`` with soxr, which takes ``[n, channels]``: every leading index
    becomes one channel of a single call."""
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    lead, n = x.shape[:-1], x.shape[-1]
    frames = np.ascontiguousarray(x.reshape(-1, n).T, dtype=dtype)
    out = soxr.resample(frames, sr_in, sr_out, quality=RESAMPLE_QUALITY)
    return np.ascontiguousarray(out.T).reshape(*lead, out.shape[0])


def loudness(wav: np.ndarray | torch.Tensor, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm) of ``wav [C, n]`` or ``[n]`` at
    ``sr`` Hz; ``-inf`` for silence. Channels count with weight 1 (mono, stereo: no surround
    weights). Audio shorter than one 400 ms block is measured padded with silence to one block.
    """
    # pyloudnorm pulls in scipy.signal, a noticeable share of a command's start-up: only here.
    import pyloudnorm

    x = check(wav, "loudness input", max_seconds=None, allow_silent=True).astype(np.float64)
    min_len = int(LOUDNESS_BLOCK_S * sr) + 1
    if x.shape[1] < min_len:
        x = np.pad(x, ((0, 0), (0, min_len - x.shape[1])))
    return float(pyloudnorm.Meter(sr, block_size=LOUDNESS_BLOCK_S).integrated_loudness(x.T))


def _writable_format(path: Path) -> str:
    """The soundfile format name of ``path``'s extension (``.wav`` -> WAV, ``.mp3`` -> MP3)."""
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        usable = ", ".join(f".{f.lower()}" for f in ("WAV", "FLAC", "OGG", "MP3") if f in sf.available_formats())
        raise AudioError(f"{path}: cannot write audio with extension {path.suffix!r} "
                         f"(this soundfile/libsndfile {sf.__libsndfile_version__} writes {usable})")
    return fmt


def output_subtype(path: str | os.PathLike, subtype: str | None = None) -> str:
    """The subtype ``write`` writes ``path`` with: ``subtype`` if given, else PCM_16 where the format
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
    """Refuse an output path that cannot take the audio ``write`` would write there, so a long job
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


def _samples_to_write(wav: Any, path: str | os.PathLike, allow_silent: bool) -> np.ndarray:
    """``[C, n]`` samples for :func:`write`: int16 as given (already quantised, e.g. dithered, so
    they are written bit for bit), floats checked."""
    if isinstance(wav, np.ndarray) and wav.dtype == np.int16:
        x = wav[None] if wav.ndim == 1 else wav
        if x.ndim != 2 or x.size == 0:
            raise AudioError(f"{path}: expected int16 samples of shape [channels, samples], got {wav.shape}")
        return x
    return check(wav, str(path), max_seconds=None, allow_silent=allow_silent)


def write(
    path: str | os.PathLike,
    wav: np.ndarray | torch.Tensor,
    sr: int,
    subtype: str | None = None,
    allow_silent: bool = True,
) -> None:
    """Write ``wav [C, n]`` (or ``[n]``) at ``sr`` Hz atomically (temporary file, then rename).

    ``wav`` is float in [-1, 1] (array or tensor), or int16 samples, written as they are.
    ``subtype`` e.g. PCM_16 or FLOAT (default: ``output_subtype``: PCM_16 for wav/flac, Vorbis
    for .ogg, MPEG layer III for .mp3). Float audio is clipped to [-1, 1] except for float
    subtypes (PCM would wrap; the lossy encoders expect full-scale input); silence is allowed by
    default because silent stems (e.g. an absent drum part) are legitimate files.
    """
    data = _samples_to_write(wav, path, allow_silent)
    check_output_path(path, sr=sr, channels=data.shape[0], subtype=subtype)
    subtype = output_subtype(path, subtype)
    if data.dtype != np.int16 and subtype not in ("FLOAT", "DOUBLE"):
        data = np.clip(data, -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data.T, int(sr), subtype=subtype, format=_writable_format(Path(path)))
