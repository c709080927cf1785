"""Windows of token shards as training batches for each cascade stage.

A track's shard holds ``semantic_vocals [T_s]``, ``semantic_accomp [T_s]`` (50 Hz) and
``acoustic_accomp [8, T_a]`` (75 Hz) with ``T_a == T_s * 3 // 2``. Each stage sees a different
(prefix, target) pair of streams:

* ``semantic``: prefix = vocal semantic ``[1, T]``, target = accompaniment semantic ``[1, T]``
* ``coarse``:   prefix = (vocal, accompaniment) semantic ``[2, T]``, target = acoustic codebooks 1-4 ``[4, 1.5 T]``
* ``fine``:     prefix = acoustic codebooks 1-4 ``[4, 1.5 T]``, target = codebooks 5-8 ``[4, 1.5 T]``

A stage with ``vocal_onsets`` (semantic or coarse) gets the vocal's onset stream (``onset_vocals``,
0/1 at 50 Hz) as one more, last, prefix stream.

Windows are whole 40 ms blocks (2 semantic = 3 acoustic frames), so prefix and target stay aligned.
Sampling is a pure function of ``(seed, step)``: a resumed run draws exactly the windows an
uninterrupted run would, and every distributed rank takes a disjoint slice of the same draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hafm.config import STAGES
from hafm.errors import HafmError
from hafm.tokenizers.alignment import BLOCK_SECONDS

SEMANTIC_PER_BLOCK = 2
ACOUSTIC_PER_BLOCK = 3


@dataclass(frozen=True)
class StageTrack:
    """One track's full prefix ``[P, blocks * prefix_per_block]`` and target ``[K, blocks * target_per_block]``."""

    name: str
    prefix: np.ndarray
    target: np.ndarray
    prefix_per_block: int
    target_per_block: int

    @property
    def n_blocks(self) -> int:
        return self.prefix.shape[1] // self.prefix_per_block


@dataclass
class StageBatch:
    """``prefix [B, P, T_p]`` and ``target [B, K, T_t]`` (int64 token ids), ``drop_condition [B]`` (bool)."""

    prefix: torch.Tensor
    target: torch.Tensor
    drop_condition: torch.Tensor

    @property
    def positions(self) -> int:
        """Sequence positions in the batch (prefix frames + target frames, times batch size)."""
        b, _, t_p = self.prefix.shape
        return b * (t_p + self.target.shape[2])


def window_blocks(window_seconds: float) -> int:
    """Whole 40 ms blocks in a window of ``window_seconds`` (at least one)."""
    return max(1, round(window_seconds / BLOCK_SECONDS))


def stage_track(name: str, shard: Mapping[str, Any], stage: str, vocal_onsets: bool = False) -> StageTrack:
    """Cut a loaded shard into the (prefix, target) streams of ``stage``, trimmed to whole blocks;
    ``vocal_onsets`` appends the vocal onset stream to the prefix (semantic and coarse stages).

    The coarse/fine split of the ``K`` acoustic codebooks is the shard's ``n_coarse`` (recorded
    from the codec that made it), else the first half: codebooks 1-4 of 8 as in the paper.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    vocals = np.asarray(shard["semantic_vocals"])
    accomp = np.asarray(shard["semantic_accomp"])
    acoustic = np.asarray(shard["acoustic_accomp"])
    if vocals.ndim != 1 or accomp.shape != vocals.shape or acoustic.ndim != 2 or acoustic.shape[0] < 2:
        raise HafmError(
            f"shard {name!r}: expected semantic_vocals [T], semantic_accomp [T], acoustic_accomp [K, T_a]; "
            f"got {vocals.shape}, {accomp.shape}, {acoustic.shape}"
        )
    n_coarse = int(shard.get("n_coarse", acoustic.shape[0] // 2))
    blocks = min(vocals.shape[0] // SEMANTIC_PER_BLOCK, acoustic.shape[1] // ACOUSTIC_PER_BLOCK)
    t_sem, t_ac = blocks * SEMANTIC_PER_BLOCK, blocks * ACOUSTIC_PER_BLOCK
    if stage == "semantic":
        prefix, target = vocals[None, :t_sem], accomp[None, :t_sem]
        rates = (SEMANTIC_PER_BLOCK, SEMANTIC_PER_BLOCK)
    elif stage == "coarse":
        prefix, target = np.stack([vocals[:t_sem], accomp[:t_sem]]), acoustic[:n_coarse, :t_ac]
        rates = (SEMANTIC_PER_BLOCK, ACOUSTIC_PER_BLOCK)
    else:
        prefix, target = acoustic[:n_coarse, :t_ac], acoustic[n_coarse:, :t_ac]
        rates = (ACOUSTIC_PER_BLOCK, ACOUSTIC_PER_BLOCK)
    if vocal_onsets:
        prefix = np.concatenate([prefix, _onsets(name, shard, stage)[None, :t_sem]])
    return StageTrack(name, np.ascontiguousarray(prefix), np.ascontiguousarray(target), *rates)


def _onsets(name: str, shard: Mapping[str, Any], stage: str) -> np.ndarray:
    if stage == "fine":
        raise HafmError("the fine stage reads acoustic codes at 75 Hz; vocal onsets condition the semantic "
                        "and coarse stages only")
    if "onset_vocals" not in shard:
        raise HafmError(f"shard {name!r} has no vocal onset stream (made before shard version 2); "
                        "run `hafm tokenize` again: it adds the onsets and keeps the tokens")
    return np.asarray(shard["onset_vocals"])


def check_vocab(tracks: Sequence[StageTrack], prefix_vocab: int, target_vocab: int) -> None:
    """Refuse tokens outside the stage's vocabularies (shards made by another tokenizer)."""
    for track in tracks:
        for what, tokens, vocab in (("prefix", track.prefix, prefix_vocab), ("target", track.target, target_vocab)):
            if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
                raise HafmError(
                    f"track {track.name!r}: {what} token ids span [{tokens.min()}, {tokens.max()}], "
                    f"outside the stage vocabulary of {vocab}"
                )


def _stack_windows(tracks: Sequence[StageTrack], windows: Sequence[tuple[int, int]], n_blocks: int):
    prefixes, targets = [], []
    for track_index, start in windows:
        track = tracks[track_index]
        p0, t0 = start * track.prefix_per_block, start * track.target_per_block
        prefixes.append(track.prefix[:, p0:p0 + n_blocks * track.prefix_per_block])
        targets.append(track.target[:, t0:t0 + n_blocks * track.target_per_block])
    prefix = torch.from_numpy(np.stack(prefixes).astype(np.int64))
    target = torch.from_numpy(np.stack(targets).astype(np.int64))
    return prefix, target


def generated_streams(stage: str, prefix_streams: int) -> tuple[int, ...]:
    """The prefix streams of ``stage`` that an earlier stage generates at inference: the coarse
    stage's accompaniment semantic stream (stream 1; stream 0, the vocal, is always real) and
    every coarse codebook the fine stage reads; none for the semantic stage."""
    return {"semantic": (), "coarse": (1,), "fine": tuple(range(prefix_streams))}[stage]


@dataclass(frozen=True)
class ConditionNoise:
    """Conditioning augmentation: each token of prefix ``streams`` is replaced, with probability
    ``rate``, by a uniformly drawn token of ``[0, vocab)`` (fitting batches only).

    Cascaded models see their own, imperfect, conditions at inference and true ones in training;
    corrupting the condition in training makes a stage rely less on it being exact (Ho et al.
    2021, "Cascaded Diffusion Models", conditioning augmentation).
    """

    rate: float = 0.0
    streams: tuple[int, ...] = ()
    vocab: int = 1

    @property
    def active(self) -> bool:
        return self.rate > 0 and bool(self.streams)

    def apply(self, prefix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A copy of ``prefix [B, P, T]`` with the replacements drawn from ``rng`` (``prefix`` itself
        when inactive)."""
        if not self.active:
            return prefix
        out = prefix.copy()
        chosen = list(self.streams)
        hit = rng.random(out[:, chosen].shape) < self.rate
        noise = rng.integers(0, self.vocab, size=hit.shape)
        out[:, chosen] = np.where(hit, noise, out[:, chosen])
        return out


class WindowSampler:
    """Random aligned windows of ``n_blocks`` 40 ms blocks, a pure function of ``(seed, step)``.

    Tracks are drawn in proportion to their number of window positions, so every window position
    of the corpus is equally likely; tracks shorter than a window are skipped.
    """

    def __init__(self, tracks: Sequence[StageTrack], n_blocks: int, seed: int, cond_dropout: float = 0.0,
                 noise: ConditionNoise | None = None):
        self.tracks = [t for t in tracks if t.n_blocks >= n_blocks]
        if not self.tracks:
            raise HafmError(f"no track is at least {n_blocks * BLOCK_SECONDS:.2f} s long; shorten window_seconds")
        self.n_blocks = n_blocks
        self.seed = seed
        self.cond_dropout = cond_dropout
        self.noise = noise or ConditionNoise()
        positions = np.array([t.n_blocks - n_blocks + 1 for t in self.tracks], dtype=np.float64)
        self._track_p = positions / positions.sum()

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "n_blocks": self.n_blocks, "tracks": [t.name for t in self.tracks]}

    def batch(self, step: int, global_size: int, start: int, size: int) -> StageBatch:
        """Windows ``start:start+size`` of the ``global_size`` windows drawn for ``step``."""
        rng = np.random.default_rng([self.seed, step])
        track_ids = rng.choice(len(self.tracks), size=global_size, p=self._track_p)
        offsets = rng.random(global_size)
        drops = rng.random(global_size) < self.cond_dropout
        windows = [
            (int(i), int(u * (self.tracks[i].n_blocks - self.n_blocks + 1)))
            for i, u in zip(track_ids[start:start + size], offsets[start:start + size])
        ]
        prefix, target = _stack_windows(self.tracks, windows, self.n_blocks)
        if self.noise.active:  # its own stream per slice: distributed ranks do not corrupt the same positions
            noise_rng = np.random.default_rng([self.seed, step, start, 1])
            prefix = torch.from_numpy(self.noise.apply(prefix.numpy(), noise_rng))
        return StageBatch(prefix, target, torch.from_numpy(drops[start:start + size].copy()))


def fixed_windows(tracks: Sequence[StageTrack], n_blocks: int, max_windows: int) -> list[tuple[int, int]]:
    """Non-overlapping ``(track index, start block)`` windows, round-robin over tracks, at most ``max_windows``."""
    per_track = [[(i, s) for s in range(0, t.n_blocks - n_blocks + 1, n_blocks)] for i, t in enumerate(tracks)]
    windows: list[tuple[int, int]] = []
    depth = 0
    while len(windows) < max_windows and any(depth < len(w) for w in per_track):
        windows.extend(w[depth] for w in per_track if depth < len(w))
        depth += 1
    return windows[:max_windows]


def fixed_batches(
    tracks: Sequence[StageTrack], windows: Sequence[tuple[int, int]], n_blocks: int, batch_size: int
) -> list[StageBatch]:
    """Batches of the given windows with the condition kept (evaluation)."""
    batches = []
    for i in range(0, len(windows), batch_size):
        prefix, target = _stack_windows(tracks, windows[i:i + batch_size], n_blocks)
        batches.append(StageBatch(prefix, target, torch.zeros(prefix.shape[0], dtype=torch.bool)))
    return batches


def load_stage_tracks(shard_dir: str | Path, split: str, stage: str, vocal_onsets: bool = False) -> list[StageTrack]:
    """Every shard of ``split`` under ``shard_dir`` as :class:`StageTrack` (named by file stem);
    ``vocal_onsets``: with the vocal onset stream as the last prefix stream."""
    from hafm.data.shards import list_shards, load_shard, read_meta

    paths = list(list_shards(shard_dir, split))
    if not paths:
        raise HafmError(f"no {split!r} token shards under {shard_dir}; run the tokenize step first")
    tracks = []
    for path in paths:
        shard = dict(load_shard(path))
        n_coarse = read_meta(path).get("n_coarse")
        if n_coarse is not None:
            shard["n_coarse"] = n_coarse
        tracks.append(stage_track(_track_name(Path(path)), shard, stage, vocal_onsets))
    return tracks


def _track_name(path: Path) -> str:
    name = path.name
    for suffix in (".npz", ".pt"):
        name = name.removesuffix(suffix)
    return name
