"""Fixtures for the semantic tokenizer tests: a tiny synthetic corpus in MUSDB18 layout.

Each track has four parts of decaying harmonic notes (soprano -> vocals, alto + tenor -> other,
bass -> bass) at 24 kHz, and a ``notes.json`` like the chorale corpus's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 24_000
PARTS = {"soprano": ("vocals", (67, 79)), "alto": ("other", (60, 72)),
         "tenor": ("other", (53, 65)), "bass": ("bass", (40, 52))}


def synth_part(rng: np.random.Generator, seconds: float, pitch_range: tuple[int, int], beat_s: float):
    """A part of one note per beat: ``(audio [n] float32, notes [(onset s, offset s, midi)])``."""
    n = int(seconds * SR)
    out = np.zeros(n, dtype=np.float32)
    step = int(beat_s * SR)
    t = np.arange(step) / SR
    notes = []
    for start in range(0, n - step + 1, step):
        pitch = int(rng.integers(*pitch_range))
        f = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 4))
        out[start:start + step] += (0.15 * tone * np.exp(-t / 0.4)).astype(np.float32)
        notes.append((start / SR, (start + step) / SR, pitch))
    return out, notes


def make_track(folder: Path, seed: int, seconds: float) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    stems = {"vocals": 0.0, "other": 0.0, "bass": 0.0}
    notes = []
    for part, (stem, pitch_range) in PARTS.items():
        audio, part_notes = synth_part(rng, seconds, pitch_range, beat_s=0.5)
        stems[stem] = stems[stem] + audio
        notes += [{"part": part, "stem": stem, "onset_s": a, "offset_s": b, "pitch": p} for a, b, p in part_notes]
    stems["drums"] = np.zeros(int(seconds * SR), dtype=np.float32)
    for stem, audio in stems.items():
        sf.write(folder / f"{stem}.wav", audio, SR, subtype="PCM_16")
    sf.write(folder / "mixture.wav", sum(stems.values()), SR, subtype="PCM_16")
    (folder / "notes.json").write_text(json.dumps({"track": folder.name, "notes": notes}))


def make_corpus(root: Path, n_train: int = 3, n_test: int = 2, seconds: float = 3.0) -> Path:
    for i in range(n_train):
        make_track(root / "train" / f"train_{i:02d}", seed=i, seconds=seconds)
    for i in range(n_test):
        make_track(root / "test" / f"test_{i:02d}", seed=100 + i, seconds=seconds)
    return root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 train + 2 test tracks of 3 s each."""
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def wav_16k() -> np.ndarray:
    """2.3 s of two-note audio at 16 kHz (not a whole number of 40 ms blocks)."""
    t = np.arange(36_817) / 16_000
    return (0.3 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * 523 * t) * (t > 1)).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_hubert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 3-layer HuBERT (hop 320 like the real one) saved to a folder."""
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    config = HubertConfig(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
                          conv_dim=(8,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    folder = tmp_path_factory.mktemp("hubert")
    HubertModel(config).eval().save_pretrained(folder)
    return folder
