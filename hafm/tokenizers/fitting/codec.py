"""Fitting a residual k-means codec: transform frames of training stems -> 8 residual k-means codebooks.

The transform is one of ``hafm.tokenizers.codec.TRANSFORMS``: the default log-magnitude STFT
(``logmag``), the MDCT (``mdct``), or any transform registered there. Frames come
from the training songs outside the validation split (``hafm.data.splits``), so codec settings can
be compared on the validation songs.

The fit is seeded (one generator per stage, derived from ``seed``) and resumable: after each
stage the codebooks so far are checkpointed, keyed by the config and a hash of the training frames,
so a killed run continues at the next stage and a checkpoint made from other data is not reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from hafm.config import read_toml
from hafm.errors import ConfigError
from hafm.fileio import atomic_save, sha256_json
from hafm.data import musdb_io, splits
from hafm.tokenizers import rvq
from hafm.tokenizers.fitting import codec_data
from hafm.tokenizers.fitting import rvq as rvq_fit
from hafm.tokenizers.codec import TRANSFORMS, make_transform, save_codebooks


@dataclass(frozen=True)
class CodecFitConfig:
    """How a residual k-means codec is fitted. Frame counts are 75 Hz frames (13.3 ms each)."""

    transform: str = "logmag"  # a name in hafm.tokenizers.codec.TRANSFORMS: "logmag" (default codec), "mdct"...
    n_codebooks: int = 8
    codebook_size: int = 1024
    max_frames: int = 150_000  # random subset of training frames (150k frames = 33 min of audio)
    kmeans_iters: int = 15  # Lloyd iterations per stage
    init_frames: int = 20_000  # k-means++ seeding subset per stage
    seed: int = 0
    min_frame_energy: float = 1e-8  # frames with less energy (sum of squares) are silence: skipped
    # the cascade encodes accompaniments only; vocal frames keep the codec usable on voices
    accompaniment_share: float = 0.8  # target fraction of fit frames taken from accompaniment stems
    split: str = "train"
    part: str = "fit"  # "fit": the split minus the validation songs; "all": every song of the split

    @classmethod
    def from_toml(cls, path: str | Path) -> CodecFitConfig:
        values = read_toml(path)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"{path}: unknown codec fit keys {sorted(unknown)}")
        return dataclasses.replace(cls(), **values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def make_transform(self):
        """The frame transform this config fits codebooks for."""
        if self.transform not in TRANSFORMS:
            raise ConfigError(f"unknown codec transform {self.transform!r}; expected one of {tuple(TRANSFORMS)}")
        return make_transform({"codec": f"{self.transform}-rvq"})


def keep_probabilities(total_frames: int, config: CodecFitConfig) -> dict[str, float]:
    """Per-stem probability of keeping a frame, so that about ``max_frames`` frames are kept and
    ``accompaniment_share`` of them come from accompaniment (``total_frames`` covers both stems)."""
    per_stem = max(1, total_frames // 2)
    shares = {"vocals": 1.0 - config.accompaniment_share, "accompaniment": config.accompaniment_share}
    return {stem: min(1.0, share * config.max_frames / per_stem) for stem, share in shares.items()}


def sample_frames(
    waves: Iterable[tuple[str, torch.Tensor]], keep: dict[str, float], config: CodecFitConfig, progress: bool = False
) -> torch.Tensor:
    """A seeded random subset ``[N, D]`` (N <= ``max_frames``) of the non-silent transform frames.

    ``waves`` yields ``(stem, wav [n])``; a frame of a stem is kept with probability ``keep[stem]``.
    """
    transform = config.make_transform()
    generator = torch.Generator().manual_seed(config.seed)
    kept = []
    for stem, wav in tqdm(waves, desc="codec frames", unit="stem", disable=not progress):
        frames = transform.analyze(wav[None])[0]
        frames = frames[transform.energy(frames) >= config.min_frame_energy]
        mask = torch.rand(len(frames), generator=generator) < keep[stem]
        kept.append(frames[mask])
    frames = torch.cat(kept) if kept else torch.empty(0, transform.dim)
    if len(frames) > config.max_frames:
        frames = frames[torch.randperm(len(frames), generator=generator)[: config.max_frames]]
    return frames.contiguous()


def hash_frames(frames: torch.Tensor) -> str:
    return hashlib.sha256(frames.contiguous().numpy().tobytes()).hexdigest()


def _load_checkpoint(path: Path | None, key: str) -> list[torch.Tensor]:
    if path is None or not path.is_file():
        return []
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("key") != key:
        print(f"codec fit: ignoring checkpoint {path} made from another config or data")
        return []
    return list(state["codebooks"])


def _save_checkpoint(path: Path, key: str, done: list[torch.Tensor]) -> None:
    state = {"key": key, "codebooks": torch.stack(done)}
    atomic_save(path, lambda tmp: torch.save(state, tmp))


def fit_codebooks(
    frames: torch.Tensor,
    config: CodecFitConfig,
    checkpoint: Path | None = None,
    progress: bool = False,
) -> tuple[torch.Tensor, list[float]]:
    """Fit ``[S, K, D]`` codebooks on ``frames [N, D]``; return them and the fit-data MSE per stage.

    Each stage's centroids are rounded to float16 (the shipped precision) before the residual for
    the next stage is computed, so the shipped codec is exactly the one that was fitted.
    """
    if len(frames) < config.codebook_size:
        raise ValueError(f"need at least {config.codebook_size} frames to fit, got {len(frames)}")
    key = sha256_json({"config": config.to_dict(), "frames": hash_frames(frames)})
    done = _load_checkpoint(checkpoint, key)
    residual = frames.to(torch.float32).clone()
    errors = []
    for codebook in done:
        residual -= codebook[rvq.nearest(residual, codebook)]
        errors.append(float(residual.pow(2).sum(dim=1).mean()))
    bar = tqdm(total=config.n_codebooks, initial=len(done), desc="codec stages", disable=not progress)
    for stage in range(len(done), config.n_codebooks):
        generator = torch.Generator().manual_seed(config.seed * 1000 + stage)
        codebook = rvq_fit.fit_stage(
            residual, config.codebook_size, config.kmeans_iters, config.init_frames, generator,
            lambda it, mse: bar.set_postfix(iteration=it, mse=f"{mse:.3g}"),
        )
        codebook = codebook.to(torch.float16).to(torch.float32)
        residual -= codebook[rvq.nearest(residual, codebook)]
        errors.append(float(residual.pow(2).sum(dim=1).mean()))
        done.append(codebook)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, key, done)
        bar.update(1)
    bar.close()
    return torch.stack(done), errors


def fit_from_musdb(root: str | Path, out: str | Path, config: CodecFitConfig, progress: bool = True) -> dict:
    """Fit on the ``config.split`` tracks of a MUSDB-layout ``root``; write ``out`` (+ .json).

    Returns the metadata written next to the codebooks (config, data hashes, fit errors, timing).
    """
    out = Path(out)
    start = time.time()
    tracks = splits.select(musdb_io.tracks_of(root, config.split), config.part)
    keep = keep_probabilities(codec_data.count_frames(tracks), config)
    waves = ((stem, wav) for _, stem, wav in codec_data.iter_stems(tracks))
    frames = sample_frames(waves, keep, config, progress)
    signal = float(frames.pow(2).sum(dim=1).mean())
    checkpoint = out.with_name(out.name + ".partial.pt")
    codebooks, errors = fit_codebooks(frames, config, checkpoint, progress)
    metadata = {
        "codec": f"{config.transform}-rvq",
        "transform": config.make_transform().describe(),
        "transform_params": config.make_transform().params(),
        "fit_config": config.to_dict(),
        "train_tracks": len(tracks),
        "train_tracks_sha256": sha256_json(sorted(t.name for t in tracks)),
        "fit_frames": len(frames),
        "fit_frames_sha256": hash_frames(frames),
        "fit_snr_db_per_stage": [round(10 * torch.log10(torch.tensor(signal / e)).item(), 3) for e in errors],
        "fit_seconds": round(time.time() - start, 1),
        "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__,
    }
    save_codebooks(out, codebooks, metadata)
    checkpoint.unlink(missing_ok=True)
    return metadata
