"""The acoustic codecs: the default residual k-means codecs and the real EnCodec 24 kHz model.

All satisfy ``hafm.tokenizers.base.AcousticCodec``: 24 kHz mono in, ``codes [B, S, ceil(n / 320)]``
(75 Hz, S = 8 codebooks of 1024 codes) out, ``decode`` of any prefix of 1..S codebooks, and the
coarse/fine split (``n_coarse``) as data that the cascade reads.

``load_codec(None)`` (or ``"default"``) returns the default codec from ``hafm/assets``: residual
k-means on log-magnitude STFT frames, decoded by Griffin-Lim (``logmag``). ``load_codec("mdct")``
the first default (MDCT + residual k-means), ``load_codec("encodec")`` the real EnCodec from the
torch hub cache; a path to a ``.safetensors`` file a residual k-means codec fitted by
``hafm codec fit`` (its transform is read from the file); any other path (a ``.th`` file or a folder
holding ``encodec_24khz-d7cc33bc.th``) the real EnCodec. Weights are never downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from hafm.errors import AudioError, HafmError, MissingWeightsError
from hafm.fileio import atomic_save, atomic_write_json, sha256_file
from hafm.tokenizers import rvq
from hafm.tokenizers.alignment import ACOUSTIC_HOP, ACOUSTIC_HZ, ACOUSTIC_SR
from hafm.tokenizers.base import FrameTransform
from hafm.tokenizers.logmag import LogMagTransform
from hafm.tokenizers.mdct import MdctTransform

# The frame transforms of the residual k-means codecs, by name: a codebook file records
# "<name>-rvq" and the transform's params; `hafm codec fit --transform NAME` fits one.
TRANSFORMS: dict[str, Callable[..., FrameTransform]] = {"logmag": LogMagTransform, "mdct": MdctTransform}

ASSETS = Path(__file__).resolve().parent.parent / "assets"
NAMED_CODECS = {
    "logmag": ASSETS / "codec_logmag_rvq.safetensors",
    "mdct": ASSETS / "codec_mdct_rvq.safetensors",
}
DEFAULT_CODEC = "logmag"
ENCODEC_CHECKPOINT = "encodec_24khz-d7cc33bc.th"
N_CODEBOOKS = 8
CODEBOOK_SIZE = 1024


def _check_wav(wav: torch.Tensor) -> None:
    if wav.dim() != 3 or wav.shape[1] != 1:
        raise AudioError(f"codec input must be [B, 1, n] mono at 24 kHz, got shape {tuple(wav.shape)}")
    if wav.shape[-1] == 0:
        raise AudioError("codec input is empty (0 samples)")
    if not torch.isfinite(wav).all():
        raise AudioError("codec input contains NaN or infinite samples")


def _check_codes(codes: torch.Tensor, n_codebooks: int, codebook_size: int) -> None:
    if codes.dim() != 3 or not 1 <= codes.shape[1] <= n_codebooks:
        raise HafmError(f"codes must be [B, k, T] with 1 <= k <= {n_codebooks}, got shape {tuple(codes.shape)}")
    if codes.is_floating_point() or (codes.numel() and (codes.min() < 0 or codes.max() >= codebook_size)):
        raise HafmError(f"codes must be integers in 0..{codebook_size - 1}")


def make_transform(metadata: dict) -> FrameTransform:
    """The frame transform a fitted codec was made with: ``metadata["codec"]`` is ``<name>-rvq`` for a
    name in ``TRANSFORMS`` (files without it are MDCT), built with ``metadata["transform_params"]``."""
    kind = metadata.get("codec", "mdct-rvq")
    name = kind.removesuffix("-rvq")
    if name == kind or name not in TRANSFORMS:
        expected = ", ".join(f"{n}-rvq" for n in TRANSFORMS)
        raise HafmError(f"unknown codec kind {kind!r} in codebook metadata (expected one of {expected})")
    return TRANSFORMS[name](**metadata.get("transform_params", {}))


class RvqCodec:
    """Residual k-means codec: a frame transform (75 Hz, ``D`` values per frame) + ``S`` codebooks.

    ``codebooks [S, K, D]`` float (shipped: S = 8, K = 1024; tests use smaller K); centroid 0 of
    each stage is zero (see ``rvq``), so decoding more codebooks never moves a frame further from
    its analysed value.
    """

    sample_rate = ACOUSTIC_SR
    frame_rate = ACOUSTIC_HZ

    def __init__(self, codebooks: torch.Tensor, metadata: dict | None = None,
                 transform: FrameTransform | None = None) -> None:
        self.metadata = dict(metadata or {})
        self.transform = transform or make_transform(self.metadata)
        if (codebooks.dim() != 3 or codebooks.shape[2] != self.transform.dim
                or codebooks.shape[1] > CODEBOOK_SIZE):
            raise HafmError(f"codebooks must be [S, K <= {CODEBOOK_SIZE}, {self.transform.dim}] for the "
                            f"{self.transform.name} transform, got {tuple(codebooks.shape)}")
        # Stored in float16; rounding to it first keeps encode/decode identical to what was shipped.
        self.codebooks = codebooks.to(torch.float16).to(torch.float32).contiguous()
        self.n_codebooks, self.codebook_size = codebooks.shape[0], codebooks.shape[1]
        self.n_coarse = self.n_codebooks // 2
        digest = hash_codebooks(self.codebooks)[:16]
        self._identity = f"{self.transform.name}-rvq-{digest}"
        if self.transform.name != "mdct":
            params = json.dumps(self.transform.params(), sort_keys=True)
            self._identity += "-" + _short_hash(params)

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` at 24 kHz -> ``codes [B, S, ceil(n / 320)]`` int64."""
        _check_wav(wav)
        frames = self.transform.analyze(wav[:, 0].cpu())  # [B, T, D]
        batch, count, dim = frames.shape
        codes = rvq.encode(frames.reshape(batch * count, dim), self.codebooks.cpu())
        return codes.reshape(batch, count, -1).transpose(1, 2).contiguous()

    def to(self, device: torch.device | str) -> "RvqCodec":
        """Decode on ``device`` (the codebooks move there; encoding stays on the CPU); returns the codec."""
        self.codebooks = self.codebooks.to(device)
        return self

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``codes [B, k, T]`` (first k codebooks) -> ``wav [B, 1, T * 320]`` at 24 kHz, on the
        codebooks' device."""
        _check_codes(codes, self.n_codebooks, self.codebook_size)
        batch, _, count = codes.shape
        flat = codes.to(self.codebooks.device).transpose(1, 2).reshape(batch * count, -1)
        frames = rvq.decode(flat, self.codebooks).reshape(batch, count, self.transform.dim)
        return self.transform.synthesize(frames).unsqueeze(1)

    def identity(self) -> str:
        return self._identity


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def hash_codebooks(codebooks: torch.Tensor) -> str:
    """sha256 (hex) of the float16 codebook bytes: the identity of a fitted default codec."""
    import hashlib

    data = codebooks.to(torch.float16).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()


def save_codebooks(path: str | Path, codebooks: torch.Tensor, metadata: dict) -> None:
    """Write ``codebooks [S, K, D]`` as float16 safetensors plus ``<path>.json`` (fit config, hashes)."""
    from safetensors.torch import save_file

    path = Path(path)
    tensor = codebooks.to(torch.float16).contiguous()
    info = {"codebooks_sha256": hash_codebooks(tensor), **metadata}
    atomic_save(path, lambda tmp: save_file({"codebooks": tensor}, str(tmp), metadata={"hafm": json.dumps(info)}))
    atomic_write_json(path.with_suffix(".json"), info)


def load_codebooks(path: str | Path) -> tuple[torch.Tensor, dict]:
    """Read codebooks ``[S, K, D]`` (float32) and their metadata from a safetensors file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"codec codebooks not found: {path} (fit them with `hafm codec fit`)")
    with safe_open(str(path), framework="pt") as f:
        codebooks = f.get_tensor("codebooks").to(torch.float32)
        metadata = json.loads((f.metadata() or {}).get("hafm", "{}"))
    return codebooks, metadata


class EncodecCodec:
    """The real EnCodec 24 kHz model at 6 kbps (8 codebooks), weights from a local file only."""

    sample_rate = ACOUSTIC_SR
    frame_rate = ACOUSTIC_HZ
    n_codebooks = N_CODEBOOKS
    codebook_size = CODEBOOK_SIZE
    n_coarse = 4  # the paper's split: codebooks 1-4 coarse, 5-8 fine

    def __init__(self, weights: str | Path) -> None:
        from encodec import EncodecModel

        weights = Path(weights)
        self.model = EncodecModel.encodec_model_24khz(pretrained=False)
        self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.model.set_target_bandwidth(6.0)
        self.model.eval()
        self._identity = f"encodec24k-{sha256_file(weights)[:16]}"

    def to(self, device: torch.device | str) -> "EncodecCodec":
        """Run the model on ``device``; returns the codec."""
        self.model.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` at 24 kHz -> ``codes [B, 8, ceil(n / 320)]`` int64, on the CPU."""
        _check_wav(wav)
        frames = self.model.encode(wav.to(self.device, torch.float32))
        return torch.cat([codes for codes, _ in frames], dim=-1).to(torch.int64).cpu()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``codes [B, k, T]`` (first k codebooks) -> ``wav [B, 1, T * 320]`` at 24 kHz, on the model's device."""
        _check_codes(codes, self.n_codebooks, self.codebook_size)
        embedding = self.model.quantizer.decode(codes.to(self.device).transpose(0, 1))
        return self.model.decoder(embedding)[..., : codes.shape[-1] * ACOUSTIC_HOP]

    def identity(self) -> str:
        return self._identity


def find_encodec_weights(location: str | Path | None = None) -> Path:
    """The EnCodec 24 kHz checkpoint: ``location`` (file or folder) or the torch hub cache.

    Raises ``MissingWeightsError`` naming the file it looked for; never downloads.
    """
    if location is None:
        location = Path(torch.hub.get_dir()) / "checkpoints"
    location = Path(location)
    candidate = location / ENCODEC_CHECKPOINT if location.is_dir() else location
    if not candidate.is_file():
        raise MissingWeightsError(
            f"EnCodec 24 kHz weights not found: expected {candidate} "
            f"(copy {ENCODEC_CHECKPOINT} there; this toolkit never downloads weights)"
        )
    return candidate


def load_codec(name_or_path: str | Path | None = None) -> RvqCodec | EncodecCodec:
    """The codec called ``name_or_path``: None/"default", a name in ``NAMED_CODECS`` ("logmag",
    "mdct"), "encodec", a fitted ``.safetensors`` file or an EnCodec checkpoint path."""
    name = DEFAULT_CODEC if name_or_path is None or str(name_or_path) == "default" else str(name_or_path)
    if name in NAMED_CODECS:
        return RvqCodec(*load_codebooks(NAMED_CODECS[name]))
    if name == "encodec":
        return EncodecCodec(find_encodec_weights())
    path = Path(name_or_path)
    if path.suffix == ".safetensors":
        return RvqCodec(*load_codebooks(path))
    return EncodecCodec(find_encodec_weights(path))
