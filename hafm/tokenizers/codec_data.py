"""Stems for fitting and evaluating the default codec, read from a MUSDB18(-HQ)-layout tree.

A track folder holds ``vocals.wav``, ``mixture.wav`` and the other stems (``bass``, ``drums``,
``other``); the accompaniment is the sum of every stem except vocals and the mixture. Audio is
read as mono at 24 kHz (the codec's rate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch

from hafm import audio
from hafm.errors import HafmError
from hafm.tokenizers.alignment import ACOUSTIC_SR

STEMS = ("vocals", "accompaniment")
_NOT_ACCOMPANIMENT = {"vocals", "mixture"}


def list_tracks(root: str | Path, split: str) -> list[Path]:
    """Sorted track folders under ``root/split`` that hold a ``vocals.wav``."""
    folder = Path(root) / split
    if not folder.is_dir():
        raise HafmError(f"no {split!r} split in {root} (expected a MUSDB18-HQ layout: {folder}/<track>/vocals.wav)")
    tracks = sorted(p for p in folder.iterdir() if (p / "vocals.wav").is_file())
    if not tracks:
        raise HafmError(f"no tracks with a vocals.wav under {folder}")
    return tracks


def _read(path: Path) -> torch.Tensor:
    wav, _ = audio.load(path, sr=ACOUSTIC_SR, mono=True, max_seconds=None, allow_silent=True)
    return wav[0]


def read_stems(track: Path) -> dict[str, torch.Tensor]:
    """``{"vocals": [n], "accompaniment": [n]}`` mono at 24 kHz for one track folder."""
    others = sorted(p for p in track.glob("*.wav") if p.stem not in _NOT_ACCOMPANIMENT)
    if not others:
        raise HafmError(f"{track}: no accompaniment stems (bass/drums/other .wav) next to vocals.wav")
    vocals = _read(track / "vocals.wav")
    parts = [_read(p) for p in others]
    n = min([len(vocals), *(len(p) for p in parts)])
    accompaniment = torch.stack([p[:n] for p in parts]).sum(dim=0)
    return {"vocals": vocals[:n], "accompaniment": accompaniment}


def iter_stems(tracks: list[Path]) -> Iterator[tuple[str, str, torch.Tensor]]:
    """Yield ``(track name, stem, wav [n])`` for vocals and accompaniment of each track."""
    for track in tracks:
        for stem, wav in read_stems(track).items():
            yield track.name, stem, wav
