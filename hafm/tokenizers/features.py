"""50 Hz frame features for the semantic tokenizer: musicnn (default), MFCC + chroma, HuBERT.

Each extractor maps mono 16 kHz audio ``[n]`` (``n`` a whole number of 40 ms blocks, see
``alignment``) to ``[n // 320, d]`` float32 features, frame ``j`` describing the 20 ms hop
starting at ``j * 20`` ms (centre ``(j + 0.5) * 20`` ms), as HuBERT's frames do.

Features computed at another rate are linearly interpolated in time onto those centres
(``to_semantic_rate``): musicnn's frames are 16 ms apart (62.5 Hz), librosa's MFCC/chroma frames
at hop 320 are centred on ``j * 20`` ms.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from hafm.errors import HafmError, MissingWeightsError
from hafm.tokenizers.alignment import SEMANTIC_HOP, SEMANTIC_HZ, SEMANTIC_SR

FEATURE_KINDS = ("musicnn", "musicnn_chroma", "mfcc", "hubert")
FEATURES_VERSION = 1  # bump when an extractor's output changes: it enters identities and cache keys


@dataclass(frozen=True)
class FeatureConfig:
    """Which features the semantic tokenizer clusters.

    ``musicnn``: the 753 mid-end frame features of ``musicnn_model`` (pretrained, in the musicnn
    wheel); they are pitch-shift invariant by design (every filter is max-pooled over frequency).
    ``musicnn_chroma``: those plus 12 chroma, which add the pitch classes. ``mfcc``: ``n_mfcc`` MFCCs + 12 chroma
    (no weights; HuBERT's first-iteration style).
    ``hubert``: hidden state ``hubert_layer`` (9 in the paper) of a HuBERT in ``hubert_dir``.
    """

    kind: str = "musicnn"
    musicnn_model: str = "MSD_musicnn"
    n_mfcc: int = 20
    hubert_dir: str = ""
    hubert_layer: int = 9
    hubert_chunk_seconds: float = 30.0  # longer inputs are encoded in independent chunks

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown semantic feature kind {self.kind!r}; choose one of {FEATURE_KINDS}")

    def describe(self) -> dict:
        """The fields that determine the features (used in identities and cache keys).

        The HuBERT folder is left out: the same checkpoint may live anywhere."""
        fields = {"kind": self.kind, "version": FEATURES_VERSION}
        if self.kind.startswith("musicnn"):
            fields["musicnn_model"] = self.musicnn_model
        elif self.kind == "mfcc":
            fields["n_mfcc"] = self.n_mfcc
        else:
            fields.update(hubert_layer=self.hubert_layer, hubert_chunk_seconds=self.hubert_chunk_seconds)
        return fields


class FeatureExtractor(Protocol):
    dim: int
    blocks: tuple[int, ...]  # sizes of the feature groups (summing to dim), balanced before k-means

    def __call__(self, wav_16k: np.ndarray) -> np.ndarray:
        """``[n]`` float32 at 16 kHz, ``n`` a multiple of 640 -> ``[n // 320, dim]`` float32."""


def to_semantic_rate(feats: np.ndarray, src_hz: float, n_frames: int) -> np.ndarray:
    """Linearly interpolate ``feats [T_src, d]`` (frame ``i`` at ``i / src_hz`` s) onto the
    centres ``(j + 0.5) / 50`` s of ``n_frames`` semantic frames; ends are held constant."""
    src_t = np.arange(feats.shape[0]) / src_hz
    dst_t = (np.arange(n_frames) + 0.5) / SEMANTIC_HZ
    pos = np.interp(dst_t, src_t, np.arange(feats.shape[0], dtype=np.float64))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, feats.shape[0] - 1)
    w = (pos - lo)[:, None].astype(np.float32)
    return (feats[lo] * (1 - w) + feats[hi] * w).astype(np.float32)


def _check_blocks(wav_16k: np.ndarray) -> int:
    if wav_16k.ndim != 1 or wav_16k.shape[0] == 0 or wav_16k.shape[0] % (2 * SEMANTIC_HOP):
        raise ValueError(f"features need [n] samples with n a positive multiple of 640, got {wav_16k.shape}")
    return wav_16k.shape[0] // SEMANTIC_HOP


class MusicnnFeatures:
    """musicnn mid-end frame features (753-d, 62.5 Hz) interpolated to 50 Hz."""

    def __init__(self, model_name: str = "MSD_musicnn", with_chroma: bool = False):
        from hafm.musicnn import load_musicnn

        if not model_name.endswith("_musicnn"):
            raise ValueError(f"frame features need a musicnn model (MTT_musicnn, MSD_musicnn), got {model_name!r}")
        self.model = load_musicnn(model_name)
        self.with_chroma = with_chroma
        self.blocks = (753, 12) if with_chroma else (753,)
        self.dim = sum(self.blocks)
        preload_librosa(chroma=with_chroma)

    def to(self, device) -> "MusicnnFeatures":
        """Run musicnn on ``device`` (a ``torch.device`` or name); returns the extractor."""
        self.model.to(device)
        return self

    def __call__(self, wav_16k: np.ndarray) -> np.ndarray:
        from hafm.musicnn import FRAME_RATE, frame_features

        n_frames = _check_blocks(wav_16k)
        feats = to_semantic_rate(frame_features(self.model, wav_16k), FRAME_RATE, n_frames)
        if self.with_chroma:
            feats = np.concatenate([feats, chroma_50hz(wav_16k, n_frames)], axis=1)
        return feats


def preload_librosa(chroma: bool) -> None:
    """Import the librosa modules the features use (and build musicnn's mel filterbank) now.

    librosa loads its submodules lazily, and they pull in scipy.signal and numba ufuncs: 1.3-2.2 CPU s
    inside the first clip's call when left lazy (2026-11-29, `tools.perf.generation`), which belongs
    to loading the tokenizer, not to tokenizing the first clip.
    """
    from hafm.musicnn.frontend import mel_filterbank

    mel_filterbank()
    if chroma:
        from librosa.feature import chroma_stft  # noqa: F401 (the attribute access loads the submodule)


def chroma_50hz(wav_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """12-bin STFT chroma (128 ms window) of ``[n]`` at 16 kHz -> ``[n_frames, 12]`` at 50 Hz."""
    import librosa

    with warnings.catch_warnings():  # inputs shorter than the window are zero-padded, as intended
        warnings.filterwarnings("ignore", message="n_fft=.* is too large", category=UserWarning)
        # tuning fixed at A440: a per-clip estimate would shift the bins between clips
        chroma = librosa.feature.chroma_stft(y=wav_16k.astype(np.float32), sr=SEMANTIC_SR, n_fft=2048,
                                             hop_length=SEMANTIC_HOP, tuning=0.0)  # frame i at i * 20 ms
    return to_semantic_rate(chroma.T, SEMANTIC_HZ, n_frames)


class MfccChromaFeatures:
    """``n_mfcc`` MFCCs (64 ms window, 64 mels) + 12-bin STFT chroma (128 ms window), hop 20 ms."""

    def __init__(self, n_mfcc: int = 20):
        self.n_mfcc = n_mfcc
        self.blocks = (n_mfcc, 12)
        self.dim = n_mfcc + 12
        preload_librosa(chroma=True)

    def __call__(self, wav_16k: np.ndarray) -> np.ndarray:
        import librosa

        n_frames = _check_blocks(wav_16k)
        with warnings.catch_warnings():  # inputs shorter than the window are zero-padded, as intended
            warnings.filterwarnings("ignore", message="n_fft=.* is too large", category=UserWarning)
            mfcc = librosa.feature.mfcc(y=wav_16k.astype(np.float32), sr=SEMANTIC_SR, n_mfcc=self.n_mfcc,
                                        n_fft=1024, hop_length=SEMANTIC_HOP, n_mels=64)  # frame i at i * 20 ms
        mfcc = to_semantic_rate(mfcc.T, SEMANTIC_HZ, n_frames)
        return np.concatenate([mfcc, chroma_50hz(wav_16k, n_frames)], axis=1)


class HubertFeatures:
    """Hidden state ``layer`` of a local HuBERT checkpoint (native 50 Hz, 20 ms frames).

    Each chunk is zero-padded by 40 samples on both sides so that HuBERT's 400-sample receptive
    field centred on each frame gives exactly ``n // 320`` frames aligned with ours.
    """

    EDGE = 40  # (400 - 320) / 2 samples

    def __init__(self, hubert_dir: str, layer: int = 9, chunk_seconds: float = 30.0):
        import torch
        from transformers import HubertModel

        path = Path(hubert_dir)
        if not (path / "config.json").is_file():
            raise MissingWeightsError(f"no HuBERT checkpoint in {path} (expected config.json and weights "
                                      "saved by HubertModel.save_pretrained)")
        self.model = HubertModel.from_pretrained(str(path), local_files_only=True).eval()
        # large HuBERTs were trained on per-utterance normalised audio; their feature extractor says so
        preprocessor = path / "preprocessor_config.json"
        self.normalize = preprocessor.is_file() and bool(json.loads(preprocessor.read_text()).get("do_normalize"))
        if not 0 <= layer <= self.model.config.num_hidden_layers:
            raise ValueError(f"HuBERT in {path} has {self.model.config.num_hidden_layers} layers; layer {layer} asked")
        self.layer = layer
        self.dim = self.model.config.hidden_size
        self.blocks = (self.dim,)
        self.chunk = int(chunk_seconds * SEMANTIC_HZ / 2) * 2 * SEMANTIC_HOP  # whole 40 ms blocks
        self._torch = torch

    def to(self, device) -> "HubertFeatures":
        """Run HuBERT on ``device`` (a ``torch.device`` or name); returns the extractor."""
        self.model.to(device)
        return self

    def _encode_chunk(self, chunk: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self.normalize:
            chunk = (chunk - chunk.mean()) / np.sqrt(chunk.var() + 1e-7)
        x = torch.from_numpy(np.pad(chunk, self.EDGE).astype(np.float32))[None].to(self.model.device)
        with torch.no_grad():
            hidden = self.model(x, output_hidden_states=True).hidden_states[self.layer][0].cpu()
        n_frames = chunk.shape[0] // SEMANTIC_HOP
        if hidden.shape[0] < n_frames:
            raise HafmError(f"this HuBERT gives {hidden.shape[0]} frames for {n_frames} 20 ms hops; "
                            "its convolutional front end is not hop 320")
        return hidden[:n_frames].numpy().astype(np.float32)

    def __call__(self, wav_16k: np.ndarray) -> np.ndarray:
        _check_blocks(wav_16k)
        parts = [self._encode_chunk(wav_16k[s:s + self.chunk]) for s in range(0, wav_16k.shape[0], self.chunk)]
        return np.concatenate(parts, axis=0)


def build_extractor(cfg: FeatureConfig) -> FeatureExtractor:
    """The extractor ``cfg`` names; raises ``MissingWeightsError`` when its weights are absent."""
    if cfg.kind.startswith("musicnn"):
        return MusicnnFeatures(cfg.musicnn_model, with_chroma=cfg.kind == "musicnn_chroma")
    if cfg.kind == "mfcc":
        return MfccChromaFeatures(cfg.n_mfcc)
    return HubertFeatures(cfg.hubert_dir, cfg.hubert_layer, cfg.hubert_chunk_seconds)
