"""Tests of hafm.data.corpus: planning, split, and an end-to-end render of two chorales."""

import json

import numpy as np
import pytest
import soundfile as sf

from hafm.data import corpus
from hafm.data.musdb_io import iter_tracks, open_db


def test_split_is_deterministic_and_sized():
    ids = [f"bwv{i}" for i in range(200)]
    test = [c for c in ids if corpus.split_of(c, ids, seed=0, n_test=20) == "test"]
    again = [c for c in ids if corpus.split_of(c, ids, seed=0, n_test=20) == "test"]
    assert len(test) == 20 and test == again


def test_plan_crosses_augmentations_and_keeps_split(short_chorales):
    config = corpus.CorpusConfig(transposes=[0, 2], tempo_factors=[1.0, 1.1], patch_sets=[None], n_test=1)
    jobs = corpus.plan_jobs(short_chorales, config)
    assert len(jobs) == 8 and len({j.track for j in jobs}) == 8
    assert "bwv101.7_t+2_x1.1" in {j.track for j in jobs}
    splits = {j.chorale_id: set() for j in jobs}
    for j in jobs:
        splits[j.chorale_id].add(j.split)
    assert all(len(s) == 1 for s in splits.values())


def test_augmentation_plans_random_variants_of_training_chorales_only(short_chorales):
    from hafm.data.splits import song_of

    config = corpus.CorpusConfig(n_test=1, augment=2)
    jobs = corpus.plan_jobs(short_chorales, config)
    test_ids = {c for c in short_chorales if corpus.split_of(c, sorted(short_chorales), 0, 1) == "test"}
    train_ids = set(short_chorales) - test_ids
    assert sorted(j.chorale_id for j in jobs) == sorted(2 * list(train_ids))
    assert all(j.split == "train" and (j.transpose, j.tempo_factor) != (0, 1.0) for j in jobs)
    assert {song_of(j.track) for j in jobs} == train_ids
    assert len({(j.chorale_id, j.transpose, j.tempo_factor) for j in jobs}) == len(jobs)
    assert [j.track for j in corpus.plan_jobs(short_chorales, config)] == [j.track for j in jobs]


@pytest.fixture(scope="module")
def built(tmp_path_factory, short_chorales):
    root = tmp_path_factory.mktemp("chorales")
    config = corpus.CorpusConfig(n_test=1, workers=1, drums=True)
    manifest = corpus.build_corpus(root, config, progress=False, chorales=short_chorales)
    return root, config, manifest


@pytest.mark.slow
def test_musdb_reads_the_rendered_tree(built):
    root, _, _ = built
    db = open_db(root)
    assert sorted(t.name for t in db) == ["bwv101.7", "bwv139.6"] and {t.rate for t in db} == {24_000}


@pytest.mark.slow
def test_rendered_mixture_is_sum_of_stems(built):
    root, _, manifest = built
    entry = manifest["tracks"]["bwv139.6"]
    folder = root / entry["split"] / "bwv139.6"
    stems = {k: sf.read(folder / f"{k}.wav", dtype="int16")[0].astype(np.int32) for k in corpus.FILES}
    assert np.array_equal(stems["vocals"] + stems["bass"] + stems["drums"] + stems["other"], stems["mixture"])


@pytest.mark.slow
def test_no_leading_silence(built):
    root, _, _ = built
    track = next(iter_tracks(root, "train"))
    mix = track.vocals + track.accompaniment
    assert np.argmax(np.abs(mix) > 1e-3) < 0.05 * track.sr


@pytest.mark.slow
def test_manifest_and_notes(built):
    root, _, manifest = built
    entry = manifest["tracks"]["bwv101.7"]
    notes = json.loads((root / entry["split"] / "bwv101.7" / "notes.json").read_text())
    assert set(entry["sha256"]) == set(corpus.FILES) and entry["sample_rate"] == 24_000
    assert {n["part"] for n in notes["notes"]} == {"soprano", "alto", "tenor", "bass"}
    assert max(n["offset_s"] for n in notes["notes"]) < entry["duration_s"]
    assert manifest["summary"]["test"]["tracks"] == 1


@pytest.mark.slow
def test_rerun_skips_and_repairs_tampered_track(built, short_chorales):
    root, config, manifest = built
    entry = manifest["tracks"]["bwv139.6"]
    vocals = root / entry["split"] / "bwv139.6" / "vocals.wav"
    untouched = root / manifest["tracks"]["bwv101.7"]["split"] / "bwv101.7" / "vocals.wav"
    mtime = untouched.stat().st_mtime_ns
    vocals.write_bytes(b"garbage")
    again = corpus.build_corpus(root, config, progress=False, chorales=short_chorales)
    assert untouched.stat().st_mtime_ns == mtime
    assert again["tracks"]["bwv139.6"]["sha256"]["vocals"] == entry["sha256"]["vocals"]


@pytest.mark.slow
def test_notes_match_the_pitch_of_the_vocal_stem(built):
    """Each long soprano note's spectral peak is the notated pitch class (labels align with audio)."""
    root, _, manifest = built
    folder = root / manifest["tracks"]["bwv101.7"]["split"] / "bwv101.7"
    vocals, sr = sf.read(folder / "vocals.wav")
    notes = [n for n in json.loads((folder / "notes.json").read_text())["notes"]
             if n["part"] == "soprano" and n["offset_s"] - n["onset_s"] >= 0.3]
    window = np.hanning(int(0.2 * sr))
    freqs = np.fft.rfftfreq(8 * len(window), 1 / sr)
    band = (freqs > 80) & (freqs < 1500)
    hits = 0
    for n in notes:
        start = int((n["onset_s"] + 0.1) * sr)
        spectrum = np.abs(np.fft.rfft(vocals[start:start + len(window)] * window, 8 * len(window)))
        midi = 69 + 12 * np.log2(freqs[band][np.argmax(spectrum[band])] / 440)
        hits += min((midi - n["pitch"]) % 12, (n["pitch"] - midi) % 12) < 0.5
    assert len(notes) > 20 and hits >= 0.9 * len(notes)


def test_an_out_path_that_is_a_file_is_refused_and_kept(tmp_path):
    from hafm.errors import HafmError

    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    with pytest.raises(HafmError, match="notes.txt: exists and is not a folder"):
        corpus.build_corpus(path, corpus.CorpusConfig(), progress=False, chorales={})
    assert path.read_text() == "keep me"
