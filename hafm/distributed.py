"""Process-group set-up of stage training: one process, or ``torchrun`` ranks (NCCL on GPUs, gloo on CPUs)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from hafm.checkpoints import rng_states


@dataclass(frozen=True)
class DistContext:
    """This process's rank among ``world`` and its device; ``owns_group``: it created the process group."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistContext:
    """The context of this process: from torchrun's environment, or a single process on CUDA or CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return DistContext(dist.get_rank(), dist.get_world_size(), device, owns)


def gather_rng(d: DistContext) -> list:
    """Every rank's RNG states (``hafm.checkpoints.rng_states``), in rank order."""
    if d.world == 1:
        return [rng_states()]
    gathered: list = [None] * d.world
    dist.all_gather_object(gathered, rng_states())
    return gathered
