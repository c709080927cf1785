"""Property-based fuzzing of the audio loader ``hafm.audio.load`` with generated malformed files.

Files start as real WAV/FLAC files written by soundfile (any rate, channel count, length, sample
format, with or without NaN/inf or silence) and are then damaged the way files get damaged or
forged: truncated, header fields overwritten with boundary values (channels, sample rate, block
size, bits, chunk sizes), junk chunks inserted, bytes flipped, or replaced by noise behind a
plausible magic number.

The contract: ``load`` returns a finite float32 ``[C, n]`` waveform (n > 0, at the asked rate, not
silent, within ``max_seconds``) or raises ``AudioError`` naming the file. Nothing else escapes.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hafm import audio
from hafm.errors import AudioError

# Bounded in the normal suite; the slow-marked test runs the larger profile (CI runs both).
# derandomize: the same examples on every run, so CI is deterministic (no example database either).
_COMMON = dict(deadline=None, database=None, derandomize=True, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("audio-fuzz", max_examples=150, **_COMMON)
settings.register_profile("audio-fuzz-slow", max_examples=1500, **_COMMON)

RATES = [1, 7, 8000, 16000, 22050, 44101, 48000, 192000]
BOUNDARY = [0, 1, 2, 3, 7, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]
# WAV header fields: (name, offset inside the fmt chunk body, size in bytes).
FMT_FIELDS = [("format", 0, 2), ("channels", 2, 2), ("rate", 4, 4), ("byte_rate", 8, 4), ("block_align", 12, 2),
              ("bits", 14, 2)]


def chunks(data: bytes) -> dict[bytes, int]:
    """Offsets of the bodies of the top-level RIFF chunks (first of each id)."""
    found, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        found.setdefault(cid, pos + 8)
        pos += 8 + size + (size & 1)
    return found


@st.composite
def base_file(draw: Any) -> bytes:
    """A real audio file: WAV or FLAC, 1-3 channels, 0-3000 frames, any of ``RATES``."""
    fmt = draw(st.sampled_from(["WAV", "WAV", "WAV", "FLAC"]))
    subtype = draw(st.sampled_from(["PCM_16", "PCM_24", "FLOAT", "PCM_U8"] if fmt == "WAV" else ["PCM_16"]))
    rate = draw(st.sampled_from(RATES if fmt == "WAV" else [8000, 44100]))
    channels, frames = draw(st.integers(1, 3)), draw(st.integers(0, 3000))
    x = np.random.default_rng(frames).uniform(-0.5, 0.5, (frames, channels)) * draw(st.sampled_from([1.0, 0.0, 1e-7]))
    if subtype == "FLOAT" and frames and draw(st.booleans()):
        x[draw(st.integers(0, frames - 1)), 0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e30]))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def set_field(data: bytes, offset: int, size: int, value: int) -> bytes:
    packed = struct.pack("<H" if size == 2 else "<I", value & (0xFFFF if size == 2 else 0xFFFFFFFF))
    return data[:offset] + packed + data[offset + size:]


@st.composite
def damaged_file(draw: Any) -> bytes:
    data = draw(base_file())
    how = draw(st.sampled_from(["none", "truncate", "field", "field", "chunk_size", "junk", "flip", "noise"]))
    found = chunks(data) if data[:4] == b"RIFF" else {}
    value = draw(st.sampled_from(BOUNDARY) | st.integers(0, 2**32 - 1))
    if how == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if how == "field" and b"fmt " in found:
        _, off, size = draw(st.sampled_from(FMT_FIELDS))
        return set_field(data, found[b"fmt "] + off, size, value)
    if how == "chunk_size" and found:
        target = draw(st.sampled_from([4, *(off - 4 for off in found.values())]))  # RIFF size or a chunk's
        return set_field(data, target, 4, value)
    if how == "junk" and b"data" in found:
        pos = found[b"data"] - 8
        body = draw(st.binary(max_size=9))
        return data[:pos] + draw(st.sampled_from([b"junk", b"data", b"fmt ", b"LIST"])) + struct.pack(
            "<I", draw(st.sampled_from([len(body), value]))) + body + data[pos:]
    if how == "flip" and data:
        pos = draw(st.integers(0, len(data) - 1))
        return data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
    if how == "noise":
        return draw(st.sampled_from([b"", b"RIFF", b"fLaC", b"OggS", b"RIFF\x00\x00\x00\x00WAVE"])) + draw(
            st.binary(max_size=200))
    return data


def check_load(path: Path, data: bytes, sr: int | None, mono: bool, max_seconds: float | None) -> None:
    path.write_bytes(data)
    try:
        wav, rate = audio.load(path, sr=sr, mono=mono, max_seconds=max_seconds)
    except AudioError as e:
        assert str(path) in str(e)
        return
    assert isinstance(wav, torch.Tensor) and wav.dtype == torch.float32 and wav.dim() == 2
    assert wav.shape[1] > 0 and torch.isfinite(wav).all() and float(wav.abs().max()) >= audio.SILENCE_PEAK
    assert rate == sr if sr else rate > 0
    assert wav.shape[0] == 1 if mono else wav.shape[0] >= 1
    if max_seconds is not None:
        assert wav.shape[1] <= max_seconds * rate + 1


LOAD_ARGS = dict(sr=st.sampled_from([None, 16000, 24000]), mono=st.booleans(),
                 max_seconds=st.sampled_from([None, 0.01, 1.0, audio.DEFAULT_MAX_SECONDS]))


@settings(settings.get_profile("audio-fuzz"))
@given(data=damaged_file(), **LOAD_ARGS)
def test_load_returns_valid_audio_or_raises_audio_error(tmp_path_factory, data, sr, mono, max_seconds):
    check_load(tmp_path_factory.mktemp("fuzz") / "x.wav", data, sr, mono, max_seconds)


@pytest.mark.slow
@settings(settings.get_profile("audio-fuzz-slow"))
@given(data=damaged_file(), **LOAD_ARGS)
def test_load_returns_valid_audio_or_raises_audio_error_long_run(tmp_path_factory, data, sr, mono, max_seconds):
    check_load(tmp_path_factory.mktemp("fuzz") / "x.wav", data, sr, mono, max_seconds)


def test_a_header_claiming_an_odd_rate_resamples_without_a_huge_kernel(tmp_path):
    # Found by the fuzzer: 44101 Hz -> 24000 Hz took a sinc kernel of about 1e9 taps (gigabytes)
    # with torchaudio's exact-ratio resampler; soxr's costs no more than a standard rate's.
    path = tmp_path / "odd.wav"
    sf.write(path, np.full(4410, 0.1, np.float32), 44101)
    wav, sr = audio.load(path, sr=24000)
    assert sr == 24000 and wav.shape == (1, round(4410 * 24000 / 44101))


def test_standard_rates_still_resample(tmp_path):
    path = tmp_path / "cd.wav"
    sf.write(path, np.full(4410, 0.1, np.float32), 44100)
    wav, sr = audio.load(path, sr=24000)
    assert sr == 24000 and wav.shape == (1, 2400)
