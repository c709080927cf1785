"""The pretrained models themselves, on synthetic tones with a known answer (offline, weights in the wheels)."""

import numpy as np
import pytest

from benchmark.music.transcribe import BasicPitch
from benchmark.music.vocal import Crepe

SR = 24_000


def test_basic_pitch_transcribes_a_c_major_triad(tones):
    model = BasicPitch()
    notes = model.decode(model.model_output(tones([60, 64, 67]), SR))
    assert {60, 64, 67} <= set(np.round(notes.pitch).astype(int).tolist())


def test_basic_pitch_posteriorgrams_have_88_keys_at_86_frames_per_second(tones):
    out = BasicPitch().model_output(tones([69], seconds=1.0), SR)
    assert out["note"].shape[1] == 88 and abs(out["note"].shape[0] - 86) <= 1


def test_crepe_tracks_a_sung_a4_as_one_note(tones):
    model = Crepe()
    output = model.model_output(tones([69], seconds=1.0), SR)
    assert np.round(model.decode(output).pitch).astype(int).tolist() == [69]
    _, f0 = model.contour(output)
    assert np.nanmedian(f0) == pytest.approx(440.0, rel=0.01)


def test_decoding_settings_do_not_change_the_cache_key_but_weights_do():
    assert BasicPitch(onset_threshold=0.1).fingerprint == BasicPitch().fingerprint
    assert Crepe(model="tiny").fingerprint != Crepe(model="full").fingerprint
