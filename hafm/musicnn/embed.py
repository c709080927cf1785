"""Embeddings from the pretrained musicnn models: frame-level (62.5 Hz) and patch-level (3 s).

All functions take mono audio at 16 kHz as a numpy array ``[n]`` and run on CPU in float32.
Resample first (musicnn was trained on 16 kHz input).

Two ways to get one vector per 3 s (187-frame) window:

* ``patch_embeddings``: upstream's way. Each patch is cut from the log-mel and run through the
  whole network on its own, so the convolutions see zero padding at the patch edges. Needed
  for the VGG models (their pooling strides fix the input at 187 frames) and for parity with
  musicnn 0.1.0.
* ``window_embeddings`` (musicnn models only): the front and mid end run once over the whole
  input, then the back end (temporal max/mean pooling, dense layers) runs on every 187-frame
  window of those frame features. Overlapping windows no longer repeat the convolutions (a 10 s
  clip with a 0.5 s hop: 626 frames instead of 15 x 187 = 2805), and features near a window's
  edges see the real neighbouring audio instead of zero padding; only the input's own two ends
  are zero-padded, as in upstream. The vectors therefore differ slightly from upstream's
  (``tools.perf.embeddings`` measures by how much).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from hafm.musicnn.frontend import PATCH_FRAMES, log_mel, patches
from hafm.musicnn.models import Musicnn, MusicnnVGG
from hafm.musicnn.weights import load_musicnn

# Output frame t of Musicnn.frame_features depends on log-mel frames t-72 .. t+73 (the 128-frame
# temporal filter plus four 7-frame convolutions), so chunks with this much context on each side
# give exactly the frames of one whole-input pass.
FRAME_CONTEXT = 80
LAYERS = {"musicnn": ("penultimate", "mean_pool", "max_pool", "taggram"), "vgg": ("pool5", "taggram")}
LAYER_DIMS = {"penultimate": 200, "mean_pool": 753, "max_pool": 753, "taggram": 50, "pool5": 256}


def _device(model: torch.nn.Module) -> torch.device:
    """Where the model's weights are (inputs go there; results come back to the CPU as numpy)."""
    return next(model.parameters()).device


@torch.inference_mode()
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
        x = torch.from_numpy(np.ascontiguousarray(mel[lo:hi]))[None].to(_device(model))
        feats = model.frame_features(x)[0].T.cpu().numpy()  # [hi - lo, 753]
        out[start:stop] = feats[start - lo:stop - lo]
    return out


def frame_features(model: Musicnn, wav_16k: np.ndarray) -> np.ndarray:
    """Mono 16 kHz audio ``[n]`` -> mid-end frame features ``[1 + n // 256, 753]``.

    Frame ``i`` is centred at ``i * 16`` ms. Channels: front end (561: timbral then temporal
    filters, each max-pooled over frequency), then mid-end layers 1-3 (64 each).
    """
    return frame_features_from_log_mel(model, log_mel(wav_16k))


def _check_layer(model: Musicnn | MusicnnVGG, layer: str) -> None:
    family = "musicnn" if isinstance(model, Musicnn) else "vgg"
    if layer not in LAYERS[family]:
        raise ValueError(f"layer {layer!r} is not a {family} output; choose one of {LAYERS[family]}")


@torch.inference_mode()
def patch_embeddings_from_log_mel(model: Musicnn | MusicnnVGG, mel: np.ndarray, layer: str,
                                  hop: int = PATCH_FRAMES, batch_size: int = 1) -> np.ndarray:
    """Log-mel ``[T, 96]`` -> one ``layer`` vector per 187-frame patch: ``[P, d]`` float32.

    ``batch_size`` patches go through the network together. One at a time is the default because
    on one CPU thread larger batches were measured slower (``tools.perf.embeddings``).
    """
    _check_layer(model, layer)
    batch = patches(mel, hop)
    out = [model(torch.from_numpy(batch[i:i + batch_size]).to(_device(model)))[layer].cpu().numpy()
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


@torch.inference_mode()
def window_embeddings_from_log_mel(model: Musicnn, mel: np.ndarray, layer: str,
                                   hop: int = PATCH_FRAMES) -> np.ndarray:
    """Log-mel ``[T, 96]`` -> one ``layer`` vector per 187-frame window: ``[P, d]`` float32.

    One ``frame_features`` pass over all ``T`` frames, then the back end on the windows starting
    every ``hop`` frames: the same windows as ``patches`` (tail dropped, P = 1 + (T - 187) // hop).
    An input shorter than one window is repeat-padded to 187 frames first, exactly as
    ``patches`` does, so it gives one vector equal to ``patch_embeddings_from_log_mel``'s.
    """
    if not isinstance(model, Musicnn):
        raise TypeError(f"window embeddings need a musicnn model, got {type(model).__name__}; "
                        "VGG models take whole 187-frame patches (patch_embeddings)")
    _check_layer(model, layer)
    if mel.shape[0] < PATCH_FRAMES:
        mel = patches(mel)[0]
    feats = torch.from_numpy(frame_features_from_log_mel(model, mel).T)[None].to(_device(model))  # [1, 753, T]
    max_pool = F.max_pool1d(feats, PATCH_FRAMES, hop)[0].T  # [P, 753]
    mean_pool = F.avg_pool1d(feats, PATCH_FRAMES, hop)[0].T
    return model.back_end(max_pool, mean_pool)[layer].cpu().numpy().astype(np.float32, copy=False)


def window_embeddings(model: Musicnn, wav_16k: np.ndarray, layer: str, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Mono 16 kHz audio ``[n]`` -> ``[n_windows, d]``: ``patch_embeddings``' windows, computed
    from one whole-input pass of the front and mid end (musicnn models only; see the module doc)."""
    return window_embeddings_from_log_mel(model, log_mel(wav_16k), layer, hop)


@functools.lru_cache(maxsize=4)
def _cached_model(name: str) -> Musicnn | MusicnnVGG:
    return load_musicnn(name)


def embed(wav_16k: np.ndarray, model: str = "MTT_musicnn", layer: str = "penultimate",
          hop: int = PATCH_FRAMES, exact_patches: bool = True) -> np.ndarray:
    """``patch_embeddings`` (or, with ``exact_patches=False``, ``window_embeddings``) with the
    pretrained model named ``model`` (loaded once per process)."""
    compute = patch_embeddings if exact_patches else window_embeddings
    return compute(_cached_model(model), wav_16k, layer, hop)


def clip_embedder(sr: int, model_name: str = "MTT_musicnn", layer: str = "penultimate",
                  hop_frames: int = 31) -> Callable[[torch.Tensor], np.ndarray]:
    """``embed(wav [n] at sr Hz) -> [W, d]``: 3 s windows every ``hop_frames`` frames (31: about
    0.5 s), the benchmark's default FAD embedding, for codec reports and the sampling sweep."""
    from hafm import audio

    model = _cached_model(model_name)

    def embed_clip(wav: torch.Tensor) -> np.ndarray:
        wav16 = audio.resample(wav.to(torch.float32), sr, 16_000).numpy()
        return window_embeddings(model, wav16, layer, hop_frames)

    return embed_clip
