"""Optimiser and learning-rate schedule of stage training: AdamW, linear warmup, cosine decay."""

from __future__ import annotations

import math

import torch
from torch import nn

from hafm.config import TrainConfig


def lr_factor(step_index: int, warmup_steps: int, max_steps: int, min_ratio: float) -> float:
    """Multiplier of the peak LR before optimiser step ``step_index + 1``: linear warmup, cosine decay."""
    if step_index < warmup_steps:
        return (step_index + 1) / warmup_steps
    progress = min(1.0, (step_index - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(model: nn.Module, tcfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only (not on norms and biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": tcfg.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=tcfg.lr, betas=tuple(tcfg.betas))


def build_scheduler(optimizer: torch.optim.Optimizer, tcfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: lr_factor(i, tcfg.warmup_steps, tcfg.max_steps, tcfg.min_lr_ratio)
    )
