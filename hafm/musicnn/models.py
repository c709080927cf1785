"""PyTorch versions of musicnn 0.1.0's two architectures (inference only).

``Musicnn``: Pons & Serra's musically motivated CNN. Front end: timbral filters (7 x 38 and
7 x 67 time x mel) and temporal filters (128, 64, 32 x 1), each max-pooled over frequency
-> 561 channels per frame. Mid end: three 7-frame convolutions with residual connections
-> 3 x 64 channels. The 753 = 561 + 192 channels per 16 ms frame are the "mid-end frame
features"; the back end pools them over time ([max, mean] -> 1506), then dense 200 (the
"penultimate" embedding) and 50 sigmoid tags.

``MusicnnVGG``: five 3 x 3 conv blocks with max-pooling; the flattened fifth pool (256) feeds
the 50 tags.

Both take log-mel frames ``[B, T, 96]`` (see ``hafm.musicnn.frontend``). Layers follow TF1:
batch norm after ReLU with eps 1e-3, and TF's 'same' padding for even kernels puts
``(k - 1) // 2`` frames before and the rest after.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

TF_BN_EPS = 1e-3
N_TAGS = 50
FRONT_END_CHANNELS = 561  # 2 x 204 timbral + 3 x 51 temporal
MID_END_CHANNELS = 3 * 64
FRAME_FEATURES = FRONT_END_CHANNELS + MID_END_CHANNELS  # 753


def same_padding(kernel: int) -> tuple[int, int]:
    """TF 'same' padding (before, after) along one axis for stride 1."""
    return (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2


class ConvReluBN(nn.Module):
    """conv2d (valid) -> ReLU -> batch norm, with TF 'same' padding along time only.

    Input and output are NCHW with H = time, W = mel bands (or channels laid out as W).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: tuple[int, int], tf_conv: str, tf_bn: str):
        super().__init__()
        self.time_pad = same_padding(kernel[0])
        self.conv = nn.Conv2d(in_ch, out_ch, kernel)
        self.bn = nn.BatchNorm2d(out_ch, eps=TF_BN_EPS)
        self.tf_names = (tf_conv, tf_bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.time_pad))
        return self.bn(F.relu(self.conv(x)))


class Musicnn(nn.Module):
    """musicnn: log-mel ``[B, T, 96]`` -> frame features ``[B, 753, T]`` -> tags ``[B, 50]``."""

    def __init__(self) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=TF_BN_EPS)
        self.timbral = nn.ModuleList([
            ConvReluBN(1, 204, (7, 38), "conv2d", "batch_normalization_1"),
            ConvReluBN(1, 204, (7, 67), "conv2d_1", "batch_normalization_2"),
        ])
        self.temporal = nn.ModuleList([
            ConvReluBN(1, 51, (k, 1), f"conv2d_{i}", f"batch_normalization_{i + 1}")
            for i, k in zip((2, 3, 4), (128, 64, 32))
        ])
        self.mid = nn.ModuleList([
            ConvReluBN(1, 64, (7, width), f"conv2d_{i}", f"batch_normalization_{i + 1}")
            for i, width in zip((5, 6, 7), (FRONT_END_CHANNELS, 64, 64))
        ])
        self.pool_bn = nn.BatchNorm1d(2 * FRAME_FEATURES, eps=TF_BN_EPS)
        self.dense = nn.Linear(2 * FRAME_FEATURES, 200)
        self.dense_bn = nn.BatchNorm1d(200, eps=TF_BN_EPS)
        self.classifier = nn.Linear(200, N_TAGS)

    def front_end(self, log_mel: torch.Tensor) -> torch.Tensor:
        """``[B, T, 96]`` -> ``[B, 561, T]``: each filter bank max-pooled over frequency."""
        x = self.input_bn(log_mel.unsqueeze(1))
        return torch.cat([block(x).amax(dim=3) for block in (*self.timbral, *self.temporal)], dim=1)

    def frame_features(self, log_mel: torch.Tensor) -> torch.Tensor:
        """``[B, T, 96]`` -> mid-end frame features ``[B, 753, T]`` at 62.5 Hz.

        Channels: front end (561), then the three residual mid-end layers (64 each).
        """
        front = self.front_end(log_mel)
        layers, h = [], front
        for i, block in enumerate(self.mid):
            # the conv sees channels as a 1-channel image's width: [B, 1, T, C] -> [B, 64, T]
            out = block(h.transpose(1, 2).unsqueeze(1)).squeeze(3)
            h = out if i == 0 else out + h
            layers.append(h)
        return torch.cat([front, *layers], dim=1)

    def forward(self, log_mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, T, 96]`` -> ``taggram [B, 50]``, ``penultimate [B, 200]``,
        ``mean_pool [B, 753]``, ``max_pool [B, 753]``."""
        feats = self.frame_features(log_mel)
        return self.back_end(feats.amax(dim=2), feats.mean(dim=2))

    def back_end(self, max_pool: torch.Tensor, mean_pool: torch.Tensor) -> dict[str, torch.Tensor]:
        """Temporal ``max_pool``, ``mean_pool`` ``[B, 753]`` -> the outputs of ``forward``.

        Separate from ``forward`` so that pooling over sliding windows of one whole-clip pass of
        ``frame_features`` can share it (``hafm.musicnn.embed.window_embeddings``).
        """
        # TF flattens [B, 753, 2]: max and mean interleaved per channel
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        taggram = torch.sigmoid(self.classifier(penultimate))
        return {"taggram": taggram, "penultimate": penultimate,
                "mean_pool": mean_pool, "max_pool": max_pool}


class MusicnnVGG(nn.Module):
    """VGG-like baseline: log-mel patches ``[B, 187, 96]`` -> ``pool5 [B, 256]``, tags ``[B, 50]``."""

    # (kernel, stride) of the max-pool after each conv block, time x mel
    POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))

    def __init__(self) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=TF_BN_EPS)
        self.blocks = nn.ModuleList([
            ConvReluBN(1 if i == 1 else 128, 128, (3, 3), f"{i}CNN", f"batch_normalization_{i}")
            for i in range(1, 6)
        ])
        self.classifier = nn.Linear(256, N_TAGS)

    def forward(self, log_mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, 187, 96]`` -> ``taggram [B, 50]``, ``pool5 [B, 256]``."""
        h = self.input_bn(log_mel.unsqueeze(1))
        for block, (kernel, stride) in zip(self.blocks, self.POOLS):
            h = F.max_pool2d(block(F.pad(h, (1, 1, 0, 0))), kernel, stride)  # 'same' in mel too
        pool5 = h.permute(0, 2, 3, 1).flatten(1)  # TF flattens NHWC
        return {"taggram": torch.sigmoid(self.classifier(pool5)), "pool5": pool5}


def _bn_state(prefix: str, tf_name: str, W: dict) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": W[f"{tf_name}/gamma"], f"{prefix}.bias": W[f"{tf_name}/beta"],
            f"{prefix}.running_mean": W[f"{tf_name}/moving_mean"],
            f"{prefix}.running_var": W[f"{tf_name}/moving_variance"]}


def _dense_state(prefix: str, tf_name: str, W: dict) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": W[f"{tf_name}/kernel"].T, f"{prefix}.bias": W[f"{tf_name}/bias"]}


def load_tf_weights(model: Musicnn | MusicnnVGG, tf_vars: dict) -> None:
    """Copy TF1 variables (``{name: array}``, Adam slots ignored) into ``model`` in place.

    Conv kernels go from TF ``[kh, kw, in, out]`` to torch ``[out, in, kh, kw]``; dense kernels
    from ``[in, out]`` to ``[out, in]``. Raises ``KeyError`` naming a missing variable.
    """
    W = {k: torch.as_tensor(v) for k, v in tf_vars.items()}
    state = _bn_state("input_bn", "batch_normalization", W)
    for name, module in model.named_modules():
        if isinstance(module, ConvReluBN):
            tf_conv, tf_bn = module.tf_names
            state[f"{name}.conv.weight"] = W[f"{tf_conv}/kernel"].permute(3, 2, 0, 1)
            state[f"{name}.conv.bias"] = W[f"{tf_conv}/bias"]
            state.update(_bn_state(f"{name}.bn", tf_bn, W))
    if isinstance(model, Musicnn):
        state.update(_bn_state("pool_bn", "batch_normalization_9", W))
        state.update(_dense_state("dense", "dense", W))
        state.update(_bn_state("dense_bn", "batch_normalization_10", W))
        state.update(_dense_state("classifier", "dense_1", W))
    else:
        state.update(_dense_state("classifier", "dense", W))
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = value
    model.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=True)
