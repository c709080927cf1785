"""Fixtures for the tokenizer tests: small synthetic music (seconds, not minutes) at 24 kHz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 24_000


def synth_melody(rng: np.random.Generator, seconds: float, pitch_range: tuple[int, int], beat_s: float,
                 amp: float, sr: int = SR) -> np.ndarray:
    """Decaying harmonic notes (4 partials), one per beat, random MIDI pitches in ``pitch_range``."""
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    step = int(beat_s * sr)
    t = np.arange(step) / sr
    for start in range(0, n - step + 1, step):
        f = 440.0 * 2 ** ((rng.integers(*pitch_range) - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 5))
        out[start:start + step] += (amp * tone * np.exp(-t / 0.3)).astype(np.float32)
    return out


@pytest.fixture
def codec_audio() -> torch.Tensor:
    """``[2, 1, n]``: a 3 s vocal-like melody and a 3 s two-voice accompaniment, n odd (not a multiple of 320)."""
    rng = np.random.default_rng(0)
    seconds = 3.0 + 7 / SR
    vocal = synth_melody(rng, seconds, (60, 80), 0.4, 0.2)
    accomp = synth_melody(rng, seconds, (36, 50), 0.8, 0.2) + synth_melody(rng, seconds, (48, 66), 0.2, 0.1)
    return torch.from_numpy(np.stack([vocal, accomp]))[:, None]


def write_musdb_tree(root: Path, tracks: dict[str, int], seconds: float = 2.0) -> Path:
    """A MUSDB18-HQ-layout tree: ``root/<split>/<track>/{vocals,bass,drums,other,mixture}.wav`` (stereo).

    Odd tracks are written at 44.1 kHz so the resampling path is exercised.
    """
    rng = np.random.default_rng(1)
    for split, count in tracks.items():
        for i in range(count):
            folder = root / split / f"track{i:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            sr = 44_100 if i % 2 else SR
            stems = {
                "vocals": synth_melody(rng, seconds, (60, 80), 0.4, 0.2, sr),
                "bass": synth_melody(rng, seconds, (36, 50), 0.8, 0.2, sr),
                "drums": (0.02 * rng.standard_normal(int(seconds * sr))).astype(np.float32),
                "other": synth_melody(rng, seconds, (48, 66), 0.2, 0.1, sr),
            }
            stems["mixture"] = sum(stems.values())
            for name, wav in stems.items():
                sf.write(folder / f"{name}.wav", np.stack([wav, wav], axis=1), sr)
    return root


@pytest.fixture
def musdb_tree(tmp_path: Path) -> Path:
    """3 train and 2 test tracks of 2 s each."""
    return write_musdb_tree(tmp_path / "musdb", {"train": 3, "test": 2})


@pytest.fixture
def small_fit_config():
    """8 stages of 16 codes, a few Lloyd iterations: fits in well under a second."""
    from hafm.tokenizers.fitting.codec import CodecFitConfig

    return CodecFitConfig(codebook_size=16, max_frames=10_000, kmeans_iters=4, init_frames=500)


def fit_small_codec(codec_audio: torch.Tensor, config, transform: str):
    """A residual k-means codec (8 x 16 codes) of ``transform`` fitted on ``codec_audio`` itself."""
    import dataclasses

    from hafm.tokenizers.codec import RvqCodec
    from hafm.tokenizers.fitting.codec import fit_codebooks

    config = dataclasses.replace(config, transform=transform)
    frames = config.make_transform().analyze(codec_audio[:, 0])
    codebooks, _ = fit_codebooks(frames.reshape(-1, frames.shape[-1]), config)
    return RvqCodec(codebooks, {"codec": f"{transform}-rvq"})


@pytest.fixture(params=["logmag", "mdct"])
def small_codec(request, codec_audio, small_fit_config):
    """Each residual k-means codec (log-magnitude default, MDCT), 8 x 16 codes, fitted on ``codec_audio``."""
    return fit_small_codec(codec_audio, small_fit_config, request.param)


@pytest.fixture
def small_mdct_codec(codec_audio, small_fit_config):
    """The MDCT codec (8 x 16 codes) fitted on ``codec_audio``: its waveform error is monotone."""
    return fit_small_codec(codec_audio, small_fit_config, "mdct")


@pytest.fixture
def small_logmag_codec(codec_audio, small_fit_config):
    """The log-magnitude codec (8 x 16 codes) fitted on ``codec_audio``."""
    return fit_small_codec(codec_audio, small_fit_config, "logmag")
