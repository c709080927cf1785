"""CLAP audio embeddings (LAION CLAP, Wu et al. 2023) for FAD, through ``transformers``' ``ClapModel``.

Weights are never downloaded: a folder written by ``ClapModel.save_pretrained`` plus its
``ClapFeatureExtractor`` (``preprocessor_config.json``), e.g. ``laion/clap-htsat-unfused`` or
``laion/larger_clap_music`` saved on a connected machine, is given as ``weights`` or
``$HAFM_CLAP_DIR`` and read with ``local_files_only=True``.

Frames: CLAP embeds a whole clip of ``max_length_s`` (10 s at 48 kHz) into one vector, so FAD
needs several windows per song. Windows of that length start every ``hop_s`` (1 s, as fadtk's
``clap-laion-*`` models); where the last one stops short of the end one more window ends at the
end; audio shorter than a window is one window, padded by the feature extractor (its
``repeatpad``). fadtk instead also embeds windows that run past the end, zero-padded; here every
window is real audio. A 10 s clip gives 1 frame and a 30 s song 21 (512-d: CLAP FAD needs many
songs or long ones; ``fad_dirs`` warns when the frames are fewer than the dimensions).

Vector: ``get_audio_features`` (the projection, L2-normalised as laion_clap's
``get_audio_embedding_from_data``, which fadtk uses), float32 ``[n_windows, projection_dim]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hafm.errors import MissingWeightsError
from hafm.fileio import sha256_json

WEIGHTS_ENV = "HAFM_CLAP_DIR"


def find_clap_dir(path: str | os.PathLike | None = None) -> Path:
    """The CLAP folder: ``path`` or ``$HAFM_CLAP_DIR``; it must hold ``config.json`` and
    ``preprocessor_config.json``. Raises ``MissingWeightsError`` saying what to put where."""
    location = path if path is not None else os.environ.get(WEIGHTS_ENV)
    if not location:
        # offline-ok: the from_pretrained below is message text; loading uses local_files_only
        raise MissingWeightsError(f"CLAP weights: pass a folder (--weights) or set ${WEIGHTS_ENV}. Nothing is "
                                  "downloaded: on a connected machine run ClapModel.from_pretrained(name)"  # offline-ok
                                  ".save_pretrained(DIR) and ClapFeatureExtractor.from_pretrained(name)"  # offline-ok
                                  ".save_pretrained(DIR), then copy DIR here")
    folder = Path(location)
    missing = [n for n in ("config.json", "preprocessor_config.json") if not (folder / n).is_file()]
    if missing:
        raise MissingWeightsError(f"{folder}: not a saved CLAP model and feature extractor (missing "
                                  f"{', '.join(missing)}; save both with save_pretrained)")
    return folder


@dataclass
class ClapBackend:
    """CLAP window embeddings. ``model``/``extractor``: injected (tests) or loaded from ``weights``."""

    name: str = "clap"
    weights: str | None = None
    hop_s: float = 1.0
    batch_size: int = 8
    device: str = "cpu"
    model: torch.nn.Module | None = None
    extractor: object | None = None
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    def network(self) -> torch.nn.Module:
        if self.model is None or self.extractor is None:
            from transformers import ClapFeatureExtractor, ClapModel

            folder = find_clap_dir(self.weights)
            self.model = ClapModel.from_pretrained(str(folder), local_files_only=True)
            self.extractor = ClapFeatureExtractor.from_pretrained(str(folder), local_files_only=True)
        self.model = self.model.eval().requires_grad_(False).to(self.device)
        return self.model

    @property
    def sample_rate(self) -> int:
        self.network()
        return int(self.extractor.sampling_rate)

    @property
    def window(self) -> int:
        """Samples per window at ``sample_rate`` (the extractor's ``max_length_s``)."""
        self.network()
        return int(self.extractor.nb_max_samples)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from benchmark.embeddings import weights_hash
            from hafm.audio import RESAMPLER

            self._fingerprint = sha256_json({"name": self.name, "hop_s": self.hop_s, "window": self.window,
                                             "resampler": RESAMPLER,
                                             "extractor": _plain_settings(self.extractor.to_dict()),
                                             "weights": weights_hash(self.network())})
        return self._fingerprint

    def starts(self, n: int) -> list[int]:
        """Window starts (samples) over ``n`` samples: every ``hop_s``, plus one ending at the end."""
        hop = max(1, round(self.hop_s * self.sample_rate))
        last = max(n - self.window, 0)
        starts = list(range(0, last + 1, hop))
        return starts if starts[-1] == last else starts + [last]

    @torch.no_grad()
    def embed(self, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        """Mono audio ``[n]`` at ``sr`` Hz -> ``[n_windows, projection_dim]`` float32, unit length."""
        from benchmark.embeddings import mono_at

        model = self.network()
        x = mono_at(wav, sr, self.sample_rate, f"{self.name} input")
        chunks = [x[s:s + self.window] for s in self.starts(len(x))]
        out = []
        for i in range(0, len(chunks), self.batch_size):
            inputs = self.extractor(chunks[i:i + self.batch_size], sampling_rate=self.sample_rate,
                                    return_tensors="pt")
            features = model.get_audio_features(**{k: v.to(self.device) for k, v in inputs.items()})
            # transformers >= 5 returns an output object (pooler_output), 4.x the tensor itself
            vectors = getattr(features, "pooler_output", features)
            out.append(torch.nn.functional.normalize(vectors, dim=-1).cpu())
        return torch.cat(out).numpy().astype(np.float32, copy=False)


def _plain_settings(settings: dict) -> dict:
    """The scalar settings of a feature extractor (its mel filter arrays are derived from them)."""
    return {k: v for k, v in settings.items() if isinstance(v, str | int | float | bool | None)}
