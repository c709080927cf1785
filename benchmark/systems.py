"""The systems compared by the benchmark (design.md, "Contracts").

A system maps one clip's audio to an accompaniment at 24 kHz: ``system(clip_audio) -> [n']``.
``identity()`` names everything its output depends on (weights, configs, seeds), so cached
outputs made by another version are never reused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from hafm.fileio import sha256_file, sha256_json

SR = 24_000


@dataclass(frozen=True)
class ClipAudio:
    """One clip: mono float32 vocals and true accompaniment ``[n]`` at 24 kHz."""

    clip_id: str
    track: str
    vocals: np.ndarray
    accompaniment: np.ndarray


class System(Protocol):
    name: str

    def identity(self) -> str: ...

    def __call__(self, clip: ClipAudio) -> np.ndarray: ...


class GroundTruth:
    """The real accompaniment of the clip (the FAD floor and the listening test's reference)."""

    name = "ground_truth"

    def identity(self) -> str:
        return "ground_truth-v1"

    def __call__(self, clip: ClipAudio) -> np.ndarray:
        return clip.accompaniment


class CodecOracle:
    """Encode the true accompaniment and decode its first ``k`` codebooks (codec ceiling)."""

    def __init__(self, codec, k: int, name: str):
        self.codec, self.k, self.name = codec, k, name

    def identity(self) -> str:
        return f"{self.name}-{self.codec.identity()}-k{self.k}"

    @torch.inference_mode()
    def __call__(self, clip: ClipAudio) -> np.ndarray:
        wav = torch.from_numpy(clip.accompaniment).float()[None, None]
        codes = self.codec.encode(wav)
        out = self.codec.decode(codes[:, : self.k])
        return out[0, 0, : len(clip.accompaniment)].numpy()


def _seeded_rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class RandomBaseline:
    """The real accompaniment of a different, seeded-random test song, cropped to the clip length.

    Real music that ignores the vocal: it scores well on audio quality and badly on coherence.
    ``pool`` maps track name -> its full accompaniment ``[n]`` at 24 kHz.
    """

    name = "random"

    def __init__(self, pool: dict[str, np.ndarray], seed: int):
        if len(pool) < 2:
            raise ValueError("the random baseline needs at least two songs to choose another one")
        self.pool, self.seed = pool, seed
        self.tracks = sorted(pool)

    def identity(self) -> str:
        return f"random-v1-seed{self.seed}-{sha256_json(self.tracks)[:12]}"

    def pick(self, clip: ClipAudio) -> tuple[str, int]:
        """(donor track, start sample) for this clip: never the clip's own song."""
        rng = _seeded_rng(self.seed, clip.clip_id)
        others = [t for t in self.tracks if t != clip.track]
        donor = others[int(rng.integers(len(others)))]
        n, m = len(clip.vocals), len(self.pool[donor])
        start = int(rng.integers(0, m - n + 1)) if m > n else 0
        return donor, start

    def __call__(self, clip: ClipAudio) -> np.ndarray:
        donor, start = self.pick(clip)
        audio = self.pool[donor]
        n = len(clip.vocals)
        if len(audio) < n:
            audio = np.tile(audio, n // len(audio) + 1)
        return audio[start : start + n]


class CascadeSystem:
    """HAFM generation from the vocal alone: three stages, or two (the ablation, coarse only).

    ``pipeline`` is a ``hafm.pipeline.GenerationPipeline`` (or anything with its ``generate`` and
    ``identity``); its identity covers weights, tokenizers, sampling settings and code version.
    """

    def __init__(self, stages: int, pipeline, seed: int):
        if stages not in (2, 3):
            raise ValueError(f"stages must be 2 or 3, got {stages}")
        self.stages, self.pipeline, self.seed = stages, pipeline, seed
        self.name = "three_stage" if stages == 3 else "two_stage"

    def identity(self) -> str:
        return f"{self.name}-{self.pipeline.identity()}-seed{self.seed}"

    def clip_seed(self, clip_id: str) -> int:
        """A per-clip seed keeps outputs reproducible whatever subset of clips is run."""
        return int(_seeded_rng(self.seed, clip_id).integers(2**31))

    def __call__(self, clip: ClipAudio) -> np.ndarray:
        vocals = torch.from_numpy(clip.vocals).float()[None]
        out = self.pipeline.generate(vocals, SR, stages=self.stages, seed=self.clip_seed(clip.clip_id))
        return out[0, : len(clip.vocals)].detach().cpu().numpy()


class FolderSystem:
    """An outside system's outputs: ``root/<clip_id>.wav`` per clip (``python -m benchmark clips export``
    writes the vocals to generate from), any rate and channel count, downmixed and resampled to 24 kHz.

    Every clip of the run must have its file (checked at construction, naming the missing ones);
    an output may be longer than its clip (cut) or up to ``TOLERANCE_S`` seconds shorter (padded
    with silence). The identity is the hash of the files, so edited outputs are scored again.
    """

    TOLERANCE_S = 0.05

    def __init__(self, name: str, root: str | Path, clip_ids: tuple[str, ...]):
        self.name, self.root = name, Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"system {name}: {self.root} is not a folder")
        missing = [c for c in clip_ids if not self.path(c).is_file()]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            shown = ", ".join(f"{c}.wav" for c in missing[:5]) + more
            raise FileNotFoundError(f"system {name}: {len(missing)} of {len(clip_ids)} clips missing in {self.root}: "
                                    f"{shown} (`python -m benchmark clips export` lists every clip)")
        self.files = {c: sha256_file(self.path(c)) for c in sorted(clip_ids)}

    def path(self, clip_id: str) -> Path:
        """The output file of one clip."""
        return self.root / f"{clip_id}.wav"

    def identity(self) -> str:
        return f"folder-{self.name}-{sha256_json(self.files)[:16]}"

    def __call__(self, clip: ClipAudio) -> np.ndarray:
        from hafm.audio import load

        wav, _ = load(self.path(clip.clip_id), sr=SR, mono=True, max_seconds=None, allow_silent=True)
        audio, n = wav[0].numpy(), len(clip.vocals)
        if len(audio) < n - self.TOLERANCE_S * SR:
            raise ValueError(f"system {self.name}: {self.path(clip.clip_id)} lasts {len(audio) / SR:.3f} s, "
                             f"the clip {n / SR:.3f} s")
        return np.pad(audio[:n], (0, max(0, n - len(audio))))
