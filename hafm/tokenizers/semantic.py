"""The semantic tokenizer: 50 Hz frame features -> standardise -> nearest of 500 k-means centroids.

The paper clusters HuBERT layer 9 into 500 tokens. Offline, the default clusters musicnn's
mid-end frame features (``MSD_musicnn``, 753-d) together with 12 chroma bins (see ``features``;
musicnn alone carries little pitch information), fitted on the corpus by ``hafm semantic fit``
and shipped in ``hafm/assets``. A fitted tokenizer is one ``.safetensors`` file:
``centroids [K, d]``, ``mean [d]``, ``std [d]`` (the per-dimension scale, see ``standardisation``;
float32) and a JSON header (config, data hashes, provenance), so it loads without pickle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hafm.config import read_toml
from hafm.errors import AudioError, ConfigError, HafmError, MissingWeightsError
from hafm.fileio import atomic_save
from hafm.tokenizers.alignment import SEMANTIC_HZ, SEMANTIC_SR, padded_length
from hafm.tokenizers.features import FeatureConfig, FeatureExtractor, build_extractor

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The default adds chroma to musicnn: musicnn's own features are nearly pitch-blind (results/semantic.md)
SHIPPED = {"default": "semantic_musicnn_chroma.safetensors", "musicnn_chroma": "semantic_musicnn_chroma.safetensors",
           "musicnn": "semantic_musicnn.safetensors", "mfcc": "semantic_mfcc.safetensors"}
HEADER_KEY = "hafm_semantic"
FORMAT_VERSION = 1


@dataclass
class SemanticConfig:
    """Features and k-means fit of a semantic tokenizer (a ``[features]`` table in TOML)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    n_clusters: int = 500
    max_frames: int = 200_000  # frames sampled from the corpus for k-means (bounds fit time)
    frames_per_file: int = 400  # random frames kept per stem file (of a 16 s excerpt), so many songs are seen
    # MiniBatchKMeans settings after fairseq's HuBERT recipe (batch 10000, tol 0, patience 100
    # batches), with fewer initialisations (3, not 20) for CPU time
    batch_size: int = 10_000
    max_iter: int = 100  # passes over the sampled frames
    max_no_improvement: int = 100  # batches without inertia improvement before stopping
    n_init: int = 3
    std_floor: float = 1e-2  # std below std_floor * mean(std) is raised to it (dead channels)
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SemanticConfig:
        values = dict(values)
        feats = FeatureConfig(**values.pop("features", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown semantic config keys: {sorted(unknown)}")
        return cls(features=feats, **values)

    @classmethod
    def from_toml(cls, path: str | Path) -> SemanticConfig:
        return cls.from_dict(read_toml(path))


def standardisation(frames: np.ndarray, std_floor: float,
                    blocks: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale (float32 ``[d]`` each) such that ``(x - mean) / scale`` has unit variance
    per dimension (std floored at ``std_floor * mean(std)``, so dead channels stay near 0), then
    each group of ``blocks`` dimensions is scaled to the same total variance, so that 12 chroma
    bins weigh as much as 753 musicnn channels in the k-means distance."""
    blocks = blocks or (frames.shape[1],)
    if sum(blocks) != frames.shape[1]:
        raise ValueError(f"feature blocks {blocks} do not add up to the feature size {frames.shape[1]}")
    mean = frames.mean(axis=0, dtype=np.float64)
    std = frames.std(axis=0, dtype=np.float64)
    scale = np.maximum(std, std_floor * std.mean() + 1e-12)
    bounds = np.cumsum((0, *blocks))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        block_variance = ((std[lo:hi] / scale[lo:hi]) ** 2).sum()
        scale[lo:hi] *= np.sqrt(max(block_variance, 1e-12))
    return mean.astype(np.float32), scale.astype(np.float32)


def nearest_centroid(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """``x [N, d]``, ``centroids [K, d]`` -> index of the nearest centroid (Euclidean) ``[N]``."""
    dist = (centroids * centroids).sum(1)[None, :] - 2.0 * x @ centroids.T
    return dist.argmin(dim=1)


class KMeansSemanticTokenizer:
    """Features + k-means, satisfying ``hafm.tokenizers.base.SemanticTokenizer``."""

    sample_rate = SEMANTIC_SR
    frame_rate = SEMANTIC_HZ

    def __init__(self, features: FeatureConfig, centroids: np.ndarray, mean: np.ndarray, std: np.ndarray,
                 header: dict[str, Any] | None = None, extractor: FeatureExtractor | None = None):
        if centroids.ndim != 2 or mean.shape != (centroids.shape[1],) or std.shape != mean.shape:
            raise HafmError(f"inconsistent k-means shapes: centroids {centroids.shape}, "
                            f"mean {mean.shape}, std {std.shape}")
        self.features_config = features
        self.centroids = torch.from_numpy(np.ascontiguousarray(centroids, dtype=np.float32))
        self.mean = torch.from_numpy(np.ascontiguousarray(mean, dtype=np.float32))
        self.std = torch.from_numpy(np.ascontiguousarray(std, dtype=np.float32))
        self.header = dict(header or {})
        self.n_clusters = int(centroids.shape[0])
        self._extractor = extractor
        self._device: torch.device | None = None  # where the feature network runs (None: where it loads)

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            self._extractor = build_extractor(self.features_config)
            self._place_extractor()
        return self._extractor

    def to(self, device: torch.device | str) -> KMeansSemanticTokenizer:
        """Run the feature network (musicnn, HuBERT) on ``device``; returns the tokenizer.

        Features without a network (MFCC, chroma) and the k-means stay on the CPU.
        """
        self._device = torch.device(device)
        if self._extractor is not None:
            self._place_extractor()
        return self

    def _place_extractor(self) -> None:
        move = getattr(self._extractor, "to", None)  # only extractors with a torch network have one
        if self._device is not None and move is not None:
            move(self._device)

    def features(self, wav_16k: np.ndarray) -> np.ndarray:
        """Mono 16 kHz ``[n]`` -> ``[T_s, d]`` features, after zero-padding to whole 40 ms blocks."""
        wav = np.asarray(wav_16k, dtype=np.float32)
        if wav.ndim != 1 or wav.shape[0] == 0:
            raise AudioError(f"semantic tokenizer: expected mono samples [n], got shape {wav.shape}")
        if not np.all(np.isfinite(wav)):
            raise AudioError("semantic tokenizer: audio contains NaN or infinite samples")
        wav = np.pad(wav, (0, padded_length(wav.shape[0], SEMANTIC_SR) - wav.shape[0]))
        return self.extractor(wav)

    def tokens_from_features(self, feats: np.ndarray) -> torch.Tensor:
        """``[T, d]`` features -> ``[T]`` int64 cluster ids."""
        x = (torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)) - self.mean) / self.std
        return nearest_centroid(x, self.centroids).to(torch.int64)

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` float at 16 kHz -> ``tokens [B, T_s]`` int64 with
        ``T_s = alignment.semantic_frames(n, 16000)``."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise AudioError(f"semantic tokenizer: expected wav [B, 1, n], got shape {tuple(wav.shape)}")
        rows = [self.tokens_from_features(self.features(w[0].detach().cpu().numpy())) for w in wav]
        return torch.stack(rows)

    def identity(self) -> str:
        """16 hex digits naming the feature extractor and the fitted k-means."""
        h = hashlib.sha256(json.dumps(self.features_config.describe(), sort_keys=True).encode())
        for array in (self.centroids, self.mean, self.std):
            h.update(array.numpy().tobytes())
        return h.hexdigest()[:16]

    def save(self, path: str | Path) -> None:
        """Write the tokenizer atomically to ``path`` (``.safetensors``)."""
        from safetensors.numpy import save_file

        header = {**self.header, "format_version": FORMAT_VERSION, "identity": self.identity(),
                  "features": dataclasses.asdict(self.features_config), "n_clusters": self.n_clusters}
        tensors = {"centroids": self.centroids.numpy(), "mean": self.mean.numpy(), "std": self.std.numpy()}
        metadata = {HEADER_KEY: json.dumps(header, sort_keys=True)}
        atomic_save(path, lambda p: save_file(tensors, str(p), metadata=metadata))


def read_tokenizer_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and JSON header of a fitted tokenizer file; ``HafmError`` if it is not one."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file, safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
        arrays = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise HafmError(f"{path}: not a readable semantic tokenizer file ({err})") from err
    if HEADER_KEY not in meta or not {"centroids", "mean", "std"} <= set(arrays):
        raise HafmError(f"{path}: not a semantic tokenizer file (no {HEADER_KEY} header or arrays)")
    return arrays, json.loads(meta[HEADER_KEY])


def load_tokenizer_file(path: str | Path, hubert_dir: str | None = None) -> KMeansSemanticTokenizer:
    """Load a fitted tokenizer; ``hubert_dir`` overrides the HuBERT folder stored at fit time."""
    arrays, header = read_tokenizer_file(path)
    features = FeatureConfig(**header["features"])
    if hubert_dir is not None:
        features = dataclasses.replace(features, hubert_dir=hubert_dir)
    tok = KMeansSemanticTokenizer(features, arrays["centroids"], arrays["mean"], arrays["std"], header)
    if tok.identity() != header.get("identity"):
        raise HafmError(f"{path}: contents do not match the identity in its header (edited or corrupt)")
    return tok


def load_semantic(name_or_path: str | None = None, hubert_dir: str | None = None) -> KMeansSemanticTokenizer:
    """The semantic tokenizer named ``name_or_path``.

    ``None`` or ``"default"``: the shipped musicnn + chroma k-means (``"musicnn_chroma"``);
    ``"musicnn"``: musicnn features alone; ``"mfcc"``: MFCC + chroma; otherwise the path of a
    file written by ``hafm semantic fit`` (whichever features it was fitted on, HuBERT included).
    """
    name = name_or_path or "default"
    if name in SHIPPED:
        path = ASSETS / SHIPPED[name]
        if not path.is_file():
            raise MissingWeightsError(f"shipped semantic tokenizer {path} is missing; fit one with "
                                      "`hafm semantic fit --root DATA --out PATH`")
    else:
        path = Path(name)
        if not path.is_file():
            raise MissingWeightsError(f"no semantic tokenizer file at {path} "
                                      f"(and {name!r} is not one of {sorted(SHIPPED)})")
    return load_tokenizer_file(path, hubert_dir)
