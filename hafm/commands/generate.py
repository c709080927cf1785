"""``hafm generate VOCALS -o ACCOMP.wav``: an accompaniment for a vocal recording."""

from __future__ import annotations

import argparse
import math

from hafm.device import DEVICE_HELP

# hafm.audio.DEFAULT_MAX_SECONDS in minutes; not imported from there because that pulls in numpy,
# soundfile and soxr, which `hafm --help` must not wait for (a test keeps the two equal).
DEFAULT_MAX_MINUTES = 20.0


def _minutes(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of minutes >= 0, got {text!r}")
    return value


class _DeprecatedAlias(argparse.Action):
    """An old flag kept working (hidden from --help): stores like its new name and says to use that."""

    def __call__(self, parser, namespace, values, option_string=None):
        import sys
        import warnings

        new = "--" + self.dest.replace("_", "-")
        message = f"{option_string} is deprecated; use {new}"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        print(f"{parser.prog}: warning: {message}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="generate an accompaniment (24 kHz wav) for a vocal recording",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Vocal -> accompaniment with the three-stage cascade (or two stages: the ablation). "
                    "Any sample rate and channel count; long songs run in overlapping windows.")
    parser.add_argument("vocals", metavar="VOCALS",
                        help="vocal recording (wav/flac/ogg; any sample rate, mono or stereo)")
    parser.add_argument("-o", "--output", required=True,
                        help="accompaniment to write, 24 kHz mono: .wav/.flac 16-bit, .ogg Vorbis, "
                             ".mp3 (needs libsndfile >= 1.1)")
    parser.add_argument("--mix", default=argparse.SUPPRESS,
                        help="also write vocals + accompaniment here (24 kHz mono, formats as -o; default: no mix)")
    parser.add_argument("--stages", type=int, choices=(2, 3), default=3,
                        help="3: full cascade (8 codebooks); 2: no fine stage (4 codebooks, the ablation)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the vocal noise and of every sampled token")
    parser.add_argument("--temperature", type=float, default=argparse.SUPPRESS,
                        help="sampling temperature of every stage (default: the shipped per-stage settings)")
    parser.add_argument("--top-k", type=int, default=argparse.SUPPRESS,
                        help="keep the k most likely tokens, 0 = all, every stage (default: the shipped settings)")
    parser.add_argument("--top-p", type=float, default=argparse.SUPPRESS,
                        help="nucleus sampling mass, 0 = off, every stage (default: the shipped settings)")
    parser.add_argument("--guidance-scale", type=float, default=argparse.SUPPRESS,
                        help="classifier-free guidance scale of the guided stages (default: the shipped settings)")
    parser.add_argument("--onset-hold", type=float, default=argparse.SUPPRESS,
                        help="onset-synchronous decoding of the semantic stage: logit bonus for holding its token "
                             "away from the vocal's onsets (and for changing it at them), 0 = off "
                             "(default: the shipped settings)")
    parser.add_argument("--cfg-scale", type=float, dest="guidance_scale", default=argparse.SUPPRESS,
                        action=_DeprecatedAlias, help=argparse.SUPPRESS)  # old name of --guidance-scale
    parser.add_argument("--checkpoints", default="default",
                        help="folder with semantic.pt, coarse.pt, fine.pt; 'default': the shipped hafm/assets/cascade")
    parser.add_argument("--config", default=None,
                        help="TOML file or preset whose [sampling] table sets the defaults (default: the per-stage "
                             "settings saved with the checkpoints, sampling.toml, else the authors' 0.9/250/3.0)")
    parser.add_argument("--codec", default="default", help="acoustic codec: default (shipped), encodec, or a path")
    parser.add_argument("--semantic", default="default",
                        help="semantic tokenizer: default (shipped), mfcc, or a fitted file")
    parser.add_argument("--max-minutes", type=_minutes, default=DEFAULT_MAX_MINUTES,
                        help="longest vocal accepted, in minutes; 0 = no limit (the models run in windows, "
                             "so memory and time grow only linearly with the length)")
    parser.add_argument("--threads", type=int, default=argparse.SUPPRESS,
                        help="torch threads (default: $HAFM_THREADS or 1)")
    parser.add_argument("--device", default="cpu", help=DEVICE_HELP)
    parser.set_defaults(func=run)


def sampling_from_args(args: argparse.Namespace):
    """The shipped (or ``--config``) ``SamplingConfig`` with the command-line overrides applied.

    A flag given on the command line wins over every stage's own setting of it.
    """
    import dataclasses

    from hafm.config import load_config
    from hafm.pipeline import load_sampling

    base = load_config(args.config).sampling if args.config else load_sampling(args.checkpoints)
    keys = ("temperature", "top_k", "top_p", "guidance_scale")
    overrides = {key: getattr(args, key) for key in keys if hasattr(args, key)}
    stages = {stage: {k: v for k, v in values.items() if k not in overrides}
              for stage, values in base.stage_overrides.items()}
    if hasattr(args, "onset_hold"):
        stages["semantic"] = {**stages.get("semantic", {}), "onset_hold": args.onset_hold}
    return dataclasses.replace(base, **overrides, stage_overrides=stages)


def max_seconds_from_args(args: argparse.Namespace) -> float | None:
    """``--max-minutes`` as the ``max_seconds`` of ``hafm.audio`` (None: no limit)."""
    return None if args.max_minutes == 0 else 60.0 * args.max_minutes


def _load_vocals(args: argparse.Namespace):
    """``(wav [C, n], sr Hz)`` of ``args.vocals``; a too-long file is refused naming ``--max-minutes``."""
    from hafm import audio
    from hafm.errors import AudioTooLongError

    try:
        return audio.load(args.vocals, mono=False, max_seconds=max_seconds_from_args(args))
    except AudioTooLongError as err:
        raise AudioTooLongError(
            f"{args.vocals}: {err.seconds / 60:.3g} min of audio exceeds --max-minutes {args.max_minutes:g}; "
            "pass a larger --max-minutes, or --max-minutes 0 for no limit",
            err.seconds, err.limit_seconds,
        ) from err


def run(args: argparse.Namespace) -> int:
    import time

    from hafm import audio
    from hafm.device import place, resolve_device
    from hafm.generate import generate_accompaniment, mix_with_vocals
    from hafm.model.cascade import load_cascade
    from hafm.runtime import configure_threads
    from hafm.tokenizers.alignment import ACOUSTIC_SR
    from hafm.tokenizers.codec import load_codec
    from hafm.tokenizers.semantic import load_semantic

    configure_threads(getattr(args, "threads", None))
    # Everything that can be refused is checked before the (minutes-long) generation, the output
    # files with the exact rate, channels and encoder that audio.write will use for them.
    sampling = sampling_from_args(args)
    device = resolve_device(args.device)
    for path in (args.output, getattr(args, "mix", None)):
        if path is not None:
            audio.check_output_path(path, sr=ACOUSTIC_SR, channels=1)
    vocals, sr = _load_vocals(args)
    cascade = load_cascade(args.checkpoints, stages=args.stages).to(device)
    started = time.perf_counter()
    accomp = generate_accompaniment(vocals, sr, stages=args.stages, sampling=sampling,
                                    seed=args.seed, cascade=cascade,
                                    codec=place(load_codec(args.codec), device, "codec"),
                                    semantic=place(load_semantic(args.semantic), device, "semantic tokenizer"),
                                    progress=True,
                                    max_seconds=max_seconds_from_args(args))
    seconds = time.perf_counter() - started
    audio.write(args.output, accomp, ACOUSTIC_SR)
    if hasattr(args, "mix"):
        audio.write(args.mix, mix_with_vocals(vocals, sr, accomp), ACOUSTIC_SR)
    duration = vocals.shape[1] / sr
    print(f"wrote {args.output} ({duration:.1f} s of audio in {seconds:.1f} s, "
          f"real-time factor {seconds / duration:.2f})")
    return 0
