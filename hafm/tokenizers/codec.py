"""The acoustic codecs: the shipped MDCT + residual-VQ default and the real EnCodec 24 kHz model.

Both satisfy ``hafm.tokenizers.base.AcousticCodec``: 24 kHz mono in, ``codes [B, 8, ceil(n / 320)]``
(75 Hz, 1024 codes per codebook) out, and ``decode`` of any prefix of 1..8 codebooks.

``load_codec(None)`` (or ``"default"``) returns the default codec from ``hafm/assets``;
``load_codec("encodec")`` the real EnCodec from the torch hub cache; a path to a ``.safetensors``
file a default-type codec fitted by ``hafm codec fit``; any other path (a ``.th`` file or a folder
holding ``encodec_24khz-d7cc33bc.th``) the real EnCodec. Weights are never downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from hafm.errors import AudioError, HafmError, MissingWeightsError
from hafm.fileio import atomic_save, atomic_write_json, sha256_file
from hafm.tokenizers import mdct, rvq
from hafm.tokenizers.alignment import ACOUSTIC_HOP, ACOUSTIC_HZ, ACOUSTIC_SR

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_CODEBOOKS = ASSETS / "codec_mdct_rvq.safetensors"
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


class MdctRvqCodec:
    """Default codec: circular MDCT (hop 320) + 8 residual k-means codebooks of 1024 x 320.

    ``codebooks [S, K, 320]`` float (shipped: S = 8, K = 1024; tests use smaller K); centroid 0 of
    each stage is zero (see ``rvq``).
    """

    sample_rate = ACOUSTIC_SR
    frame_rate = ACOUSTIC_HZ

    def __init__(self, codebooks: torch.Tensor, metadata: dict | None = None) -> None:
        if codebooks.dim() != 3 or codebooks.shape[2] != ACOUSTIC_HOP or codebooks.shape[1] > CODEBOOK_SIZE:
            raise HafmError(f"codebooks must be [S, K <= {CODEBOOK_SIZE}, {ACOUSTIC_HOP}], "
                            f"got {tuple(codebooks.shape)}")
        # Stored in float16; rounding to it first keeps encode/decode identical to what was shipped.
        self.codebooks = codebooks.to(torch.float16).to(torch.float32).contiguous()
        self.n_codebooks, self.codebook_size = codebooks.shape[0], codebooks.shape[1]
        self.metadata = dict(metadata or {})
        self._identity = f"mdct-rvq-{hash_codebooks(self.codebooks)[:16]}"

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` at 24 kHz -> ``codes [B, S, ceil(n / 320)]`` int64."""
        _check_wav(wav)
        coefficients = mdct.mdct(wav[:, 0].cpu())  # [B, T, 320]
        batch, frames, dim = coefficients.shape
        codes = rvq.encode(coefficients.reshape(batch * frames, dim), self.codebooks)
        return codes.reshape(batch, frames, -1).transpose(1, 2).contiguous()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``codes [B, k, T]`` (first k codebooks) -> ``wav [B, 1, T * 320]`` at 24 kHz."""
        _check_codes(codes, self.n_codebooks, self.codebook_size)
        batch, _, frames = codes.shape
        flat = codes.cpu().transpose(1, 2).reshape(batch * frames, -1)
        coefficients = rvq.decode(flat, self.codebooks).reshape(batch, frames, ACOUSTIC_HOP)
        return mdct.imdct(coefficients).unsqueeze(1)

    def identity(self) -> str:
        return self._identity


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

    def __init__(self, weights: str | Path) -> None:
        from encodec import EncodecModel

        weights = Path(weights)
        self.model = EncodecModel.encodec_model_24khz(pretrained=False)
        self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.model.set_target_bandwidth(6.0)
        self.model.eval()
        self._identity = f"encodec24k-{sha256_file(weights)[:16]}"

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` at 24 kHz -> ``codes [B, 8, ceil(n / 320)]`` int64."""
        _check_wav(wav)
        frames = self.model.encode(wav.to(torch.float32))
        return torch.cat([codes for codes, _ in frames], dim=-1).to(torch.int64)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``codes [B, k, T]`` (first k codebooks) -> ``wav [B, 1, T * 320]`` at 24 kHz."""
        _check_codes(codes, self.n_codebooks, self.codebook_size)
        embedding = self.model.quantizer.decode(codes.transpose(0, 1))
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


def load_codec(name_or_path: str | Path | None = None) -> MdctRvqCodec | EncodecCodec:
    """The codec called ``name_or_path``: None/"default", "encodec", a .safetensors file or an EnCodec path."""
    if name_or_path is None or str(name_or_path) == "default":
        codebooks, metadata = load_codebooks(DEFAULT_CODEBOOKS)
        return MdctRvqCodec(codebooks, metadata)
    if str(name_or_path) == "encodec":
        return EncodecCodec(find_encodec_weights())
    path = Path(name_or_path)
    if path.suffix == ".safetensors":
        codebooks, metadata = load_codebooks(path)
        return MdctRvqCodec(codebooks, metadata)
    return EncodecCodec(find_encodec_weights(path))
