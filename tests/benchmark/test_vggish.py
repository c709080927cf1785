"""VGGish front end against librosa's HTK mel filterbank (an independent implementation)."""

import librosa
import numpy as np

from benchmark import vggish


def _librosa_htk() -> np.ndarray:
    weights = librosa.filters.mel(sr=vggish.SAMPLE_RATE, n_fft=vggish.N_FFT, n_mels=vggish.N_MELS,
                                  fmin=vggish.MEL_MIN_HZ, fmax=vggish.MEL_MAX_HZ, htk=True, norm=None).T
    weights[0, :] = 0.0  # VGGish zeroes the DC bin
    return weights


def test_mel_matrix_has_librosas_htk_bands_up_to_triangle_shape():
    # same edges on the same HTK mel scale; triangles linear in mel (VGGish) vs in Hz (librosa)
    ours, theirs = vggish.mel_matrix(), _librosa_htk()
    assert ours.shape == theirs.shape == (257, 64)
    np.testing.assert_allclose(ours, theirs, atol=5e-3)
    assert np.array_equal(ours.argmax(axis=0), theirs.argmax(axis=0))
    assert np.array_equal(ours > 0, theirs > 0)
