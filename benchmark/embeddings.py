"""FAD embedding backends and their on-disk cache.

Every backend takes a mono waveform ``[n]`` (float, any sample rate: resampled here) and returns
frame/patch embeddings ``[n_frames, d]`` float32. Its ``name`` is what tables print.

| name          | network (weights)                   | layer                       | d   | frames                  |
|---------------|-------------------------------------|-----------------------------|-----|-------------------------|
| musicnn       | MTT_musicnn (musicnn 0.1.0 wheel)   | penultimate                 | 200 | 3 s windows every 0.5 s |
| musicnn_vgg   | MSD_vgg (musicnn 0.1.0 wheel)       | pool5                       | 256 | 3 s patches every 1.5 s |
| vggish        | VGGish (vggish-10086976.pth, local) | last layer, no ReLU, no PCA | 128 | 0.96 s, no overlap      |
| clap          | CLAP via transformers (local folder)| audio projection, unit norm | 512 | 10 s windows every 1 s  |
| encodec       | EnCodec 24 kHz (local checkpoint)   | encoder latent, before RVQ  | 128 | 75 Hz (13.3 ms)         |

``clap`` and ``encodec`` live in ``benchmark.clap`` and ``benchmark.encodec_embed``; like VGGish
they read only local weights (``weights=``: CLAP's ``save_pretrained`` folder, EnCodec's checkpoint).
Every backend downmixes: it takes one channel (``CHANNELS``), and ``benchmark.fad_dirs`` either
averages a file's channels into it or embeds each channel as frames of the same song.
``device`` (``"cpu"``, ``"cuda"``, ...) runs the network there; it is not part of the cache key
(the same audio gives the same embedding up to float round-off on any device).

``musicnn`` is the offline default. VGGish graph and front end were checked equal (max abs diff 0)
to torchvggish 0.2 with the same random weights (the release weights are not on this machine).

Why these: the semantic tokenizer clusters MSD_musicnn mid-end frame features, so FAD uses other
networks (MTT_musicnn, a different training set; MSD_vgg, a different architecture). Windows
overlap (0.5 s hop instead of musicnn's 3 s) because a 10 s clip gives only 3 disjoint windows,
far too few frames for a 200-d covariance; with the hop a 10 s clip gives 15. Audio shorter than
3 s is repeat-padded to one window (one frame), as musicnn's training did. VGGish keeps the FAD
standard framing (0.96 s, no overlap) so its numbers stay comparable with ``frechet-audio-distance``.

Speed (``python -m tools.perf.embeddings``, ``results/perf/embeddings.json``): ``musicnn``
runs its front and mid end once over the whole clip and pools the 15 windows from those frame
features (``hafm.musicnn.window_embeddings``) instead of running the network on 15 overlapping
patches. Features near a window's edges then see the real neighbouring audio instead of the zero
padding each upstream patch has, so the vectors differ slightly from upstream's; the perf script
reports the cosine similarity and the FAD between the two. ``exact_patches=True`` restores the
per-patch computation (parity with musicnn 0.1.0). ``musicnn_vgg`` must take whole 187-frame
patches (its pooling strides fix the input size), so its cost grows with the number of patches:
its hop is 1.5 s (5 patches per 10 s clip; 256-d covariances still get ~5 frames per clip x the
hundreds of clips of a run).

Cache: ``EmbeddingCache(root)`` stores one ``.npz`` per (backend fingerprint, audio sha256),
written atomically; the fingerprint covers the backend's name, settings, the resampler that
brings the audio to the network's rate (``hafm.audio.RESAMPLER``) and a hash of its weights, so
new weights, settings or resampling never reuse old embeddings.

Use: ``embed = get_embedder("musicnn")`` (cached under ``$HAFM_EMBEDDING_CACHE`` or
``~/.cache/hafm/embeddings``), then ``embed(wav, sr) -> [n_frames, d]``; or
``embed_songs(backend, {song: (wav, sr)}, cache)`` for the grouped input of ``benchmark.fad.fad``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hafm.audio import RESAMPLER, check, resample
from hafm.errors import HafmError, StaleCacheError
from hafm.fileio import atomic_save, sha256_json

MUSICNN_SAMPLE_RATE = 16_000  # Hz
CACHE_ENV = "HAFM_EMBEDDING_CACHE"
MUSICNN_FRAME_RATE = 62.5  # log-mel frames per second (hop 256 at 16 kHz)


def mono_at(wav: np.ndarray | torch.Tensor, sr: int, target_sr: int, name: str = "audio") -> np.ndarray:
    """Validate a mono waveform ``[n]`` (or ``[1, n]``) and resample it to ``target_sr`` Hz: ``[n']`` float32.

    Silence is allowed: a system that outputs silence must get a (bad) FAD, not an exception.
    """
    checked = check(wav, name, sr=sr, max_seconds=None, allow_silent=True)
    if checked.shape[0] != 1:
        raise HafmError(f"{name}: embedding backends take mono audio [n], got {checked.shape[0]} channels")
    return resample(checked[0], int(sr), target_sr)


def weights_hash(model: torch.nn.Module) -> str:
    """sha256 over a model's state dict (names, shapes, float32 values): part of the cache key."""
    h = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass
class MusicnnBackend:
    """Window embeddings of a musicnn model. ``model``: injected (tests) or loaded from the wheel.

    ``exact_patches``: run the whole network on every 3 s patch (upstream musicnn's computation;
    always so for VGG models) instead of one front/mid-end pass per clip pooled over windows.
    ``batch_size``: patches per forward pass in that mode (speed only).
    """

    name: str = "musicnn"
    model_name: str = "MTT_musicnn"
    layer: str = "penultimate"
    hop_s: float = 0.5
    exact_patches: bool = False
    batch_size: int = 1
    model: torch.nn.Module | None = None
    sample_rate: int = MUSICNN_SAMPLE_RATE
    device: str = "cpu"
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def hop_frames(self) -> int:
        return max(1, round(self.hop_s * MUSICNN_FRAME_RATE))  # 0.5 s -> 31 frames (0.496 s)

    def network(self) -> torch.nn.Module:
        if self.model is None:
            from hafm.musicnn import load_musicnn

            self.model = load_musicnn(self.model_name)
        self.model = self.model.to(self.device)
        return self.model

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sha256_json({"name": self.name, "model": self.model_name, "layer": self.layer,
                                             "hop_frames": self.hop_frames, "exact_patches": self.exact_patches,
                                             "resampler": RESAMPLER, "weights": weights_hash(self.network())})
        return self._fingerprint

    def embed(self, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        """Mono audio ``[n]`` at ``sr`` Hz -> ``[n_windows, d]`` float32 (3 s windows every ``hop_s``;
        ``1 + (frames - 187) // hop_frames`` of them at 62.5 frames/s, one for audio under 3 s)."""
        from hafm.musicnn import Musicnn, log_mel
        from hafm.musicnn.embed import patch_embeddings_from_log_mel, window_embeddings_from_log_mel

        model = self.network()
        if not self.exact_patches and not isinstance(model, Musicnn):
            raise HafmError(f"{self.name}: {type(model).__name__} takes whole 3 s patches; set exact_patches=True")
        mel = log_mel(mono_at(wav, sr, self.sample_rate, f"{self.name} input"))
        if self.exact_patches:
            return patch_embeddings_from_log_mel(model, mel, self.layer, self.hop_frames, self.batch_size)
        return window_embeddings_from_log_mel(model, mel, self.layer, self.hop_frames)


@dataclass
class VGGishBackend:
    """VGGish embeddings (FAD standard). ``model``: injected (tests) or loaded from ``weights``."""

    name: str = "vggish"
    weights: str | None = None
    model: torch.nn.Module | None = None
    batch_size: int = 32
    sample_rate: int = 16_000
    device: str = "cpu"
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    def network(self) -> torch.nn.Module:
        if self.model is None:
            from benchmark.vggish import load_vggish

            self.model = load_vggish(self.weights)
        self.model = self.model.to(self.device)
        return self.model

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sha256_json({"name": self.name, "resampler": RESAMPLER,
                                             "weights": weights_hash(self.network())})
        return self._fingerprint

    @torch.no_grad()
    def embed(self, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        """Mono audio ``[n]`` at ``sr`` Hz -> ``[n_examples, 128]`` float32 (0.96 s examples)."""
        from benchmark.vggish import log_mel_examples

        examples = torch.from_numpy(log_mel_examples(mono_at(wav, sr, self.sample_rate, f"{self.name} input")))
        model = self.network()
        out = [model(examples[i:i + self.batch_size].to(self.device)).cpu()
               for i in range(0, len(examples), self.batch_size)]
        return torch.cat(out).numpy().astype(np.float32, copy=False)


def _clap(**kw):
    from benchmark.clap import ClapBackend

    return ClapBackend(**kw)


def _encodec(**kw):
    from benchmark.encodec_embed import EncodecBackend

    return EncodecBackend(**kw)


Backend = MusicnnBackend | VGGishBackend  # and benchmark.clap.ClapBackend, benchmark.encodec_embed.EncodecBackend
CHANNELS = 1  # every backend embeds mono audio

BACKENDS: dict[str, Callable[..., Backend]] = {
    "musicnn": lambda **kw: MusicnnBackend(**kw),
    "musicnn_vgg": lambda **kw: MusicnnBackend(**{"name": "musicnn_vgg", "model_name": "MSD_vgg",
                                                 "layer": "pool5", "hop_s": 1.5, "exact_patches": True, **kw}),
    "vggish": lambda **kw: VGGishBackend(**kw),
    "clap": _clap,
    "encodec": _encodec,
}


def get_backend(name: str, **overrides) -> Backend:
    """A backend by table name (``musicnn``, ``musicnn_vgg``, ``vggish``, ``clap``, ``encodec``);
    overrides set its fields (e.g. ``device=``, ``weights=`` for the last three)."""
    if name not in BACKENDS:
        raise HafmError(f"unknown embedding backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name](**overrides)


def audio_sha256(wav: np.ndarray | torch.Tensor, sr: int) -> str:
    """sha256 of the samples as little-endian float32 plus the sample rate."""
    samples = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    h = hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes())
    h.update(f"|sr={int(sr)}".encode())
    return h.hexdigest()


class EmbeddingCache:
    """Embeddings on disk: ``<root>/<backend name>/<fingerprint[:16]>/<audio sha256>.npz`` (atomic writes)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, backend: Backend, audio_sha: str) -> Path:
        return self.root / backend.name / backend.fingerprint[:16] / f"{audio_sha}.npz"

    def embed(self, backend: Backend, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        """``backend.embed(wav, sr)``, read from the cache when present, else computed and stored."""
        sha, cached = self.lookup(backend, wav, sr)
        if cached is not None:
            return cached
        frames = backend.embed(wav, sr)
        self.store(backend, sha, frames)
        return frames

    def lookup(self, backend: Backend, wav: np.ndarray | torch.Tensor, sr: int) -> tuple[str, np.ndarray | None]:
        """The audio's sha256 and its cached embeddings (None when absent or unreadable)."""
        sha = audio_sha256(wav, sr)
        return sha, self._read(self.path(backend, sha), backend, sha)

    def store(self, backend: Backend, audio_sha: str, frames: np.ndarray) -> None:
        """Write the embeddings of the audio with sha256 ``audio_sha`` (atomically)."""
        atomic_save(self.path(backend, audio_sha),
                    lambda p: np.savez(p, embeddings=frames, fingerprint=backend.fingerprint, audio_sha256=audio_sha))

    @staticmethod
    def _read(path: Path, backend: Backend, sha: str) -> np.ndarray | None:
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                frames = data["embeddings"]
                fingerprint, stored_sha = str(data["fingerprint"]), str(data["audio_sha256"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            warnings.warn(f"{path}: unreadable cache entry ({err}); recomputing it", stacklevel=3)
            return None
        if fingerprint != backend.fingerprint or stored_sha != sha:
            raise StaleCacheError(f"{path}: made by another backend/audio (fingerprint {fingerprint[:16]}, "
                                  f"audio {stored_sha[:16]}) than asked for; delete it")
        return frames


def default_cache_dir() -> Path:
    """``$HAFM_EMBEDDING_CACHE``, else ``~/.cache/hafm/embeddings``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "hafm" / "embeddings")


@dataclass
class Embedder:
    """``embedder(wav [n], sr) -> [n_frames, d]``: a backend behind an optional cache."""

    backend: Backend
    cache: EmbeddingCache | None = None

    @property
    def name(self) -> str:
        return self.backend.name

    def __call__(self, wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
        return self.cache.embed(self.backend, wav, sr) if self.cache is not None else self.backend.embed(wav, sr)


def get_embedder(name: str, cache_dir: str | Path | None = None, *, use_cache: bool = True,
                 **overrides) -> Embedder:
    """Backend ``name`` as a callable, cached under ``cache_dir`` (default ``default_cache_dir()``)
    unless ``use_cache`` is False. Overrides set the backend's fields (e.g. ``weights=`` for vggish)."""
    cache = EmbeddingCache(cache_dir or default_cache_dir()) if use_cache else None
    return Embedder(get_backend(name, **overrides), cache)


def embed_songs(backend: Backend, songs: Mapping[str, tuple[np.ndarray | torch.Tensor, int]],
                cache: EmbeddingCache | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """Embed ``{song: (mono wav [n], sr)}`` -> ``{song: [n_frames, d]}``, through ``cache`` when given.

    The result is the grouped input that ``benchmark.fad.fad`` expects.
    """
    out = {}
    for name, (wav, sr) in tqdm(songs.items(), desc=f"embed ({backend.name})", disable=not progress):
        out[name] = cache.embed(backend, wav, sr) if cache is not None else backend.embed(wav, sr)
    return out
