"""EnCodec embeddings for FAD (fadtk's ``encodec-emb``): the 24 kHz EnCodec encoder's continuous
latent before quantisation, 128-d at 75 Hz.

Weights are never downloaded: the checkpoint ``encodec_24khz-d7cc33bc.th`` is found exactly as the
acoustic codec finds it (``hafm.tokenizers.codec.find_encodec_weights``: a file, a folder holding
it, or the torch hub cache) and loaded into ``EncodecModel.encodec_model_24khz(pretrained=False)``.

Frames: one per 320 samples at 24 kHz (``ceil(n / 320)``), so a 10 s clip gives 750 frames.
Long audio is encoded in ``chunk_s`` pieces (multiples of the hop) to bound memory; the encoder's
LSTM then restarts at each piece, which changes the frames near its edges slightly (audio shorter
than ``chunk_s``, every benchmark clip, is one pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hafm.fileio import sha256_json

SAMPLE_RATE = 24_000  # Hz
HOP = 320  # samples per latent frame (75 Hz)


@dataclass
class EncodecBackend:
    """EnCodec encoder latents. ``model``: an ``EncodecModel`` injected (tests) or loaded from ``weights``."""

    name: str = "encodec"
    weights: str | None = None
    chunk_s: float = 60.0
    device: str = "cpu"
    model: torch.nn.Module | None = None
    sample_rate: int = SAMPLE_RATE
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    def network(self) -> torch.nn.Module:
        if self.model is None:
            from hafm.tokenizers.codec import EncodecCodec, find_encodec_weights

            self.model = EncodecCodec(find_encodec_weights(self.weights)).model
        self.model = self.model.eval().requires_grad_(False).to(self.device)
        return self.model

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from benchmark.embeddings import weights_hash
            from hafm.audio import RESAMPLER

            self._fingerprint = sha256_json({"name": self.name, "chunk_s": self.chunk_s, "resampler": RESAMPLER,
                                             "weights": weights_hash(self.network().encoder)})
        return self._fingerprint

    @torch.no_grad()
    def embed(self, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        """Mono audio ``[n]`` at ``sr`` Hz -> ``[ceil(n' / 320), 128]`` float32 (n': samples at 24 kHz)."""
        from benchmark.embeddings import mono_at

        encoder = self.network().encoder
        x = torch.from_numpy(mono_at(wav, sr, self.sample_rate, f"{self.name} input"))
        chunk = max(1, round(self.chunk_s * self.sample_rate / HOP)) * HOP
        out = [encoder(x[None, None, i:i + chunk].to(self.device))[0].T.cpu() for i in range(0, len(x), chunk)]
        return torch.cat(out).numpy().astype(np.float32, copy=False)
