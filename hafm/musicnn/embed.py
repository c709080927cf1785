"""Embeddings from the pretrained musicnn models: frame-level (62.5 Hz) and patch-level (3 s).

All functions take mono audio at 16 kHz as a numpy array ``[n]`` and run on CPU in float32.
Resample first (musicnn was trained on 16 kHz input).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from hafm.musicnn.frontend import PATCH_FRAMES, log_mel, patches
from hafm.musicnn.models import Musicnn, MusicnnVGG
from hafm.musicnn.weights import load_musicnn

# Output frame t of Musicnn.frame_features depends on log-mel frames t-72 .. t+73 (the 128-frame
# temporal filter plus four 7-frame convolutions), so chunks with this much context on each side
# give exactly the frames of one whole-input pass.
FRAME_CONTEXT = 80
LAYERS = {"musicnn": ("penultimate", "mean_pool", "max_pool", "taggram"), "vgg": ("pool5", "taggram")}
LAYER_DIMS = {"penultimate": 200, "mean_pool": 753, "max_pool": 753, "taggram": 50, "pool5": 256}


@torch.no_grad()
def frame_features_from_log_mel(model: Musicnn, mel: np.ndarray, chunk_frames: int = 2048) -> np.ndarray:
    """Log-mel ``[T, 96]`` -> mid-end frame features ``[T, 753]`` (62.5 Hz), in bounded memory.

    Long inputs are cut into ``chunk_frames`` pieces with ``FRAME_CONTEXT`` frames of context on
    each side, which gives the same frames as one pass over the whole input.
    """
    if not isinstance(model, Musicnn):
        raise TypeError(f"frame features need a musicnn model, got {type(model).__name__}")
    n = mel.shape[0]
    out = np.empty((n, 753), dtype=np.float32)
    for start in range(0, n, chunk_frames):
        stop = min(start + chunk_frames, n)
        lo, hi = max(0, start - FRAME_CONTEXT), min(n, stop + FRAME_CONTEXT)
        x = torch.from_numpy(np.ascontiguousarray(mel[lo:hi]))[None]
        feats = model.frame_features(x)[0].T.numpy()  # [hi - lo, 753]
        out[start:stop] = feats[start - lo:stop - lo]
    return out


def frame_features(model: Musicnn, wav_16k: np.ndarray) -> np.ndarray:
    """Mono 16 kHz audio ``[n]`` -> mid-end frame features ``[1 + n // 256, 753]``.

    Frame ``i`` is centred at ``i * 16`` ms. Channels: front end (561: timbral then temporal
    filters, each max-pooled over frequency), then mid-end layers 1-3 (64 each).
    """
    return frame_features_from_log_mel(model, log_mel(wav_16k))


@torch.no_grad()
def patch_embeddings_from_log_mel(model: Musicnn | MusicnnVGG, mel: np.ndarray, layer: str,
                                  hop: int = PATCH_FRAMES, batch_size: int = 16) -> np.ndarray:
    """Log-mel ``[T, 96]`` -> one ``layer`` vector per 187-frame patch: ``[P, d]`` float32."""
    family = "musicnn" if isinstance(model, Musicnn) else "vgg"
    if layer not in LAYERS[family]:
        raise ValueError(f"layer {layer!r} is not a {family} output; choose one of {LAYERS[family]}")
    batch = patches(mel, hop)
    out = [model(torch.from_numpy(batch[i:i + batch_size]))[layer].numpy()
           for i in range(0, len(batch), batch_size)]
    return np.concatenate(out).astype(np.float32, copy=False)


def patch_embeddings(model: Musicnn | MusicnnVGG, wav_16k: np.ndarray, layer: str,
                     hop: int = PATCH_FRAMES) -> np.ndarray:
    """Mono 16 kHz audio ``[n]`` -> ``[n_patches, d]``: one vector per 3 s patch (187 frames).

    Layers: musicnn ``penultimate`` (200-d), ``mean_pool`` / ``max_pool`` (753-d), ``taggram``
    (50 tag probabilities); vgg ``pool5`` (256-d), ``taggram``. Patches start every ``hop``
    frames (default 187: no overlap, the incomplete tail dropped; audio shorter than 3 s is
    repeat-padded to one patch).
    """
    return patch_embeddings_from_log_mel(model, log_mel(wav_16k), layer, hop)


@functools.lru_cache(maxsize=4)
def _cached_model(name: str) -> Musicnn | MusicnnVGG:
    return load_musicnn(name)


def embed(wav_16k: np.ndarray, model: str = "MTT_musicnn", layer: str = "penultimate",
          hop: int = PATCH_FRAMES) -> np.ndarray:
    """``patch_embeddings`` with the pretrained model named ``model`` (loaded once per process)."""
    return patch_embeddings(_cached_model(model), wav_16k, layer, hop)
