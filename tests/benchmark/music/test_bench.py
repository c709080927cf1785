"""The benchmark's per-clip rows, with the real models on a synthetic song (offline)."""

import types

import pytest

from benchmark.music.bench import clip_rows, music_identity
from benchmark.music.metrics import COLUMNS

SR = 24_000


@pytest.fixture
def rows(song, other_song, tmp_path, monkeypatch):
    monkeypatch.setenv("HAFM_TRANSCRIPTION_CACHE", str(tmp_path))
    vocals, accomp = song
    clip = types.SimpleNamespace(clip_id="song@0.00", track="song", vocals=vocals)
    outputs = {"ground_truth": {"song@0.00": accomp}, "random": {"song@0.00": other_song}}
    return {r["system"]: r for r in clip_rows(outputs, [clip], SR, workers=1)}


def test_rows_hold_the_proxies_and_every_music_metric(rows):
    assert set(COLUMNS) | {"rhythm_xcorr", "harmony_chroma", "tonality", "clip_id", "track"} <= set(rows["random"])


def test_matching_accompaniment_beats_another_song_on_harmony_and_rhythm(rows):
    truth, other = rows["ground_truth"], rows["random"]
    assert truth["harmony"] > other["harmony"] and truth["rhythm"] > other["rhythm"]


def test_music_identity_is_stable():
    assert music_identity() == music_identity() and len(music_identity()) == 16
