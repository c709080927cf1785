"""``hafm tokenize``: MUSDB18(-HQ) tree -> per-track token shards for training."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokenize",
        help="tokenize a MUSDB18(-HQ) tree into .npz shards (semantic vocals/accompaniment, codec accompaniment)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--root", default="data/chorales", help="MUSDB18 / MUSDB18-HQ root (train/, test/)")
    parser.add_argument("--out", default="data/shards", help="shard folder (<split>/<track>.npz, index.json)")
    parser.add_argument("--codec", default=None, help="acoustic codec name or path (default: the shipped codec)")
    parser.add_argument("--semantic", default=None, help="semantic tokenizer name or path (default: shipped)")
    parser.add_argument("--subset", nargs="+", default=["train", "test"], choices=["train", "test"], help="subsets")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (1 thread each)")
    parser.set_defaults(func=run)


def run(args) -> int:
    import functools

    from hafm.data.tokenize import build_shards
    from hafm.tokenizers.codec import load_codec
    from hafm.tokenizers.semantic import load_semantic

    index = build_shards(
        args.root,
        args.out,
        functools.partial(load_codec, args.codec),
        functools.partial(load_semantic, args.semantic),
        subsets=tuple(args.subset),
        workers=args.workers,
    )
    counts = index["counts"]
    print(
        f"{len(index['tracks'])} shards in {args.out}: {counts['built']} built, {counts['stale']} stale rebuilt, "
        f"{counts['recoded']} rebuilt keeping unchanged tokens, "
        f"{counts['fresh']} up to date (codec {index['codec_id']}, semantic {index['semantic_id']})"
    )
    if index["throughput"] is not None:
        print(
            f"tokenized {index['tokenized_seconds'] / 3600:.2f} h of songs in {index['wall_seconds']:.0f} s: "
            f"{index['throughput']:.1f} s of audio per second"
        )
    return 0
