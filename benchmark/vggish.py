"""VGGish (Hershey et al. 2017), the FAD standard embedding, as ``frechet-audio-distance`` runs it.

Same graph and front end as torchvggish (harritaylor/torchvggish, a port of the TF release), with
``frechet-audio-distance``'s defaults: no PCA/quantisation and no final ReLU, so the output is the
128-d pre-activation of the last layer.

Front end (``log_mel_examples``): 16 kHz mono; frames of 25 ms (400 samples) every 10 ms (160),
no padding; periodic Hann; |rfft| with n_fft 512; 64 HTK-mel bands 125-7500 Hz (DC bin zeroed);
``log(mel + 0.01)``; examples of 96 frames (0.96 s) every 96 frames (no overlap). Audio shorter
than 0.96 s gives no example and is refused. Difference from the package: we resample with
soxr (``hafm.audio.resample``), it uses ``resampy``.

Weights are never downloaded: ``vggish-10086976.pth`` (the torchvggish release file) is looked
up at an explicit path, ``$HAFM_VGGISH_WEIGHTS``, or ``torch.hub.get_dir()/checkpoints/``;
absent weights raise ``MissingWeightsError`` naming every place looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hafm.errors import AudioError, MissingWeightsError

SAMPLE_RATE = 16_000  # Hz
WINDOW = 400  # samples (25 ms)
HOP = 160  # samples (10 ms)
N_FFT = 512
N_MELS = 64
MEL_MIN_HZ, MEL_MAX_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EMBEDDING_DIM = 128
WEIGHTS_FILE = "vggish-10086976.pth"
WEIGHTS_URL = f"https://github.com/harritaylor/torchvggish/releases/download/v0.1/{WEIGHTS_FILE}"
WEIGHTS_ENV = "HAFM_VGGISH_WEIGHTS"


class VGGish(nn.Module):
    """Log-mel examples ``[B, 96, 64]`` -> embeddings ``[B, 128]`` (pre-activation, no PCA).

    Parameter names match torchvggish's state dict (``features.*``, ``embeddings.*``).
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_DIM),  # frechet-audio-distance drops the final ReLU
        )

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        x = self.features(examples.unsqueeze(1))  # [B, 512, 6, 4]
        # TF flattens NHWC: channels last, as torchvggish's two transposes do
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.embeddings(x)


def mel_matrix() -> np.ndarray:
    """``[257, 64]`` HTK-mel triangular weights over the rfft bins (TF VGGish ``mel_features``).

    Not ``librosa.filters.mel(htk=True, norm=None)``: that one has the same band edges on the
    same HTK scale but draws each triangle linearly in Hz, where VGGish draws it linearly in mel;
    its weights differ by up to 0.0044 and the log-mel by up to 0.01, which would break parity with
    the VGGish release. A test checks the two agree to that tolerance (same edges, same scale).
    """

    def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)

    bins_mel = hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1))
    edges = np.linspace(hz_to_mel(MEL_MIN_HZ), hz_to_mel(MEL_MAX_HZ), N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_examples(wav_16k: np.ndarray) -> np.ndarray:
    """Mono 16 kHz audio ``[n]`` -> log-mel examples ``[n_examples, 96, 64]`` float32 (0.96 s each)."""
    x = np.asarray(wav_16k, dtype=np.float64)
    min_samples = WINDOW + (EXAMPLE_FRAMES - 1) * HOP
    if x.ndim != 1 or x.shape[0] < min_samples:
        raise AudioError(f"VGGish needs mono audio of at least {min_samples} samples (0.96 s at 16 kHz), "
                         f"got shape {x.shape}")
    n_frames = 1 + (x.shape[0] - WINDOW) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[::HOP][:n_frames]
    window = 0.5 - 0.5 * np.cos(2 * np.pi / WINDOW * np.arange(WINDOW))  # periodic Hann
    spectrum = np.abs(np.fft.rfft(frames * window, N_FFT))
    log_mel = np.log(spectrum @ mel_matrix() + LOG_OFFSET)  # [n_frames, 64]
    n_examples = n_frames // EXAMPLE_FRAMES
    return log_mel[: n_examples * EXAMPLE_FRAMES].reshape(n_examples, EXAMPLE_FRAMES, N_MELS).astype(np.float32)


def weight_candidates(path: str | os.PathLike | None = None) -> list[Path]:
    """Where the weights are looked for, in order: ``path``, ``$HAFM_VGGISH_WEIGHTS``, the torch hub cache."""
    if path is not None:
        return [Path(path)]
    found = [Path(os.environ[WEIGHTS_ENV])] if os.environ.get(WEIGHTS_ENV) else []
    return found + [Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE]


def find_weights(path: str | os.PathLike | None = None) -> Path:
    """The first existing weights file, or ``MissingWeightsError`` listing the places looked at."""
    candidates = weight_candidates(path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise MissingWeightsError(f"VGGish weights not found (looked at: {looked}). Nothing is downloaded: fetch "
                              f"{WEIGHTS_URL} on a connected machine and put it at one of those paths "
                              f"(or set ${WEIGHTS_ENV}).")


def load_vggish(path: str | os.PathLike | None = None) -> VGGish:
    """VGGish in eval mode with the torchvggish weights from ``find_weights(path)``."""
    weights = find_weights(path)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises bare RuntimeError/UnpicklingError for bad files
        raise MissingWeightsError(f"{weights}: not a readable torch weights file ({err})") from err
    model = VGGish()
    wanted = set(model.state_dict())
    if not isinstance(state, dict) or set(state) != wanted:
        got = sorted(state)[:6] if isinstance(state, dict) else type(state).__name__
        raise MissingWeightsError(f"{weights}: not a torchvggish state dict (expected keys like "
                                  f"{sorted(wanted)[:3]}, got {got})")
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)
