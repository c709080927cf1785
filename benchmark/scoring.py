"""FAD statistics of every system, backend and target, in the shape ``benchmark.tables`` reads."""

from __future__ import annotations

import warnings

import numpy as np

from benchmark.fad import as_reference, fad, fad_inf, paired_fad_difference, per_song_fad, reference_floor
from benchmark.registry import pairs
from hafm.frechet import FewFramesWarning


def score_target(backend: str, target: str, reference: dict[str, np.ndarray],
                 systems: dict[str, dict[str, np.ndarray]], *, n_resamples: int, seed: int) -> dict:
    """FAD rows, per-song rows, paired differences and the reference floor for one backend/target.

    reference: song -> frames ``[n, d]`` (training split); systems: name -> song -> frames.
    """
    ref = as_reference(reference)
    rows, per_song, paired = [], [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FewFramesWarning)
        for system, songs in systems.items():
            res = fad(ref, songs, n_resamples=n_resamples, rng=seed)
            inf = _fad_inf_or_none(ref, songs, seed)
            rows.append({"system": system, "backend": backend, "target": target, "fad": res.value,
                         "ci_low": res.ci_low, "ci_high": res.ci_high, "n_clips": None,
                         "n_songs": res.n, "n_frames": res.n_frames, "fad_inf": inf})
            per_song += [{"system": system, "backend": backend, "target": target, "song": s, "fad": v}
                         for s, v in per_song_fad(ref, songs).items()]
        for a, b in pairs(systems):  # benchmark/registry.py
            d = paired_fad_difference(ref, systems[a], systems[b], n_resamples=n_resamples, rng=seed)
            paired.append({"a": a, "b": b, "backend": backend, "target": target, "diff": d.diff,
                           "ci_low": d.ci_low, "ci_high": d.ci_high, "p_two_sided": d.p_two_sided,
                           "n_songs": d.n})
        floor = reference_floor(reference, rng=seed).value
    few = sum(issubclass(w.category, FewFramesWarning) for w in caught)
    notes = sorted({str(w.message) for w in caught if not issubclass(w.category, FewFramesWarning)})
    if few:
        notes.append(f"{backend}/{target}: {few} frame sets (mostly single songs in per-song FAD and the "
                     "split-half floor) had fewer frames than dimensions; those values are biased upwards")
    return {"fad": rows, "per_song": per_song, "paired": paired, "floor": floor, "warnings": notes}


def _fad_inf_or_none(ref, songs: dict[str, np.ndarray], seed: int) -> float | None:
    """FAD-inf needs well over d frames; with fewer it is reported as missing, not guessed."""
    total = sum(len(v) for v in songs.values())
    if total < 2 * (ref.dim + 1):
        return None
    return fad_inf(ref, songs, rng=seed).value
