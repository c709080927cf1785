"""Tests of hafm.data.musdb_io on tiny MUSDB18-HQ (wav) and MUSDB18 (stem.mp4) trees."""

import numpy as np
import pytest
import soundfile as sf

from hafm.data import musdb_io
from hafm.errors import AudioError, HafmError


def test_detects_wav_tree(hq_tree):
    assert musdb_io.detect_is_wav(hq_tree) is True


def test_open_db_counts_tracks_per_subset(hq_tree):
    assert len(musdb_io.open_db(hq_tree, "train")) == 2 and len(musdb_io.open_db(hq_tree)) == 3


def test_iter_tracks_yields_mono_vocals_and_summed_accompaniment(hq_tree):
    name, vocals, accomp, sr = next(musdb_io.iter_tracks(hq_tree, "train"))
    folder = hq_tree / "train" / name
    expected = sum(sf.read(folder / f"{s}.wav", dtype="float32")[0].mean(axis=1) for s in ("drums", "bass", "other"))
    assert name == "A - one" and sr == 8_000 and vocals.shape == (8_000,) and vocals.dtype == np.float32
    assert np.allclose(accomp, expected, atol=1e-6)


def test_iter_tracks_resamples(hq_tree):
    track = next(musdb_io.iter_tracks(hq_tree, "test", sr=16_000))
    assert track.sr == 16_000 and track.vocals.shape == (32_000,)


def test_not_a_tree_is_refused(tmp_path):
    with pytest.raises(HafmError, match="no train/ or test/"):
        musdb_io.open_db(tmp_path)


def test_unknown_subset_is_refused(hq_tree):
    with pytest.raises(HafmError, match="unknown subset"):
        musdb_io.open_db(hq_tree, "valid")


def test_missing_stem_is_refused(hq_tree):
    (hq_tree / "train" / "A - one" / "bass.wav").unlink()
    with pytest.raises(HafmError, match="lacks stems \\['bass'\\]"):
        next(musdb_io.iter_tracks(hq_tree, "train"))


def test_stems_of_different_length_are_refused(hq_tree):
    sf.write(hq_tree / "train" / "A - one" / "drums.wav", np.zeros((100, 2), dtype=np.float32), 8_000)
    with pytest.raises(AudioError, match="different lengths"):
        next(musdb_io.iter_tracks(hq_tree, "train"))


def test_stem_with_nan_is_refused_naming_the_file(hq_tree):
    path = hq_tree / "train" / "A - one" / "vocals.wav"
    data, sr = sf.read(path, dtype="float32")
    data[10] = np.nan
    sf.write(path, data, sr, subtype="FLOAT")
    with pytest.raises(AudioError, match="vocals.wav: stem contains 1 NaN"):
        next(musdb_io.iter_tracks(hq_tree, "train"))


@pytest.mark.slow
def test_reads_stem_mp4_tree(stems_tree):
    tracks = list(musdb_io.iter_tracks(stems_tree))
    assert musdb_io.detect_is_wav(stems_tree) is False
    assert [t.name for t in tracks] == ["song train", "song test"] and tracks[0].sr == 44_100
    # vocals is the 220 Hz stem (stream 4); AAC keeps the frequency of a pure tone
    spectrum = np.abs(np.fft.rfft(tracks[0].vocals[:44_100]))
    assert abs(int(np.argmax(spectrum)) - 220) <= 2


def test_a_wav_tree_is_indexed_from_headers_without_ffprobe(hq_tree, monkeypatch):
    import stempeg
    import stempeg.read

    def no_ffprobe(path, *args, **kwargs):
        raise AssertionError(f"ffprobe started for {path}")

    monkeypatch.setattr(stempeg.read.ffmpeg, "probe", no_ffprobe)
    real = stempeg.Info
    tracks = {t.name: t for t in musdb_io.open_db(hq_tree, "train")}
    track = tracks["B - two"]
    assert (track.rate, track.samples, track.duration) == (8_000, 12_000, 1.5)
    assert track.info.channels() == 2
    assert stempeg.Info is real


def test_what_a_wav_header_cannot_answer_still_comes_from_stempeg(hq_tree):
    track = musdb_io.open_db(hq_tree, "test")[0]
    assert track.info.nb_audio_streams == 1
