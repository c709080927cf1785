"""Suite-wide guards (offline environment, one thread, no network beyond loopback, caches in a
temporary folder) and the MUSDB18 ``.stem.mp4`` trees every corpus-reading command is tested on."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HAFM_THREADS", "1")

_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise RuntimeError(f"test tried to reach the network ({address!r}); tests must run offline")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    from hafm.runtime import configure_threads

    configure_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _caches_in_tmp(tmp_path_factory) -> None:
    """Embedding and transcription caches in a temporary folder: tests never write to ~/.cache."""
    root = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAFM_EMBEDDING_CACHE", str(root / "embeddings"))
        patch.setenv("HAFM_TRANSCRIPTION_CACHE", str(root / "transcriptions"))
        yield


def _chord_stems(freq: float, seconds: float, sr: int) -> dict[str, np.ndarray]:
    """Stereo ``[n, 2]`` float32 sources: harmonic 1 of ``freq`` is the vocals, 2-4 drums, bass, other."""
    t = np.arange(int(seconds * sr)) / sr
    waves = [(0.1 * np.sin(2 * np.pi * freq * (i + 1) * t)).astype(np.float32) for i in range(4)]
    return {name: np.stack([w, w], axis=1) for name, w in zip(("vocals", "drums", "bass", "other"), waves)}


@pytest.fixture
def make_stems_tree(tmp_path):
    """``make_stems_tree(songs=1) -> root``: a MUSDB18 tree of ``songs`` 2 s ``.stem.mp4`` files per
    subset (AAC via ffmpeg, 44.1 kHz stereo), named ``song <subset>`` (``song <subset> <k>`` after
    the first); the vocals of song k are 220 Hz / (k + 1) (train) or 110 Hz / (k + 1) (test)."""
    pytest.importorskip("stempeg")
    from hafm.testing import write_track

    def make(songs: int = 1) -> Path:
        root = tmp_path / "musdb18"
        for subset, freq in (("train", 220.0), ("test", 110.0)):
            for k in range(songs):
                name = f"song {subset}" + (f" {k}" if k else "")
                write_track(root, subset, name, _chord_stems(freq / (k + 1), 2.0, 44_100), 44_100, stem_mp4=True)
        return root

    return make


@pytest.fixture
def stems_tree(make_stems_tree) -> Path:
    """A MUSDB18 tree with one 2 s ``.stem.mp4`` per subset (see ``make_stems_tree``)."""
    return make_stems_tree()
