"""The ``hafm`` command line: ``hafm --help`` lists the subcommands.

Each module in ``hafm.commands`` defines ``register(subparsers)``, which adds its parser(s) and
sets ``func`` (called with the parsed arguments, returns an exit code). Keeping the commands in
their own modules keeps heavy imports (torch, sklearn) out of ``hafm --help``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import hafm.commands
from hafm.errors import HafmError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hafm",
        description="HAFM toolkit: data, tokenizers, training and generation of vocal-conditioned accompaniment.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(hafm.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"hafm.commands.{info.name}")
        module.register(sub)
    return parser


def run_parsed(parser: argparse.ArgumentParser, argv: list[str] | None, prog: str) -> int:
    """Parse ``argv`` and call the chosen subcommand's ``func``; a ``HafmError`` becomes a one-line
    message and exit code 2 (no traceback). Shared by the toolkit's command lines."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HafmError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    return run_parsed(build_parser(), argv, "hafm")


if __name__ == "__main__":
    raise SystemExit(main())
