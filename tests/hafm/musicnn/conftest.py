"""Fixtures for the musicnn tests: the parity fixture (reference port outputs on a 6 s signal).

``data/musicnn_parity.json`` is a copy of ``shared/fixtures/musicnn_parity.json``; its README
(``data/musicnn_parity.README.md``) describes the signal, the front end and the tolerances.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from hafm.musicnn import load_musicnn

FIXTURE = Path(__file__).parent / "data" / "musicnn_parity.json"


@pytest.fixture(scope="session")
def parity() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="session")
def parity_audio(parity: dict) -> np.ndarray:
    """The fixture's 6 s input, ``[96000]`` float32 at 16 kHz."""
    raw = base64.b64decode(parity["input"]["samples_base64_float32_le"])
    return np.frombuffer(raw, "<f4").astype(np.float32)


@pytest.fixture(scope="session")
def parity_log_mel(parity: dict) -> np.ndarray:
    """The fixture's exact log-mel, ``[376, 96]`` float32."""
    return np.asarray(parity["logmel"]["full_float16_exact"], dtype=np.float32)


@pytest.fixture(scope="session")
def models() -> dict:
    """All four pretrained models, loaded once."""
    return {name: load_musicnn(name) for name in ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")}
