import numpy as np
import pytest

from benchmark.music.cache import TranscriptionCache
from hafm.errors import StaleCacheError


class Counting:
    name = "counting"
    outputs = ("x",)

    def __init__(self, fingerprint="a" * 64):
        self.fingerprint, self.calls = fingerprint, 0

    def model_output(self, wav, sr):
        self.calls += 1
        return {"x": np.asarray(wav[:3], dtype=np.float32) * 2}


def test_second_request_for_the_same_audio_is_read_from_disk(tmp_path):
    cache, backend, wav = TranscriptionCache(tmp_path), Counting(), np.arange(10, dtype=np.float32)
    first = cache.output(backend, wav, 24_000)
    second = cache.output(backend, wav, 24_000)
    assert backend.calls == 1 and np.array_equal(first["x"], second["x"])


def test_other_audio_is_computed_again(tmp_path):
    cache, backend = TranscriptionCache(tmp_path), Counting()
    cache.output(backend, np.zeros(10, np.float32), 24_000)
    cache.output(backend, np.ones(10, np.float32), 24_000)
    assert backend.calls == 2


def test_an_entry_of_another_model_in_the_path_is_refused(tmp_path):
    cache, wav = TranscriptionCache(tmp_path), np.zeros(10, np.float32)
    cache.output(Counting(), wav, 24_000)
    other = Counting("a" * 16 + "b" * 48)  # same 16-character folder, different fingerprint
    with pytest.raises(StaleCacheError):
        cache.output(other, wav, 24_000)
