"""Vocal -> accompaniment: tokenize, run the cascade's stages, decode with the codec.

Pipeline (``generate_accompaniment``): downmix and resample the vocal to 16 kHz, add
N(0, ``vocal_noise_std``^2) noise (the authors' inference script adds 0.01; the default here is
none, as in training), semantic tokens at 50 Hz (and,
for stages with ``vocal_onsets``, the clean vocal's onset stream at 50 Hz), stage 1 (accompaniment
semantic tokens), stage 2 (codebooks 1-4 at 75 Hz, ``int(T_s * 75 / 50)``
frames), stage 3 (codebooks 5-8; skipped with ``stages=2``, the ablation that decodes the 4 coarse
codebooks alone), and the codec's decoder at 24 kHz.

Long vocals: every stage runs on a grid of overlapping windows (``SamplingConfig.window_seconds``,
``overlap_seconds``) shared by all stages. A window's prefix is the condition over the window
and its prompt is the stage's own output over the overlap, which the new tokens continue; the
output is therefore one token stream without joins to crossfade, and memory stays bounded by the
window length however long the song is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from tqdm import tqdm

from hafm import audio
from hafm.config import SamplingConfig
from hafm.model.cascade import Cascade
from hafm.model.lm import StageLM
from hafm.onsets import onset_hold_bias, onset_stream
from hafm.tokenizers.alignment import ACOUSTIC_SR, SEMANTIC_HZ, SEMANTIC_SR, acoustic_from_semantic
from hafm.tokenizers.base import AcousticCodec, SemanticTokenizer


def window_grid(n_semantic: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Windows ``[(start, end), ...]`` in semantic frames covering ``0 .. n_semantic``.

    Consecutive windows share ``overlap`` frames; every window but the first adds new frames.
    """
    if not 0 <= overlap < window:
        raise ValueError(f"need 0 <= overlap < window, got overlap {overlap}, window {window} frames")
    if n_semantic <= 0:
        raise ValueError(f"need at least one semantic frame, got {n_semantic}")
    hop = window - overlap
    return [(s, min(s + window, n_semantic)) for s in range(0, max(n_semantic - overlap, 1), hop)]


def semantic_window(sampling: SamplingConfig) -> tuple[int, int]:
    """``(window, overlap)`` in semantic frames, even so that windows start on 40 ms blocks."""
    window = 2 * max(1, round(sampling.window_seconds * SEMANTIC_HZ / 2))
    overlap = 2 * round(sampling.overlap_seconds * SEMANTIC_HZ / 2)
    return window, overlap


Generators = torch.Generator | Sequence[torch.Generator]


def generate_stage(lm: StageLM, prefix: torch.Tensor, n_frames: int, grid: list[tuple[int, int]],
                   sampling: SamplingConfig, generator: Generators, progress: bool = False,
                   repeat_bias: torch.Tensor | None = None) -> torch.Tensor:
    """Run one stage over the window ``grid``: ``prefix [B, P, T_p]`` -> ``target [B, K, n_frames]``.

    Grid bounds are semantic frames; each is converted to the stage's prefix and target rates.
    ``generator``: one for the batch or one per row (see ``StageLM.generate``); ``repeat_bias
    [B, n_frames]``: see ``StageLM.generate``.
    """
    def at(frame: int, hz: int) -> int:
        return frame * hz // SEMANTIC_HZ

    device = lm.head.weight.device
    out = torch.empty(prefix.shape[0], lm.cfg.target_codebooks, n_frames, dtype=torch.long)
    filled = 0
    for start, end in tqdm(grid, desc=lm.cfg.name, unit="window", disable=not progress):
        t0, t1 = at(start, lm.cfg.target_hz), min(at(end, lm.cfg.target_hz), n_frames)
        window_prefix = prefix[:, :, at(start, lm.cfg.prefix_hz):at(end, lm.cfg.prefix_hz)].to(device)
        prompt = out[:, :, t0:filled].to(device) if filled > t0 else None
        bias = None if repeat_bias is None else repeat_bias[:, t0:t1]
        out[:, :, t0:t1] = lm.generate(window_prefix, t1 - t0, sampling, generator, prompt, repeat_bias=bias).cpu()
        filled = t1
    return out


def _hold_strength(lm: StageLM, sampling: SamplingConfig) -> float:
    """The stage's ``onset_hold`` (0 for stages without 50 Hz prefix streams: the fine stage)."""
    return sampling.for_stage(lm.cfg.name).onset_hold if lm.cfg.prefix_hz == SEMANTIC_HZ else 0.0


def needs_onsets(lm: StageLM, sampling: SamplingConfig) -> bool:
    """Whether a stage reads the vocal's onsets: as a prefix stream, or to decode onset-synchronously."""
    return lm.cfg.vocal_onsets or _hold_strength(lm, sampling) != 0


def hold_bias(lm: StageLM, sampling: SamplingConfig, vocal_onsets: torch.Tensor | None,
              n_frames: int) -> torch.Tensor | None:
    """The stage's onset-synchronous repeat bias ``[B, n_frames]`` (None when its ``onset_hold`` is 0)."""
    strength = _hold_strength(lm, sampling)
    if strength == 0:
        return None
    if vocal_onsets is None:
        raise ValueError(f"onset_hold of the {lm.cfg.name} stage needs the vocal's onsets; pass vocal_onsets")
    return onset_hold_bias(vocal_onsets.reshape(-1, vocal_onsets.shape[-1]), n_frames, lm.cfg.target_hz, strength)


def with_onsets(lm: StageLM, streams: torch.Tensor, vocal_onsets: torch.Tensor | None) -> torch.Tensor:
    """A stage's prefix: ``streams [B, P, T_s]``, plus ``vocal_onsets [B, T_s]`` as the last stream
    when the stage reads them (``StageConfig.vocal_onsets``)."""
    if not lm.cfg.vocal_onsets:
        return streams
    if vocal_onsets is None:
        raise ValueError(f"the {lm.cfg.name} stage reads the vocal's onset stream; pass vocal_onsets "
                         "(hafm.onsets.onset_stream, or GenerationPipeline, which computes them)")
    return torch.cat([streams, vocal_onsets.reshape(streams.shape[0], 1, -1).to(streams.dtype)], dim=1)


def generate_tokens(cascade: Cascade, vocal_semantic: torch.Tensor, *, stages: int = 3,
                    sampling: SamplingConfig | None = None, generator: Generators | None = None,
                    progress: bool = False, accompaniment_semantic: torch.Tensor | None = None,
                    vocal_onsets: torch.Tensor | None = None) -> torch.Tensor:
    """``vocal_semantic [T_s]`` -> accompaniment codes ``[K, int(T_s * 75 / 50)]``; a batch
    ``[B, T_s]`` (clips of one length) -> ``[B, K, ...]``, with one generator per clip or one shared.

    ``stages=3``: every codebook (coarse then fine); ``stages=2``: the coarse codebooks only.
    ``accompaniment_semantic`` (shaped like ``vocal_semantic``), when given, replaces the semantic
    stage's output: the acoustic stages run on these tokens (an oracle ablation: true tokens in).
    ``vocal_onsets`` (0/1, shaped like ``vocal_semantic``): needed by stages with ``vocal_onsets``.
    """
    if stages not in (2, 3):
        raise ValueError(f"stages must be 2 or 3, got {stages}")
    sampling = sampling or SamplingConfig()
    generator = generator or torch.Generator().manual_seed(0)
    batch = vocal_semantic if vocal_semantic.dim() == 2 else vocal_semantic[None]
    n_sem = batch.shape[1]
    n_ac = acoustic_from_semantic(n_sem)
    grid = window_grid(n_sem, *semantic_window(sampling))
    if accompaniment_semantic is None:
        accomp = generate_semantic(cascade, batch, sampling, generator, progress, vocal_onsets)[:, None]
    else:
        accomp = accompaniment_semantic.reshape(batch.shape)[:, None]
    prefix = with_onsets(cascade.coarse, torch.cat([batch[:, None], accomp], dim=1), vocal_onsets)
    codes = generate_stage(cascade.coarse, prefix, n_ac, grid, sampling, generator, progress,
                           hold_bias(cascade.coarse, sampling, vocal_onsets, n_ac))
    if stages == 3:
        fine = generate_stage(cascade.stage("fine"), codes, n_ac, grid, sampling, generator, progress)
        codes = torch.cat([codes, fine], dim=1)
    return codes if vocal_semantic.dim() == 2 else codes[0]


def generate_semantic(cascade: Cascade, vocal_semantic: torch.Tensor, sampling: SamplingConfig,
                      generator: Generators, progress: bool = False,
                      vocal_onsets: torch.Tensor | None = None) -> torch.Tensor:
    """Stage 1 alone: ``vocal_semantic [B, T_s]`` (and ``vocal_onsets [B, T_s]`` when the stage
    reads them) -> accompaniment semantic tokens ``[B, T_s]`` (50 Hz), on the windows every stage shares."""
    n_sem = vocal_semantic.shape[1]
    grid = window_grid(n_sem, *semantic_window(sampling))
    prefix = with_onsets(cascade.semantic, vocal_semantic[:, None], vocal_onsets)
    return generate_stage(cascade.semantic, prefix, n_sem, grid, sampling, generator, progress,
                          hold_bias(cascade.semantic, sampling, vocal_onsets, n_sem))[:, 0]


def vocal_semantic_tokens(vocals: torch.Tensor, sr: int, tokenizer: SemanticTokenizer, noise_std: float,
                          generator: torch.Generator) -> torch.Tensor:
    """``vocals [C, n]`` at ``sr`` Hz -> semantic tokens ``[T_s]`` of the noised 16 kHz mono vocal."""
    wav = audio.resample(audio.downmix(vocals), sr, SEMANTIC_SR)
    if noise_std > 0:
        wav = wav + noise_std * torch.randn(wav.shape, generator=generator)
    return tokenizer.encode(wav[None])[0]


def vocal_onset_stream(vocals: torch.Tensor, sr: int, n_frames: int) -> torch.Tensor:
    """``vocals [C, n]`` at ``sr`` Hz -> onset flags ``[n_frames]`` (int64, 50 Hz) of the clean mono vocal."""
    wav = audio.resample(audio.downmix(vocals), sr, SEMANTIC_SR)
    return torch.from_numpy(onset_stream(wav.reshape(-1).numpy(), n_frames).astype("int64"))


def generate_accompaniment(vocals: torch.Tensor, sr: int, *, stages: int = 3,
                           sampling: SamplingConfig | None = None, seed: int = 0,
                           cascade: Cascade | None = None, codec: AcousticCodec | None = None,
                           semantic: SemanticTokenizer | None = None, progress: bool = False,
                           max_seconds: float | None = audio.DEFAULT_MAX_SECONDS) -> torch.Tensor:
    """Accompaniment ``[1, n']`` at 24 kHz for ``vocals [C, n]`` at ``sr`` Hz (any rate, any channels).

    ``n'`` is the vocal's duration at 24 kHz. ``cascade``, ``codec`` and ``semantic`` default to
    the shipped ones, ``sampling`` to the settings shipped with the cascade
    (``hafm.pipeline.load_sampling``); ``seed`` fixes the vocal noise and every sampled token.
    Vocals longer than ``max_seconds`` (None: no limit) are refused with
    :class:`~hafm.errors.AudioTooLongError`. A shortcut for :class:`hafm.pipeline.GenerationPipeline`.
    """
    from hafm.pipeline import GenerationPipeline, load_sampling

    pipeline = GenerationPipeline(
        cascade=_shipped("cascade", stages) if cascade is None else cascade,
        semantic=_shipped("semantic") if semantic is None else semantic,
        codec=_shipped("codec") if codec is None else codec,
        sampling=load_sampling() if sampling is None else sampling,
        weights_id="")
    return pipeline.generate(vocals, sr, seed=seed, stages=stages, progress=progress, max_seconds=max_seconds)


@functools.lru_cache(maxsize=4)
def _shipped(what: str, stages: int = 3):
    """The shipped cascade / semantic tokenizer / codec, loaded once per process (repeated calls,
    e.g. one per benchmark clip, must not reload weights)."""
    if what == "cascade":
        from hafm.model.cascade import load_cascade
        return load_cascade(stages=stages)
    if what == "semantic":
        from hafm.tokenizers.semantic import load_semantic
        return load_semantic()
    from hafm.tokenizers.codec import load_codec
    return load_codec()


def mix_with_vocals(vocals: torch.Tensor, sr: int, accompaniment: torch.Tensor, peak: float = 0.99) -> torch.Tensor:
    """Sum of the mono vocal (resampled to 24 kHz) and ``accompaniment [1, n']`` -> ``[1, n']``.

    The sum is scaled down only if its peak exceeds ``peak``, so a 16-bit file never clips.
    """
    voice = audio.resample(audio.downmix(vocals), sr, ACOUSTIC_SR)
    n = accompaniment.shape[1]
    voice = torch.nn.functional.pad(voice[:, :n], (0, max(0, n - voice.shape[1])))
    mixed = voice + accompaniment
    top = float(mixed.abs().max())
    return mixed * (peak / top) if top > peak else mixed
