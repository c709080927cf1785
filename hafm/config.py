"""Configuration dataclasses with defaults, loaded from TOML and saved next to every artefact.

``small`` trains on 2 CPU cores in hours; ``paper`` is the GPU-scale configuration (the paper does
not publish sizes: these are documented choices in the range of AudioLM/SingSong stage models).
Every field can be overridden from a TOML file whose tables mirror the dataclasses:
``[semantic]``, ``[coarse]``, ``[fine]``, ``[train]``, ``[sampling]``, ``[data]``.
"""

from __future__ import annotations

import dataclasses
import tomllib
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hafm.errors import ConfigError, ConfigNotFoundError

STAGES = ("semantic", "coarse", "fine")


@dataclass
class StageConfig:
    """One decoder-only stage LM. Sizes count model dimensions, not tokens."""

    name: str = "semantic"
    prefix_vocab: int = 500  # vocabulary of each conditioning stream
    prefix_streams: int = 1  # semantic: 1 (vocal); coarse: 2 (vocal, accomp semantic); fine: 4 codebooks
    target_vocab: int = 500
    target_codebooks: int = 1  # semantic: 1; coarse and fine: 4
    # small default: 192 x 4 layers measured ~1.5k target tokens/s training (coarse, 1 thread);
    # d=256 was 1.0k tokens/s and 5.6-6.4M parameters (see the model engineer's report)
    d_model: int = 192
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 0  # 0 = n_heads (standard attention); fewer shares keys/values (GQA)
    ff_mult: float = 8 / 3  # GEGLU hidden size = ff_mult * d_model (rounded to 64)
    dropout: float = 0.0  # the CPU default sees each window a few times: underfit, no dropout
    rel_pos_buckets: int = 32
    rel_pos_max_distance: int = 256
    max_len: int = 2048  # longest sequence (prefix + target + delays) the KV cache is sized for
    aligned_condition: bool = True  # also add the time-aligned prefix embedding at target positions
    prefix_hz: int = 50  # frame rate of the prefix streams (aligned condition: frame t -> t * prefix_hz // target_hz)
    target_hz: int = 50  # frame rate of the target codebooks
    cond_dropout: float = 0.1  # probability of dropping the condition (classifier-free guidance)
    # semantic and coarse stages: the vocal's onset stream (hafm.onsets, 0/1 at 50 Hz) as one more,
    # last, prefix stream beside the prefix_streams token streams
    vocal_onsets: bool = False

    def __post_init__(self) -> None:
        if self.vocal_onsets and self.prefix_hz != 50:
            raise ConfigError(f"stage {self.name!r}: vocal_onsets needs 50 Hz prefix streams, not {self.prefix_hz} Hz")

    @property
    def condition_streams(self) -> int:
        """Prefix streams the model reads: ``prefix_streams``, plus the onset stream with ``vocal_onsets``."""
        return self.prefix_streams + int(self.vocal_onsets)


@dataclass
class TrainConfig:
    """Optimisation of one stage; ``window_seconds`` sets the training sequence length."""

    window_seconds: float = 6.0
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 100
    max_steps: int = 2000
    min_lr_ratio: float = 0.1  # cosine decay ends at min_lr_ratio * lr
    grad_clip: float = 1.0
    eval_every: int = 50
    eval_batches: int = 10  # validation windows = eval_batches * batch_size
    checkpoint_every: int = 25  # a CPU step takes 5-15 s: lose at most a few minutes to a kill
    seed: int = 0
    val_fraction: float = 0.1  # training tracks held out for validation (seeded hash of the track name)
    precision: str = "fp32"  # "fp32" on CPU (bf16 measured 4x slower on AVX2); "bf16" on GPUs
    threads: int = 1
    max_minutes: float = 0.0  # stop (with a checkpoint) after this wall time; 0 = no limit
    # shard folder of a `hafm data chorales --augment` tree: its tracks join the fitting data only
    # (renderings of validation songs are left out); "" = none
    augment_shards: str = ""
    # weights (best.pt, checkpoint.pt or a release file) that start a new run (fine-tuning); "" = random
    init_from: str = ""
    # conditioning augmentation: share of the tokens of the condition streams an earlier stage
    # generates (hafm.data.stage_data.generated_streams) replaced by random tokens in fitting batches
    condition_noise: float = 0.0


@dataclass
class SamplingConfig:
    """Defaults from the authors' inference script, except the vocal noise (see ``vocal_noise_std``)."""

    temperature: float = 0.9
    top_k: int = 250
    top_p: float = 0.0  # 0 disables nucleus sampling
    guidance_scale: float = 3.0  # classifier-free guidance: uncond + scale * (cond - uncond); 1 = unguided
    # Where guidance is applied. Guidance doubles the rows: measured for 10 s of audio (small, 1 thread,
    # CPU s): semantic 2.0 vs 1.5, coarse 2.7 vs 2.1, fine 3.0 vs 2.2 guided vs conditional-only
    # (results/perf/generation.json). The fine stage is conditioned on the coarse codes of the same
    # frames, which leave it little to choose: guiding it costs the most and matters least.
    guidance_stages: tuple[str, ...] = ("semantic", "coarse")
    # N(0, std^2) added to the vocal before semantic tokenization. The authors' script adds 0.01; here
    # the stages learn from tokens of clean vocals (`hafm tokenize` adds none), and on the validation
    # songs 0.01 cost 0.086 of rhythm proxy (results/vocal_noise/), so the default is none.
    vocal_noise_std: float = 0.0
    # Generation window: the training window of `small` (6 s), so no stage sees longer contexts at
    # inference than in training; a 10 s clip is generated as windows 0-6 s and 4-10 s.
    window_seconds: float = 6.0
    overlap_seconds: float = 2.0  # previous output kept as prompt at each window join
    # Per-stage settings that replace the ones above for that stage, e.g. {"fine": {"temperature": 0.0}}
    # (TOML: [sampling.stage_overrides.fine]). Chosen on the validation split by `hafm sweep-sampling`
    # and shipped with the cascade (hafm/assets/cascade/sampling.toml).
    stage_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Onset-synchronous decoding (semantic and coarse stages): a logit bonus for repeating the
    # previous frame's token on frames more than one frame from a vocal onset (hafm.onsets), and
    # the same penalty on the frames at an onset, so that the tokens change where the vocal's notes
    # start. 0 = off (nothing is computed, and identities are what they were before this setting).
    onset_hold: float = 0.0

    def __post_init__(self) -> None:
        if any(isinstance(values, dict) and not LEGACY_SAMPLING_KEYS.keys().isdisjoint(values)
               for values in self.stage_overrides.values()):
            self.stage_overrides = {
                stage: _renamed(values, LEGACY_SAMPLING_KEYS, f"sampling.stage_overrides.{stage}.")
                if isinstance(values, dict) else values for stage, values in self.stage_overrides.items()}

    def for_stage(self, stage: str) -> SamplingConfig:
        """The settings one stage samples with: these, with ``stage_overrides[stage]`` applied.

        An override may set ``temperature``, ``top_k``, ``top_p``, ``guidance_scale`` and ``onset_hold``;
        a stage given a ``guidance_scale`` override is guided with it (it joins ``guidance_stages``).
        """
        override = dict(self.stage_overrides.get(stage, {}))
        unknown = set(override) - set(STAGE_SAMPLING_KEYS)
        if unknown:
            raise ConfigError(f"sampling.stage_overrides.{stage}: unknown keys {sorted(unknown)}; "
                              f"allowed: {list(STAGE_SAMPLING_KEYS)}")
        updates = {key: STAGE_SAMPLING_KEYS[key](value) for key, value in override.items()}
        if "guidance_scale" in override and stage not in self.guidance_stages:
            updates["guidance_stages"] = (*self.guidance_stages, stage)
        return dataclasses.replace(self, **updates, stage_overrides={})

    def effective(self) -> dict[str, dict[str, Any]]:
        """``{stage: {temperature, top_k, top_p, guidance_scale, onset_hold}}`` as each stage will sample
        (scale 1 = unguided)."""
        out = {}
        for stage in STAGES:
            s = self.for_stage(stage)
            out[stage] = {"temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p,
                          "guidance_scale": s.guidance_scale if stage in s.guidance_stages else 1.0,
                          "onset_hold": s.onset_hold}
        return out

    def identity_dict(self) -> dict[str, Any]:
        """The settings as a dict for identity hashes (``GenerationPipeline.identity``), under the
        names they had when the benchmark's cached outputs were keyed: ``cfg_scale``/``cfg_stages``.

        The guidance fields were renamed from those names; hashing the legacy names keeps every
        identity (and so every cached output keyed by one) the same for the same settings.
        """
        legacy = {new: old for old, new in LEGACY_SAMPLING_KEYS.items()}
        values = {legacy.get(key, key): value for key, value in asdict(self).items()
                  if not (key == "onset_hold" and value == 0.0)}  # off: the hash it had before the setting
        values["stage_overrides"] = {stage: {legacy.get(k, k): v for k, v in override.items()}
                                     for stage, override in self.stage_overrides.items()}
        return values


STAGE_SAMPLING_KEYS = {"temperature": float, "top_k": int, "top_p": float, "guidance_scale": float,
                       "onset_hold": float}
# Names the guidance settings had before "cfg" meant only configuration: old sampling.toml files,
# configs saved next to checkpoints and stage overrides still load (with a DeprecationWarning).
LEGACY_SAMPLING_KEYS = {"cfg_scale": "guidance_scale", "cfg_stages": "guidance_stages"}


def _renamed(values: dict[str, Any], legacy: dict[str, str], where: str) -> dict[str, Any]:
    """``values`` with each legacy key replaced by its new name (same position), a DeprecationWarning for each."""
    if not any(key in legacy for key in values):
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        new = legacy.get(key)
        if new is None:
            out[key] = value
            continue
        if new in values:
            raise ConfigError(f"{where}{key} and {where}{new} both given; {key!r} is the old name of {new!r}")
        warnings.warn(f"config key {where}{key} is deprecated; use {new}", DeprecationWarning, stacklevel=3)
        out[new] = value
    return out


@dataclass
class DataConfig:
    corpus: str = "data/chorales"  # MUSDB18(-HQ)-layout root
    shards: str = "data/shards"
    codec: str = "default"
    semantic: str = "default"


def _stage(name: str, **kw: Any) -> StageConfig:
    shapes = {
        "semantic": dict(prefix_vocab=500, prefix_streams=1, target_vocab=500, target_codebooks=1,
                         prefix_hz=50, target_hz=50),
        "coarse": dict(prefix_vocab=500, prefix_streams=2, target_vocab=1024, target_codebooks=4,
                       prefix_hz=50, target_hz=75),
        "fine": dict(prefix_vocab=1024, prefix_streams=4, target_vocab=1024, target_codebooks=4,
                     prefix_hz=75, target_hz=75),
    }[name]
    return StageConfig(name=name, **shapes, **kw)


@dataclass
class CascadeConfig:
    semantic: StageConfig = field(default_factory=lambda: _stage("semantic"))
    coarse: StageConfig = field(default_factory=lambda: _stage("coarse"))
    fine: StageConfig = field(default_factory=lambda: _stage("fine"))
    train: TrainConfig = field(default_factory=TrainConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def stage(self, name: str) -> StageConfig:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; expected one of {STAGES}")
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def with_codec_shape(cfg: CascadeConfig, n_codebooks: int, n_coarse: int, codebook_size: int) -> CascadeConfig:
    """``cfg`` with the coarse and fine stages shaped for a codec of ``n_codebooks`` codebooks of
    ``codebook_size`` codes whose first ``n_coarse`` are the coarse ones (EnCodec/default: 8, 4, 1024)."""
    if not 0 < n_coarse < n_codebooks:
        raise ConfigError(f"need 0 < n_coarse < n_codebooks, got {n_coarse} of {n_codebooks}")
    coarse = dataclasses.replace(cfg.coarse, target_vocab=codebook_size, target_codebooks=n_coarse)
    fine = dataclasses.replace(cfg.fine, prefix_vocab=codebook_size, prefix_streams=n_coarse,
                               target_vocab=codebook_size, target_codebooks=n_codebooks - n_coarse)
    return dataclasses.replace(cfg, coarse=coarse, fine=fine)


def small() -> CascadeConfig:
    """About 3-5M parameters per stage: trainable on 2 CPU cores (fp32, 1 thread).

    Semantic 3.7M (d=256: its single 500-way head leaves room for width), coarse 3.6M and fine
    4.2M (d=192: their four 1024-way heads and embeddings are 60% of the parameters).
    """
    return CascadeConfig(semantic=_stage("semantic", d_model=256))


def paper() -> CascadeConfig:
    """GPU scale (torchrun + DDP, bf16): 12 layers x 768 per stage, 10 s windows."""
    kw = dict(d_model=768, n_layers=12, n_heads=12, dropout=0.1, max_len=4096)
    return CascadeConfig(
        semantic=_stage("semantic", **kw),
        coarse=_stage("coarse", **kw),
        fine=_stage("fine", **kw),
        train=TrainConfig(window_seconds=10.0, batch_size=32, lr=3e-4, warmup_steps=2000,
                          max_steps=200_000, eval_every=1000, checkpoint_every=1000,
                          precision="bf16", threads=0),
        sampling=SamplingConfig(window_seconds=10.0),
    )


PRESETS = {"small": small, "paper": paper}


def _merge(obj: Any, values: dict[str, Any], where: str) -> Any:
    if isinstance(obj, SamplingConfig) and isinstance(values, dict):
        values = _renamed(values, LEGACY_SAMPLING_KEYS, where)
    known = {f.name: f for f in fields(obj)}
    updates = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown config key {where}{key!r}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            updates[key] = _merge(current, value, f"{where}{key}.")
        elif isinstance(current, tuple):
            updates[key] = tuple(value)
        else:
            updates[key] = type(current)(value) if current is not None else value
    return dataclasses.replace(obj, **updates)


def from_dict(values: dict[str, Any], base: CascadeConfig | None = None) -> CascadeConfig:
    """Overlay ``values`` (nested dicts) on ``base`` (default: ``small()``); unknown keys raise."""
    return _merge(base or small(), values, "")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML config file; a missing or malformed file raises :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigNotFoundError(f"config file {str(path)!r} not found")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid TOML config ({err})") from err


def load_config(name_or_path: str) -> CascadeConfig:
    """A preset name (``small``, ``paper``) or a TOML file; a file may set ``preset = "paper"``."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]()
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigNotFoundError(f"config {name_or_path!r} is neither a preset {sorted(PRESETS)} nor a file")
    values = read_toml(path)
    preset = values.pop("preset", "small")
    if preset not in PRESETS:
        raise ConfigError(f"{path}: preset {preset!r} is not one of {sorted(PRESETS)}")
    base = PRESETS[preset]()
    return from_dict(values, base)


def to_toml(cfg: CascadeConfig) -> str:
    """Serialise to TOML (tables per section) so it can be saved next to checkpoints/results."""
    lines: list[str] = []
    for section, values in cfg.to_dict().items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)
