"""One generation pipeline: cascade + semantic tokenizer + codec + sampling settings, with an identity.

Everything that turns a vocal into an accompaniment goes through :class:`GenerationPipeline`:
``hafm generate``, ``hafm evaluate-cascade``, the sampling sweep and the benchmark's model systems.
Its :meth:`~GenerationPipeline.identity` names everything the output depends on (stage weights,
both tokenizers, every sampling setting, the generation code's version), so a cache of generated
audio keyed by it is never reused after any of those change.

The shipped sampling settings live next to the shipped weights (``hafm/assets/cascade/sampling.toml``,
chosen on the validation split by ``hafm sweep-sampling``) and are the default here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hafm import audio
from hafm.config import STAGES, SamplingConfig, from_dict, read_toml
from hafm.fileio import sha256_file, sha256_json
from hafm.model.cascade import Cascade, load_cascade, stage_paths
from hafm.onsets import ONSET_ID
from hafm.tokenizers.alignment import ACOUSTIC_SR

# Bump when the generation code changes what it outputs for the same weights, tokenizers and settings.
# 3: vocals at other rates than 16 kHz are resampled by soxr (hafm.audio), no longer torchaudio.
GENERATION_VERSION = 3
SAMPLING_FILE = "sampling.toml"


def length_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped by equal length, in chunks of at most ``size`` items
    (a generation batch needs clips of one length)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        groups.setdefault(length, []).append(index)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]


def load_sampling(checkpoints: str | Path | None = None) -> SamplingConfig:
    """The sampling settings shipped with a checkpoint folder (``sampling.toml``), else the authors' defaults."""
    path = stage_paths(checkpoints)["semantic"].parent / SAMPLING_FILE
    if not path.is_file():
        return SamplingConfig()
    return from_dict({"sampling": read_toml(path).get("sampling", {})}).sampling


@dataclass
class GenerationPipeline:
    """Vocal -> accompaniment with fixed parts. ``weights_id`` names the cascade's stage weights."""

    cascade: Cascade
    semantic: object  # SemanticTokenizer
    codec: object  # AcousticCodec
    sampling: SamplingConfig
    weights_id: str
    device: str = "cpu"  # where the models run (see ``to``)

    @classmethod
    def load(cls, checkpoints: str | Path | None = None, stages: int = 3, codec: str | None = None,
             semantic: str | None = None, sampling: SamplingConfig | None = None) -> GenerationPipeline:
        """The pipeline of a checkpoint folder (None: the shipped cascade) and named tokenizers.

        ``sampling`` None takes the settings saved with the checkpoints (``load_sampling``).
        """
        from hafm.tokenizers.codec import load_codec
        from hafm.tokenizers.semantic import load_semantic

        paths = stage_paths(checkpoints)
        weights_id = sha256_json({name: sha256_file(paths[name]) for name in STAGES[:stages]})[:16]
        return cls(load_cascade(checkpoints, stages=stages), load_semantic(semantic), load_codec(codec),
                   sampling if sampling is not None else load_sampling(checkpoints), weights_id)

    @property
    def stages(self) -> int:
        return 3 if self.cascade.fine is not None else 2

    @property
    def n_coarse(self) -> int:
        return int(getattr(self.codec, "n_coarse", self.codec.n_codebooks // 2))

    def to(self, device: torch.device | str) -> GenerationPipeline:
        """Run the cascade, the semantic feature network and the codec's decoder on ``device``
        (in place, like ``torch.nn.Module.to``); returns the pipeline. Tokens are drawn with the
        same CPU generators on any device, and decoded audio comes back to the CPU."""
        from hafm.device import place

        device = torch.device(device)
        self.cascade.to(device)
        place(self.semantic, device, "semantic tokenizer")
        place(self.codec, device, "codec")
        self.device = str(device)
        return self

    def with_sampling(self, sampling: SamplingConfig) -> GenerationPipeline:
        """The same parts with other sampling settings (the sweep's candidates)."""
        return dataclasses.replace(self, sampling=sampling)

    def identity(self) -> str:
        """A short hash of weights, tokenizers, sampling settings and the generation code's version.

        A device other than the CPU enters it (float round-off there can change a drawn token, so
        its outputs are not the CPU's); on the CPU it is what it was before devices existed.
        """
        parts = {
            "version": GENERATION_VERSION, "weights": self.weights_id, "stages": self.stages,
            "codec": self.codec.identity(), "semantic": self.semantic.identity(),
            "sampling": self.sampling.identity_dict(),  # legacy field names: identities stay stable
        }
        if self.reads_onsets:  # only then: identities of cascades without onsets stay what they were
            parts["onsets"] = ONSET_ID
        if torch.device(self.device).type != "cpu":
            parts["device"] = torch.device(self.device).type
        return sha256_json(parts)[:16]

    def codes(self, vocals: torch.Tensor, sr: int, *, seed: int = 0, stages: int | None = None,
              progress: bool = False, max_seconds: float | None = audio.DEFAULT_MAX_SECONDS) -> torch.Tensor:
        """Accompaniment codes ``[K, T_a]`` (all codebooks, or the coarse ones when ``stages=2``)
        for ``vocals [C, n]`` at ``sr`` Hz. ``seed`` fixes the vocal noise and every sampled token."""
        return self.codes_batch([vocals], sr, seeds=[seed], stages=stages, progress=progress,
                                max_seconds=max_seconds)[0]

    def codes_batch(self, vocals: Sequence[torch.Tensor], sr: int, *, seeds: Sequence[int],
                    stages: int | None = None, progress: bool = False,
                    max_seconds: float | None = audio.DEFAULT_MAX_SECONDS,
                    accompaniments: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Codes ``[B, K, T_a]`` for ``B`` vocals ``[C, n]`` of one length, generated as one batch.

        Clip ``i`` uses its own generator seeded with ``seeds[i]`` (vocal noise and every token),
        so it draws what :meth:`codes` draws for it alone, up to float rounding of the batched
        forward pass; a batch of 8 costs about a third per clip of single clips on one CPU thread.
        ``accompaniments`` (the true ones, ``[C, n]`` like the vocals): the semantic stage is
        skipped and the acoustic stages run on their semantic tokens, an oracle ablation.
        """
        from hafm.generate import generate_tokens

        if len(vocals) != len(seeds) or not vocals:
            raise ValueError(f"need one seed per vocal: {len(vocals)} vocals, {len(seeds)} seeds")
        if len({v.shape[-1] for v in vocals}) != 1:
            raise ValueError("a batch needs vocals of one length; generate clips of other lengths separately")
        if accompaniments is not None and [a.shape[-1] for a in accompaniments] != [v.shape[-1] for v in vocals]:
            raise ValueError("need one accompaniment per vocal, of the vocal's length")
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        tokens, true_semantic = self.semantic_inputs(vocals, sr, generators, max_seconds, accompaniments)
        return generate_tokens(self.cascade, tokens, stages=stages or self.stages, sampling=self.sampling,
                               generator=generators, progress=progress, accompaniment_semantic=true_semantic,
                               vocal_onsets=self.onset_inputs(vocals, sr, tokens.shape[-1]))

    @property
    def reads_onsets(self) -> bool:
        """Whether a stage reads the vocal's onset stream (``StageConfig.vocal_onsets``) or decodes
        onset-synchronously (``SamplingConfig.onset_hold``)."""
        from hafm.generate import needs_onsets

        return any(needs_onsets(self.cascade.stage(name), self.sampling) for name in STAGES[:2])

    def onset_inputs(self, vocals: Sequence[torch.Tensor], sr: int, n_frames: int) -> torch.Tensor | None:
        """Onset streams ``[B, n_frames]`` (50 Hz) of the clean vocals ``[C, n]`` at ``sr`` Hz when
        the cascade reads them, else None."""
        from hafm.generate import vocal_onset_stream

        if not self.reads_onsets:
            return None
        return torch.stack([vocal_onset_stream(v, sr, n_frames) for v in vocals])

    def semantic_inputs(self, vocals: Sequence[torch.Tensor], sr: int, generators: Sequence[torch.Generator],
                        max_seconds: float | None = audio.DEFAULT_MAX_SECONDS,
                        accompaniments: Sequence[torch.Tensor] | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Semantic tokens ``[B, T_s]`` of the noised vocals (clip ``i`` draws its noise from
        ``generators[i]``) and, when given, of the true accompaniments (no noise, no draws)."""
        from hafm.generate import vocal_semantic_tokens

        tokens = torch.stack([
            vocal_semantic_tokens(audio.validate(v, "vocals", sr=sr, max_seconds=max_seconds), sr, self.semantic,
                                  self.sampling.vocal_noise_std, g) for v, g in zip(vocals, generators)])
        true_semantic = None if accompaniments is None else torch.stack([
            vocal_semantic_tokens(audio.validate(a, "accompaniment", sr, max_seconds, allow_silent=True), sr,
                                  self.semantic, 0.0, g) for a, g in zip(accompaniments, generators)])
        return tokens, true_semantic

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor, n_samples: int) -> torch.Tensor:
        """``codes [k, T_a]`` -> accompaniment ``[1, n_samples]`` at 24 kHz (first k codebooks)."""
        return self.codec.decode(codes[None])[0, :, :n_samples].cpu()

    def generate(self, vocals: torch.Tensor, sr: int, *, seed: int = 0, stages: int | None = None,
                 progress: bool = False, max_seconds: float | None = audio.DEFAULT_MAX_SECONDS) -> torch.Tensor:
        """Accompaniment ``[1, n']`` at 24 kHz for ``vocals [C, n]`` at ``sr`` Hz (n' = same duration)."""
        return self.generate_batch([vocals], sr, seeds=[seed], stages=stages, progress=progress,
                                   max_seconds=max_seconds)[0]

    def generate_batch(self, vocals: Sequence[torch.Tensor], sr: int, *, seeds: Sequence[int],
                       stages: int | None = None, progress: bool = False,
                       max_seconds: float | None = audio.DEFAULT_MAX_SECONDS,
                       accompaniments: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """:meth:`generate` for vocals of one length as one batch (see :meth:`codes_batch`)."""
        codes = self.codes_batch(vocals, sr, seeds=seeds, stages=stages, progress=progress, max_seconds=max_seconds,
                                 accompaniments=accompaniments)
        n = round(vocals[0].shape[-1] * ACOUSTIC_SR / sr)
        return [self.decode(c, n) for c in codes]

    def generate_both(self, vocals: torch.Tensor, sr: int, *, seed: int = 0) -> dict[int, torch.Tensor]:
        """``{3: three-stage, 2: two-stage}`` accompaniments ``[1, n']`` from one token generation.

        With one seed the two-stage ablation draws exactly the coarse codes that the three-stage
        cascade draws before its fine stage, so the pair differs only by the fine codebooks.
        """
        return self.generate_both_batch([vocals], sr, seeds=[seed])[0]

    def generate_both_batch(self, vocals: Sequence[torch.Tensor], sr: int, *,
                            seeds: Sequence[int]) -> list[dict[int, torch.Tensor]]:
        """:meth:`generate_both` for vocals of one length, generated as one batch (see :meth:`codes_batch`)."""
        codes = self.codes_batch(vocals, sr, seeds=seeds, stages=3)
        n = round(vocals[0].shape[-1] * ACOUSTIC_SR / sr)
        return [{3: self.decode(c, n), 2: self.decode(c[: self.n_coarse], n)} for c in codes]

