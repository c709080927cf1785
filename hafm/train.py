"""Training loop of one cascade stage: AdamW, warmup + cosine, clipping, accumulation, DDP, resume.

Run it through ``hafm train`` (one process) or ``torchrun --nproc-per-node N -m hafm train ...``
(DistributedDataParallel; NCCL on GPUs, gloo on CPUs). Each optimiser step sees
``batch_size * grad_accum * world_size`` windows; every rank takes a disjoint slice of the windows
drawn for that step, and rank 0 writes checkpoints and metrics. A checkpoint holds every RNG
state, so a run killed at any point resumes from its last checkpoint and reproduces the loss curve
of an uninterrupted run exactly (bit-for-bit on CPU).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from hafm.checkpoints import (
    CHECKPOINT_NAME,
    best_val_loss,
    load_checkpoint,
    restore_rng_states,
    save_best,
    save_checkpoint,
)
from hafm.config import CascadeConfig, StageConfig, TrainConfig
from hafm.data.stage_data import (
    ConditionNoise,
    StageBatch,
    StageTrack,
    WindowSampler,
    check_vocab,
    fixed_batches,
    fixed_windows,
    generated_streams,
    load_stage_tracks,
    window_blocks,
)
from hafm.distributed import DistContext, gather_rng, init_distributed
from hafm.errors import HafmError
from hafm.metrics_log import METRICS_NAME, MetricsLog
from hafm.optim import build_optimizer, build_scheduler
from hafm.train_inputs import augment_tracks as augment_tracks_of
from hafm.train_inputs import fit_and_validation, init_weights

ModelFactory = Callable[[StageConfig], nn.Module]


@dataclass
class TrainResult:
    """What one invocation did: final step, why it stopped, and its per-step losses (nats/token)."""

    out_dir: Path
    step: int
    stopped: str  # "max_steps", "stop_at_step", "max_minutes" or "signal"
    train_losses: list[tuple[int, float]] = field(default_factory=list)
    val_losses: list[tuple[int, float]] = field(default_factory=list)


class _LossModule(nn.Module):
    """Routes ``forward`` to ``model.loss`` so DistributedDataParallel's gradient hooks fire."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, prefix: torch.Tensor, target: torch.Tensor, drop_condition: torch.Tensor):
        return self.model.loss(prefix, target, drop_condition)


def _default_factory(stage_cfg: StageConfig) -> nn.Module:
    from hafm.model.lm import StageLM

    return StageLM(stage_cfg)


def _autocast(tcfg: TrainConfig, device: torch.device):
    if tcfg.precision == "bf16" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()  # fp32 on CPU: bf16 autocast measured 4x slower on AVX2


def _parts_vector(loss: torch.Tensor, parts: dict) -> tuple[list[str], torch.Tensor]:
    names = [str(k) for k in parts]
    return names, torch.stack([loss.detach().float()] + [torch.as_tensor(v).detach().float() for v in parts.values()])


def _as_row(names: list[str], values: torch.Tensor) -> dict[str, float]:
    row = {"loss": float(values[0])}
    row.update({name if name.startswith("ce") else f"ce_{name}": float(v) for name, v in zip(names, values[1:])})
    return row


@torch.no_grad()
def evaluate_batches(model: nn.Module, batches: Sequence[StageBatch], device: torch.device | str = "cpu",
                     autocast=None, rank: int = 0, world: int = 1) -> dict[str, float]:
    """Mean cross-entropy (nats/token) of ``model.loss`` over ``batches``, weighted by batch size.

    Returns ``{"loss": ..., "ce_<codebook>": ...}``. Under DDP (``world > 1``) each rank evaluates
    every ``world``-th batch and the sums are all-reduced.
    """
    if not batches:
        raise HafmError("no evaluation windows: every track is shorter than one window")
    shared = world > 1 and len(batches) >= world
    mine = list(batches)[rank::world] if shared else list(batches)
    was_training = model.training
    model.eval()
    sums, count, names = [], 0, []
    for batch in mine:
        with autocast or contextlib.nullcontext():
            loss, parts = model.loss(batch.prefix.to(device), batch.target.to(device), batch.drop_condition.to(device))
        names, vector = _parts_vector(loss, parts)
        sums.append(vector.double().cpu() * len(batch.prefix))
        count += len(batch.prefix)
    model.train(was_training)
    total = torch.cat([torch.stack(sums).sum(0), torch.tensor([float(count)], dtype=torch.float64)])
    if shared:
        total = total.to(device)
        dist.all_reduce(total)
        total = total.cpu()
    return _as_row(names, total[:-1] / total[-1])


class _StopFlag:
    """Set by SIGTERM (e.g. a cluster pre-emption) so the loop checkpoints and exits cleanly."""

    def __init__(self):
        self.raised = False
        self._previous = None

    def __enter__(self):
        if _in_main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@dataclass
class _Run:
    """Everything the loop mutates, so checkpoint save/restore is one place."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    sampler: WindowSampler
    step: int = 0
    elapsed_s: float = 0.0

    def state(self, stage: str, rng: list) -> dict:
        return {
            "stage": stage, "step": self.step, "elapsed_s": self.elapsed_s, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "rng": rng, "sampler": {**self.sampler.state_dict(), "step": self.step},
        }

    def restore(self, checkpoint: dict, stage: str, stage_cfg: StageConfig, rank: int) -> None:
        saved_cfg = checkpoint["config"][stage]
        if checkpoint["stage"] != stage or saved_cfg != asdict(stage_cfg):
            raise HafmError(
                f"the checkpoint holds a {checkpoint['stage']!r} model whose config differs from the one asked "
                f"for; train into another --out directory (saved: {saved_cfg}, asked: {asdict(stage_cfg)})"
            )
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.step, self.elapsed_s = checkpoint["step"], checkpoint["elapsed_s"]
        states = checkpoint["rng"]
        restore_rng_states(states[rank] if rank < len(states) else states[0])


def _train_step(
    run: _Run, wrapped: nn.Module, tcfg: TrainConfig, d: DistContext, autocast
) -> tuple[list[str], torch.Tensor, int]:
    """One optimiser step over ``grad_accum`` micro-batches; returns the rank-averaged loss vector."""
    run.optimizer.zero_grad(set_to_none=True)
    micro, accum = tcfg.batch_size, tcfg.grad_accum
    global_size = micro * accum * d.world
    vectors, positions = [], 0
    for m in range(accum):
        batch = run.sampler.batch(run.step + 1, global_size, (d.rank * accum + m) * micro, micro)
        sync = d.world == 1 or m == accum - 1
        with contextlib.nullcontext() if sync else wrapped.no_sync():
            with autocast:
                loss, parts = wrapped(batch.prefix.to(d.device), batch.target.to(d.device),
                                      batch.drop_condition.to(d.device))
            (loss / accum).backward()
        names, vector = _parts_vector(loss, parts)
        vectors.append(vector)
        positions += batch.positions
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), tcfg.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    mean = torch.stack(vectors).mean(0)
    if d.world > 1:
        mean = mean.to(d.device)
        dist.all_reduce(mean)
        mean = mean.cpu() / d.world
    if not torch.isfinite(mean).all():
        raise HafmError(f"non-finite training loss at step {run.step}; lower lr or check the shards")
    return names, mean, positions * d.world


def _should_stop(run: _Run, tcfg: TrainConfig, stop_at_step: int | None, deadline: float | None,
                 first_step: int, flag: _StopFlag, d: DistContext) -> str | None:
    reasons = ["max_steps", "stop_at_step", "max_minutes", "signal"]
    code = 0
    if run.step >= tcfg.max_steps:
        code = 1
    elif stop_at_step is not None and run.step >= stop_at_step:
        code = 2
    elif deadline is not None and time.monotonic() >= deadline and run.step > first_step:
        code = 3
    elif flag.raised:
        code = 4
    if d.world > 1:  # rank 0's clock decides, so every rank stops at the same step
        decided = torch.tensor([code], device=d.device)
        dist.broadcast(decided, src=0)
        code = int(decided.item())
    return reasons[code - 1] if code else None


def train_stage(
    cfg: CascadeConfig,
    stage: str,
    out_dir: str | Path,
    shard_dir: str | Path | None = None,
    *,
    tracks: Sequence[StageTrack] | None = None,
    augment_tracks: Sequence[StageTrack] | None = None,
    model_factory: ModelFactory | None = None,
    stop_at_step: int | None = None,
    require_checkpoint: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train ``stage`` on the ``train`` shards of ``shard_dir`` (or on ``tracks``), writing into ``out_dir``.

    ``augment_tracks`` (default: the shards of ``cfg.train.augment_shards``) are fitting-only data.

    Resumes from ``out_dir/checkpoint.pt`` when it exists (``require_checkpoint`` makes its absence
    an error). Stops at ``cfg.train.max_steps`` (the LR schedule's length), at ``stop_at_step``, after
    ``cfg.train.max_minutes`` of wall time in this invocation, or on SIGTERM; always checkpoints then.
    """
    out_dir = Path(out_dir)
    d = init_distributed()
    onsets = cfg.stage(stage).vocal_onsets
    try:
        if tracks is None:
            if shard_dir is None:
                raise ValueError("give shard_dir or tracks")
            tracks = load_stage_tracks(shard_dir, "train", stage, onsets)
        if augment_tracks is None:
            augment_tracks = augment_tracks_of(cfg.train.augment_shards, shard_dir, stage, onsets)
        run, val_batches = _setup(cfg, stage, out_dir, d, (tracks, augment_tracks), model_factory,
                                  require_checkpoint)
        result = _loop(run, val_batches, cfg, stage, out_dir, d, stop_at_step, progress)
        if d.world > 1:
            # gloo aborts a rank ("terminate called without an active exception") when the group is
            # torn down while a peer is still in its last collective: meet once before tearing down.
            dist.barrier()
        return result
    finally:
        if d.owns_group:
            dist.destroy_process_group()


def _setup(cfg: CascadeConfig, stage: str, out_dir: Path, d: DistContext,
           data: tuple[Sequence[StageTrack], Sequence[StageTrack]], model_factory: ModelFactory | None,
           require_checkpoint: bool) -> tuple[_Run, list[StageBatch]]:
    """Model, optimiser, scheduler and sampler, restored from ``out_dir``'s checkpoint when there is one,
    else started from ``cfg.train.init_from``'s weights when given. ``data``: (tracks, augmentation)."""
    tcfg, stage_cfg = cfg.train, cfg.stage(stage)
    for part in data:
        check_vocab(part, stage_cfg.prefix_vocab, stage_cfg.target_vocab)
    train_tracks, val_tracks = fit_and_validation(*data, tcfg)
    n_blocks = window_blocks(tcfg.window_seconds)
    val_windows = fixed_windows(val_tracks, n_blocks, tcfg.eval_batches * tcfg.batch_size)
    val_batches = fixed_batches(val_tracks, val_windows, n_blocks, tcfg.batch_size)
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    model = (model_factory or _default_factory)(stage_cfg).to(d.device)
    optimizer = build_optimizer(model, tcfg)
    run = _Run(model, optimizer, build_scheduler(optimizer, tcfg),
               WindowSampler(train_tracks, n_blocks, tcfg.seed, stage_cfg.cond_dropout,
                             ConditionNoise(tcfg.condition_noise, generated_streams(stage, stage_cfg.prefix_streams),
                                            stage_cfg.prefix_vocab)))
    checkpoint_path = out_dir / CHECKPOINT_NAME
    if checkpoint_path.is_file():
        run.restore(load_checkpoint(checkpoint_path), stage, stage_cfg, d.rank)
    elif require_checkpoint:
        raise HafmError(f"--resume given but {checkpoint_path} does not exist")
    else:
        if tcfg.init_from:
            init_weights(model, tcfg.init_from, stage, stage_cfg)
        torch.manual_seed(tcfg.seed + 1 + d.rank)  # distinct dropout streams per rank
    return run, val_batches


def _loop(run: _Run, val_batches: list[StageBatch], cfg: CascadeConfig, stage: str, out_dir: Path, d: DistContext,
          stop_at_step: int | None, progress: bool) -> TrainResult:
    from tqdm import tqdm

    tcfg = cfg.train
    wrapped: nn.Module = _LossModule(run.model)
    if d.world > 1:
        device_ids = [d.device.index] if d.device.type == "cuda" else None
        wrapped = nn.parallel.DistributedDataParallel(wrapped, device_ids=device_ids)
    autocast = _autocast(tcfg, d.device)
    log = MetricsLog(out_dir / METRICS_NAME, run.step, out_dir / "tensorboard") if d.is_main else None
    result = TrainResult(out_dir, run.step, "max_steps")
    started = time.monotonic()
    deadline = started + 60 * tcfg.max_minutes if tcfg.max_minutes > 0 else None
    first_step = saved_step = run.step  # the time limit counts only after one step: every run progresses
    bar = tqdm(total=tcfg.max_steps, initial=run.step, desc=f"train {stage}", disable=not (progress and d.is_main))
    with _StopFlag() as flag:
        while (stopped := _should_stop(run, tcfg, stop_at_step, deadline, first_step, flag, d)) is None:
            tick = time.perf_counter()
            names, vector, positions = _train_step(run, wrapped, tcfg, d, autocast)
            row = {"step": run.step, "split": "train", **_as_row(names, vector), "lr": run.scheduler.get_last_lr()[0],
                   "tokens_per_s": positions / (time.perf_counter() - tick),
                   "elapsed_s": run.elapsed_s + time.monotonic() - started}
            result.train_losses.append((run.step, row["loss"]))
            if log:
                log.write(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", lr=f"{row['lr']:.2e}")
            last = run.step >= tcfg.max_steps
            if run.step % tcfg.eval_every == 0 or last:
                _validate(run, val_batches, autocast, d, log, row, result)
                _keep_best(run, result, cfg, stage, out_dir, d)
            if run.step % tcfg.checkpoint_every == 0 or last:
                _save(run, cfg, stage, out_dir, d, started)
                saved_step = run.step
    bar.close()
    if run.step != saved_step:
        _save(run, cfg, stage, out_dir, d, started)
    if log:
        log.close()
    result.step, result.stopped = run.step, stopped
    return result


def _validate(run: _Run, batches: list[StageBatch], autocast, d: DistContext, log: MetricsLog | None,
              train_row: dict, result: TrainResult) -> None:
    row = evaluate_batches(run.model, batches, d.device, autocast, d.rank, d.world)
    result.val_losses.append((run.step, row["loss"]))
    if log:
        log.write({**train_row, "split": "val", **row, "tokens_per_s": float("nan")})


def _keep_best(run: _Run, result: TrainResult, cfg: CascadeConfig, stage: str, out_dir: Path, d: DistContext) -> None:
    """Checkpoint selection on the validation split: keep the weights of the lowest validation loss."""
    if d.is_main and result.val_losses and result.val_losses[-1][1] < best_val_loss(out_dir):
        save_best(out_dir, run.model, stage, run.step, result.val_losses[-1][1], cfg)


def _save(run: _Run, cfg: CascadeConfig, stage: str, out_dir: Path, d: DistContext, started: float) -> None:
    rng = gather_rng(d)
    if d.is_main:
        state = run.state(stage, rng)
        state["elapsed_s"] = run.elapsed_s + time.monotonic() - started
        save_checkpoint(out_dir, state, cfg)
    if d.world > 1:
        dist.barrier()
