"""The validation run on a tiny constructed corpus, with fake transcribers (the plumbing and the truth rows)."""

import json

import numpy as np
import pytest
import soundfile as sf

from benchmark.music import bench
from benchmark.music.corpus import corpus_clips
from benchmark.music.metrics import Transcribers
from benchmark.music.notes import Notes
from benchmark.music.validate import conditions, damaged, partners, validate

SR = 24_000
BEATS = np.arange(0, 4, 0.5)


@pytest.fixture
def corpus(tmp_path, tones):
    """Two 4 s test songs: a held vocal an octave or two above its bass, notes.json on a 0.5 s beat."""
    for i, key in enumerate((0, 2)):
        folder = tmp_path / "test" / f"song{i}"
        folder.mkdir(parents=True)
        for stem, pitch in (("vocals", 72 + key), ("bass", 48 + key), ("other", 60 + key)):
            sf.write(folder / f"{stem}.wav", tones([pitch], seconds=4.0), SR, subtype="FLOAT")
        notes = [{"onset_s": float(t), "offset_s": t + 0.5, "pitch": p + key, "stem": stem}
                 for t in BEATS for stem, p in (("vocals", 72), ("bass", 48))]
        (folder / "notes.json").write_text(json.dumps({"notes": notes}))
    return tmp_path


def test_conditions_cover_the_issue_s_damages():
    names = [c.name for c in conditions()]
    assert len(set(names)) == len(names)
    assert {f"transpose_{k}" for k in range(1, 7)} | {"shift_250", "shift_500", "noise", "other_song"} <= set(names)
    assert {f"codec_{k}" for k in (1, 2, 4, 8)} <= set(names) and any(n.startswith("tempo_") for n in names)


def test_partners_are_clips_of_other_songs(corpus):
    clips = corpus_clips(corpus, "test", per_song=2, seconds=1.5)
    assert all(clips[j].track != c.track for c, j in zip(clips, partners(clips)))


def test_reference_and_other_song_conditions():
    audio, notes = np.ones(10, np.float32), Notes.empty()
    partner = (np.zeros(10, np.float32), Notes.empty())
    reference, other = conditions()[0], conditions()[-1]
    assert damaged(reference, audio, notes, partner, 0)[0] is audio
    assert damaged(other, audio, notes, partner, 0) is partner


def test_validation_rows_hold_truth_and_transcription_for_every_condition(corpus, tmp_path, monkeypatch,
                                                                        fake_tracker, line):
    fake = Transcribers(accompaniment=fake_tracker(line([48] * 6, BEATS[:6], 0.5)),
                        vocal=fake_tracker(line([72] * 6, BEATS[:6], 0.5)))
    monkeypatch.setattr(bench, "cached_transcribers", lambda: fake)
    rows = validate(corpus, tmp_path / "out", per_song=1, seconds=2.0, max_songs=2)
    assert (tmp_path / "out" / "_cache" / "metrics_validation.csv").exists()
    assert len(rows) == 2 * len(conditions()) * 2 and set(rows.source) == {"true", "transcribed"}
    true = rows[rows.source == "true"].set_index(["clip_id", "condition"])
    clip = rows.clip_id.iloc[0]
    assert true.loc[(clip, "ground_truth"), "harmony"] == 1.0  # the vocal doubles its bass
    assert true.loc[(clip, "transpose_6"), "harmony"] == 0.0  # a tritone is dissonant
    assert true.loc[(clip, "shift_250"), "rhythm"] < true.loc[(clip, "ground_truth"), "rhythm"]
    assert true.loc[(clip, "other_song"), "harmony"] == 0.0  # a tone away from the other song's vocal
    assert rows[rows.source == "transcribed"][["harmony_chroma", "rhythm_xcorr", "tonality"]].notna().all().all()
