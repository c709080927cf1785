import pytest

from hafm.testing import melody, write_track

SR = 24_000


def notes(pitches, beat_s, sr=SR, seconds=6.0, amp=0.3):
    """A melody of decaying sine notes, one per beat, cycling through ``pitches`` (MIDI)."""
    return melody(pitches, beat_s, sr, seconds, amp)


@pytest.fixture
def song():
    """Vocal in C major on a 0.5 s beat and a matching accompaniment (same beat, same chords)."""
    vocals = notes([72, 76, 79, 76], 0.5)
    accomp = notes([48, 52, 55, 52], 0.5) + notes([60, 64, 67, 64], 0.5, amp=0.2)
    return vocals, accomp


@pytest.fixture
def other_song():
    """An unrelated accompaniment: F# major, 0.37 s beat."""
    return notes([54, 58, 61, 58], 0.37) + notes([66, 70, 73, 70], 0.37, amp=0.2)


def write_songs(root, songs_per_split: int, seconds: float, stem_mp4: bool = False):
    """Songs ``song0 ..`` (train) then the test songs, 24 kHz mono: a vocal melody, a bass line and
    an "other" part on one beat per song, silent drums; each song shifted up a semitone from the last."""
    for split, base in (("train", 0), ("test", songs_per_split)):
        for i in range(songs_per_split):
            shift, beat = base + i, 0.4 + 0.05 * i
            stems = {"vocals": notes([72 + shift, 76 + shift, 79 + shift], beat, seconds=seconds),
                     "bass": notes([48 + shift, 55 + shift], beat, seconds=seconds),
                     "other": 0.5 * notes([60 + shift, 64 + shift], 0.8 + 0.1 * i, seconds=seconds)}
            write_track(root, split, f"song{base + i}", stems, SR, stem_mp4=stem_mp4)
    return root


@pytest.fixture
def tiny_musdb(tmp_path):
    """A MUSDB18-HQ tree: 4 train + 4 test songs of 12 s at 24 kHz mono, melodies on a beat."""
    return write_songs(tmp_path / "musdb", 4, 12.0)

