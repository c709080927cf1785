"""The validation split: held-out *training* songs for every choice made from data.

Checkpoint selection, sampling settings per stage and codec settings are chosen on these songs;
the corpus' test split only produces the reported tables. The split is a seeded hash of each track
(chorale) name, so it is the same for every command, machine and corpus order, and adding tracks
never moves an existing one across it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

VAL_FRACTION = 0.1  # share of training songs held out (the chorale corpus: about 30 of 315)
VAL_SEED = 0


# Renderings of one chorale (``hafm data chorales --transpose/--tempo-factor/--patch-set``) are named
# ``<chorale>_t+2_x1.1_piano``: they are one song and must fall on the same side of the split.
_VARIANT_SUFFIX = re.compile(r"(_t[+-]\d+)?(_x\d+(\.\d+)?)?(_(auto|piano|strings|organ|winds|brass|guitar))?$")


def song_of(track_name: str) -> str:
    """The song a track renders: the chorale id without augmentation suffixes, else the name."""
    return _VARIANT_SUFFIX.sub("", track_name, count=1) or track_name


def _unit_hash(name: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_train_val(names: Sequence[str], val_fraction: float = VAL_FRACTION,
                    seed: int = VAL_SEED) -> tuple[list[str], list[str]]:
    """``(train, validation)`` names: a deterministic split by a seeded hash of each name's song
    (``song_of``), so every rendering of a chorale lands on the same side.

    At least one validation track when ``val_fraction > 0`` and there are two songs or more.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    scores = {name: _unit_hash(song_of(name), seed) for name in names}
    val = [n for n in names if scores[n] < val_fraction]
    if not val and val_fraction > 0 and len({song_of(n) for n in names}) > 1:
        first = song_of(min(names, key=scores.__getitem__))
        val = [n for n in names if song_of(n) == first]
    held_out = set(val)
    return [n for n in names if n not in held_out], val


def select(tracks: Sequence, part: str, val_fraction: float = VAL_FRACTION, seed: int = VAL_SEED) -> list:
    """The tracks (anything with ``.name``) of ``part``: "fit" (training minus validation),
    "validation", or "all" (every given track)."""
    if part == "all":
        return list(tracks)
    fit, val = split_train_val([t.name for t in tracks], val_fraction, seed)
    wanted = set(fit if part == "fit" else val if part == "validation" else ())
    if part not in ("fit", "validation"):
        raise ValueError(f"part must be 'fit', 'validation' or 'all', got {part!r}")
    return [t for t in tracks if t.name in wanted]
