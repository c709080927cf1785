"""Polyphonic note transcription with basic-pitch (Spotify, ICASSP 2022), run by onnxruntime.

``basic-pitch==0.4.0`` ships its model as ONNX inside the wheel (``nmp.onnx``, 230 kB); the wheel
is installed ``--no-deps`` (its metadata asks for TensorFlow on Python 3.11) and only its ONNX
path is used, so nothing downloads. The model pass reproduces ``basic_pitch.inference.
run_inference`` on an array instead of a file (22.05 kHz, 2 s windows with 30 frames of
overlap, batched), and note decoding is basic-pitch's own ``output_to_notes_polyphonic``.

The model pass (note and onset posteriorgrams ``[T, 88]`` at 86 frames/s) is what the cache
stores; ``decode`` turns them into ``Notes`` and ``onset_times`` into the part's onsets (for
the rhythm metrics) with thresholds that were chosen on validation
songs against the corpus' true notes (``benchmark.music.fit``), never on test songs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from benchmark.music.notes import Notes
from benchmark.music.onsets import posteriorgram_onsets
from hafm.audio import resample
from hafm.fileio import sha256_file, sha256_json

VERSION = "basic-pitch==0.4.0"
N_OVERLAP_FRAMES = 30  # as basic_pitch.inference.run_inference


@cache
def _basic_pitch():
    """basic_pitch's modules, imported with its warnings about absent TF/CoreML/TFLite silenced."""
    logging.disable(logging.WARNING)
    try:
        import basic_pitch
        from basic_pitch import constants, inference, note_creation
    finally:
        logging.disable(logging.NOTSET)
    return basic_pitch, constants, inference, note_creation


def onnx_model_path() -> Path:
    bp = _basic_pitch()[0]
    return Path(bp.build_icassp_2022_model_path(bp.FilenameSuffix.onnx))


@dataclass
class BasicPitch:
    """Accompaniment transcriber. Thresholds: posterior levels in [0, 1]; ``min_note_ms``: shortest
    note; ``onset_lag_s``: the model's median onset latency, subtracted from every note;
    ``peak_threshold`` / ``peak_lag_s``: the onset-posterior peaks kept as the part's onsets
    (``onset_times``) and their latency (s)."""

    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    min_note_ms: float = 127.7
    onset_lag_s: float = 0.0
    peak_threshold: float = 0.7
    peak_lag_s: float = 0.025
    name: str = "basic_pitch"
    outputs: tuple[str, ...] = field(default=("note", "onset"), init=False, repr=False)
    _session: object = field(default=None, init=False, repr=False)
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """Model pass identity: package version, windowing and the ONNX file's sha256."""
        if self._fingerprint is None:
            self._fingerprint = sha256_json({"name": self.name, "version": VERSION, "overlap": N_OVERLAP_FRAMES,
                                             "weights": sha256_file(onnx_model_path())})
        return self._fingerprint

    def session(self):
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1  # the benchmark parallelises over processes instead
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(onnx_model_path()), opts, providers=["CPUExecutionProvider"])
        return self._session

    def model_output(self, wav: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        """Mono ``[n]`` at ``sr`` Hz -> ``{"note", "onset"}`` posteriorgrams ``[T, 88]`` float16."""
        _, const, inference, _ = _basic_pitch()
        audio = resample(np.asarray(wav, dtype=np.float32), sr, const.AUDIO_SAMPLE_RATE)
        overlap = N_OVERLAP_FRAMES * const.FFT_HOP
        padded = np.concatenate([np.zeros(overlap // 2, dtype=np.float32), audio])
        windows = np.stack([w for w, _ in inference.window_audio_file(padded, const.AUDIO_N_SAMPLES - overlap)])
        note, onset = self.session().run(["StatefulPartitionedCall:1", "StatefulPartitionedCall:2"],
                                         {"serving_default_input_2:0": windows})
        return {k: inference.unwrap_output(v, len(audio), N_OVERLAP_FRAMES).astype(np.float16)
                for k, v in (("note", note), ("onset", onset))}

    def decode(self, output: dict[str, np.ndarray]) -> Notes:
        """Posteriorgrams -> ``Notes`` (confidence: the note's mean frame posterior)."""
        _, const, _, nc = _basic_pitch()
        frames, onsets = (np.asarray(output[k], dtype=np.float32) for k in ("note", "onset"))
        if len(frames) < 2:
            return Notes.empty()
        min_len = int(np.round(self.min_note_ms / 1000 * const.AUDIO_SAMPLE_RATE / const.FFT_HOP))
        events = nc.output_to_notes_polyphonic(frames, onsets, onset_thresh=self.onset_threshold,
                                               frame_thresh=self.frame_threshold, min_note_len=min_len,
                                               infer_onsets=True, max_freq=None, min_freq=None,
                                               melodia_trick=True)
        if not events:
            return Notes.empty()
        times = nc.model_frames_to_time(len(frames))
        rows = [(times[s], times[min(e, len(times) - 1)], p, a) for s, e, p, a in events]
        return Notes.from_array(np.array(rows, dtype=np.float64)).earlier(self.onset_lag_s)

    def onset_times(self, output: dict[str, np.ndarray]) -> np.ndarray:
        """Posteriorgrams -> the part's onsets ``[m]`` (s): peaks of the onset posterior over all
        pitches (``onsets.posteriorgram_onsets``), sharper than the decoded notes' onsets."""
        _, _, _, nc = _basic_pitch()
        onset = np.asarray(output["onset"], dtype=np.float32)
        return posteriorgram_onsets(onset, nc.model_frames_to_time(len(onset)), self.peak_threshold, self.peak_lag_s)
