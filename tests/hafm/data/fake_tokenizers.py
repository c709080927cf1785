"""Small deterministic stand-ins for the two tokenizer protocols (no weights, no training).

Importable by name (tests put this folder on sys.path) so spawned worker processes can
unpickle the factories.
"""

import torch


class FakeCodec:
    """Codes = quantised frame energy per codebook: [B, 1, n] -> [B, 8, ceil(n / 320)]."""

    sample_rate, frame_rate, n_codebooks, codebook_size = 24_000, 75, 8, 1024

    def __init__(self, tag: str = "v1"):
        self.tag = tag

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        n = wav.shape[-1]
        frames = torch.nn.functional.pad(wav, (0, -n % 320)).reshape(wav.shape[0], -1, 320)
        energy = (frames.abs().mean(-1) * 4096).long().clamp(0, 1023)
        return torch.stack([(energy + k) % 1024 for k in range(8)], dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.zeros(codes.shape[0], 1, codes.shape[-1] * 320)

    def identity(self) -> str:
        return f"fake-codec-{self.tag}"


class FakeSemantic:
    """Tokens = quantised frame energy: [B, 1, n] at 16 kHz -> [B, n // 320] in 0..499."""

    sample_rate, frame_rate, n_clusters = 16_000, 50, 500

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        frames = wav[..., : wav.shape[-1] // 320 * 320].reshape(wav.shape[0], -1, 320)
        return (frames.abs().mean(-1) * 2000).long().clamp(0, 499)

    def identity(self) -> str:
        return "fake-semantic"


def make_codec() -> FakeCodec:
    return FakeCodec("v1")


def make_codec_v2() -> FakeCodec:
    return FakeCodec("v2")


def make_semantic() -> FakeSemantic:
    return FakeSemantic()
