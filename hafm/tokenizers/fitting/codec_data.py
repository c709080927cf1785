"""Stems for fitting and evaluating the default codec, read from a MUSDB18 / MUSDB18-HQ tree.

Reading goes through ``hafm.data.musdb_io`` (musdb), so the generated chorale corpus, MUSDB18-HQ
wav folders and MUSDB18 ``.stem.mp4`` files all work. Each track gives two stems, mono at 24 kHz:
``vocals`` and ``accompaniment`` (the sum of the non-vocal stems).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from hafm.data import musdb_io
from hafm.tokenizers.alignment import ACOUSTIC_HOP, ACOUSTIC_SR

STEMS = musdb_io.STEMS


def count_frames(tracks: list) -> int:
    """MDCT frames (75 Hz) of vocals + accompaniment of ``tracks``, from their durations."""
    return sum(2 * math.ceil(track.duration * ACOUSTIC_SR / ACOUSTIC_HOP) for track in tracks)


def iter_stems(tracks: list) -> Iterator[tuple[str, str, torch.Tensor]]:
    """Yield ``(track name, stem, wav [n])`` at 24 kHz for vocals and accompaniment of each track."""
    for track in tracks:
        audio = musdb_io.read_track(track, sr=ACOUSTIC_SR)
        yield audio.name, "vocals", torch.from_numpy(audio.vocals)
        yield audio.name, "accompaniment", torch.from_numpy(audio.accompaniment)
