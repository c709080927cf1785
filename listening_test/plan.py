"""Trial plans: which item, which pair, which side, in which order, for the k-th participant.

Pure functions of (items, pairs, catch settings, participant index ``k``, seed): the server calls
them once per new session and stores the result; the browser never sees it.

Counterbalancing, with ``P`` pairs:

* pair: item ``i`` gets ``pairs[(i + k) % P]``, a Latin square, so every ``P`` consecutive
  participants cover every (item, pair) cell once;
* side: pair member ``x`` plays as A when ``(i + k // P)`` is even, so every ``2P`` participants
  hear each cell in both orders (primacy effects are real for mix comparisons);
* order: row ``k`` of a Williams design over the session's items, balanced for first-order
  carry-over;
* catch trials are spread evenly through the session, kinds and items rotated with ``k``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .manifest import CATCH_IDENTICAL, CATCH_OFFBEAT, CATCH_TRANSPOSED
from .study_file import CatchConfig

# Catch kind -> its stimulus, played against the base system.
CATCH_KINDS = {"identical": CATCH_IDENTICAL, "offbeat": CATCH_OFFBEAT, "transposed": CATCH_TRANSPOSED}


@dataclass(frozen=True)
class TrialSpec:
    """One A/B trial. ``system_a``/``system_b`` name manifest stimuli; ``pair_x``/``pair_y`` give
    the comparison in the study's order (for catch trials: the base system, then the catch
    stimulus). ``catch_kind`` is "" for a regular trial."""

    item: str
    system_a: str
    system_b: str
    pair_x: str
    pair_y: str
    catch_kind: str = ""


def williams_row(n: int, row: int) -> list[int]:
    """Row ``row`` of a Williams design on ``n`` treatments (2n rows when n is odd)."""
    if n <= 0:
        return []
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    period = n if n % 2 == 0 else 2 * n
    r = row % period
    seq = [(v + r) % n for v in first]
    return seq if r < n else [(v + r - n) % n for v in reversed(first)]


def session_items(n_items: int, per_session: int, k: int) -> list[int]:
    """Indices of the items participant ``k`` hears (consecutive blocks, rotating with ``k``)."""
    m = n_items if per_session <= 0 or per_session >= n_items else per_session
    return [(k * m + j) % n_items for j in range(m)]


def _regular_trials(items: list[str], pairs: list[tuple[str, str]], k: int, per_session: int) -> list[TrialSpec]:
    p = len(pairs)
    chosen = session_items(len(items), per_session, k)
    trials = []
    for i in chosen:
        x, y = pairs[(i + k) % p]
        a, b = (x, y) if (i + k // p) % 2 == 0 else (y, x)
        trials.append(TrialSpec(item=items[i], system_a=a, system_b=b, pair_x=x, pair_y=y))
    return [trials[j] for j in williams_row(len(trials), k)]


def _catch_trials(
    catch: CatchConfig, base: str, catch_items: dict[str, list[str]], k: int
) -> list[TrialSpec]:
    counts = {"identical": catch.identical, "offbeat": catch.offbeat, "transposed": catch.transposed}
    trials = []
    for j, kind in enumerate(kind for kind, n in counts.items() for _ in range(n)):
        pool = catch_items[kind]
        item = pool[(k + 7 * j) % len(pool)]
        other = CATCH_KINDS[kind]
        a, b = (base, other) if (k + j) % 2 == 0 else (other, base)
        trials.append(TrialSpec(item=item, system_a=a, system_b=b, pair_x=base, pair_y=other, catch_kind=kind))
    shift = k % len(trials) if trials else 0
    return trials[shift:] + trials[:shift]


def session_plan(
    items: list[str],
    pairs: list[tuple[str, str]],
    catch: CatchConfig,
    catch_base: str,
    catch_items: dict[str, list[str]],
    k: int,
    per_session: int = 0,
) -> list[TrialSpec]:
    """The ordered trials of participant ``k``; ``catch_items[kind]`` lists the items that have
    the stimuli for that catch kind."""
    regular = _regular_trials(items, pairs, k, per_session)
    extra = _catch_trials(catch, catch_base, catch_items, k)
    total = len(regular) + len(extra)
    slots = {int((j + 1) * total / (len(extra) + 1)) for j in range(len(extra))}
    if len(slots) < len(extra):  # more catch trials than gaps: put them one after another
        slots = set(range(len(regular), total))
    out, r, c = [], iter(regular), iter(extra)
    for pos in range(total):
        out.append(next(c) if pos in slots else next(r))
    return out


def headphone_plan(n_trials: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Tone order per headphone-screening trial: a permutation of ("ref", "antiphase", "quiet").
    The correct answer (the quietest over headphones) is the position of "quiet"."""
    plan = []
    for _ in range(n_trials):
        order = ["ref", "antiphase", "quiet"]
        rng.shuffle(order)
        plan.append((order[0], order[1], order[2]))
    return plan
