"""Parity of our Fréchet distance with ``scipy.linalg.sqrtm`` and with ``frechet-audio-distance``.

Run by ``nox -s parity`` in its own venv (``frechet-audio-distance==0.3.4`` pins numpy<2):

    python -m tools.parity --out results      # writes results/parity.md and results/parity.json

On the same synthetic embeddings (d = 128, 200, 512, 1024; well-conditioned, ill-conditioned
(covariance condition ~1e6 and ~1e8) and singular (n < d)) it compares
  * ``hafm.frechet.frechet_distance`` (ours),
  * ``benchmark.fad.fad(...).value`` (the per-song sufficient-statistics route the tables use),
  * ``scipy.linalg.sqrtm(S1 @ S2)``,
  * the package's own ``FrechetAudioDistance.calculate_frechet_distance``, and
  * an exact value from the frames (``exact_distance``: QR + nuclear norm, no covariance formed).
Gate: relative error <= 1e-9. Full-rank cases: ours and song stats against sqrtm, the package and
the exact value. Singular cases: against the exact value only, because there the sqrtm route (and
so the package) is itself off by ~1e-8 (round-off eigenvalues of a singular product amplified to
~sqrt(eps), see research/fad-notes.md); that deviation is reported.

The package's module imports torch, resampy, laion_clap and encodec at its top. When they are
installed (``nox -s parity``) the method is taken from the imported class. When the package was
installed with ``--no-deps`` (a light venv without torch and the CLAP stack), the method's own source
is read from the installed ``frechet_audio_distance/fad.py`` and executed with the module globals it
uses (``np``, ``linalg``); the report names the route taken.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib.metadata
import importlib.util
import platform
import sys
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import scipy
import scipy.linalg

from benchmark.fad import fad
from hafm.frechet import frechet_distance, gaussian_stats
from hafm.fileio import atomic_write_json, atomic_write_text

DIMS = (128, 200, 512, 1024)
CASES = ("well", "ill", "extreme", "singular")
DECADES = {"ill": 3, "extreme": 4}  # amplitude decades of the ill-conditioned spectra
TOLERANCE = 1e-9
PACKAGE = "frechet-audio-distance"

FdFunction = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def make_embeddings(d: int, case: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two embedding sets [n, d] from different distributions (n = 10 d, or d // 2 when singular).

    well: random mixing, half the dimensions ReLU'd (like pre-activation embeddings);
    ill / extreme: random rotation of a spectrum decaying over 3 / 4 decades in amplitude
    (covariance condition number ~1e6 / ~1e8);
    singular: as ``well`` with n = d // 2 frames (rank-deficient covariances).
    """
    rng = np.random.default_rng(seed)
    n = d // 2 if case == "singular" else 10 * d

    def one(shift: float) -> np.ndarray:
        mix = rng.standard_normal((d, d)) / np.sqrt(d)
        if case in DECADES:
            q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            return rng.standard_normal((n, d)) @ (np.logspace(0, -DECADES[case], d)[:, None] * q) + shift
        x = rng.standard_normal((n, d)) @ mix + shift
        x[:, : d // 2] = np.maximum(x[:, : d // 2], 0.0)
        return x

    return one(0.0), one(0.1)


def sqrtm_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """The textbook route: real part of trace(scipy.linalg.sqrtm(S1 S2)), no eps fallback."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean).real)


def exact_distance(x1: np.ndarray, x2: np.ndarray) -> float:
    """FD of the two frame sets' Gaussians without forming a covariance or its square root.

    With centred frames A_i = (X_i - mu_i) / sqrt(n - 1) = Q_i R_i (thin QR), S_i = R_i^T R_i and
    tr sqrt(S1^1/2 S2 S1^1/2) = |R2 R1^T|_* (nuclear norm). QR and SVD are backward stable and
    nothing is squared, so round-off stays ~eps relative even for singular or ill-conditioned S_i.
    """
    a1 = (x1 - x1.mean(0)) / np.sqrt(len(x1) - 1)
    a2 = (x2 - x2.mean(0)) / np.sqrt(len(x2) - 1)
    r1, r2 = np.linalg.qr(a1, mode="r"), np.linalg.qr(a2, mode="r")
    diff = x1.mean(0) - x2.mean(0)
    nuclear = float(np.sum(np.linalg.svd(r2 @ r1.T, compute_uv=False)))
    return float(diff @ diff + np.sum(a1 * a1) + np.sum(a2 * a2) - 2.0 * nuclear)


def package_function() -> tuple[FdFunction, str]:
    """``FrechetAudioDistance.calculate_frechet_distance`` (unbound: it does not use ``self``) and the route."""
    version = importlib.metadata.version(PACKAGE)
    try:
        from frechet_audio_distance import FrechetAudioDistance
    except ImportError as exc:
        method = _method_from_source()
        route = (f"{PACKAGE} {version}: method source executed from the installed fad.py "
                 f"(module import failed: {exc})")
    else:
        method = FrechetAudioDistance.calculate_frechet_distance
        route = f"{PACKAGE} {version}: imported FrechetAudioDistance.calculate_frechet_distance"
    return (lambda mu1, s1, mu2, s2: float(method(None, mu1, s1, mu2, s2))), route


def _method_from_source() -> Callable:
    spec = importlib.util.find_spec("frechet_audio_distance")
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed: run `nox -s parity` or "
                                  f"`pip install --no-deps {PACKAGE}==0.3.4`")
    source_path = Path(next(iter(spec.submodule_search_locations))) / "fad.py"
    tree = ast.parse(source_path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FrechetAudioDistance")
    func = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "calculate_frechet_distance")
    namespace: dict = {"np": np, "linalg": scipy.linalg}
    exec(compile(ast.Module(body=[func], type_ignores=[]), str(source_path), "exec"), namespace)
    return namespace["calculate_frechet_distance"]


def compare_case(d: int, case: str, seed: int, package_fd: FdFunction) -> dict:
    """All four values for one case, and the relative errors of ours against the two references."""
    ref_frames, eval_frames = make_embeddings(d, case, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FewFramesWarning (singular case) and sqrtm's disp deprecation
        mu1, s1 = gaussian_stats(ref_frames)
        mu2, s2 = gaussian_stats(eval_frames)
        ours = frechet_distance(mu1, s1, mu2, s2)
        songs = np.array_split(eval_frames, 10)
        ours_songs = fad(ref_frames, songs, n_resamples=1).value
        via_sqrtm = sqrtm_distance(mu1, s1, mu2, s2)
        via_package = package_fd(mu1, s1, mu2, s2)
        exact = exact_distance(ref_frames, eval_frames)
    w = np.linalg.eigvalsh(s1)
    row = {
        "d": d, "case": case, "n_frames": len(ref_frames),
        "cond_sigma1": float(w[-1] / w[0]) if w[0] > 0 else float("inf"),
        "ours": ours, "ours_song_stats": ours_songs, "scipy_sqrtm": via_sqrtm, "package": via_package,
        "exact": exact,
        "rel_err_vs_sqrtm": _rel(ours, via_sqrtm), "rel_err_vs_package": _rel(ours, via_package),
        "rel_err_song_stats_vs_package": _rel(ours_songs, via_package),
        "rel_err_vs_exact": _rel(ours, exact), "rel_err_song_stats_vs_exact": _rel(ours_songs, exact),
        "rel_err_sqrtm_vs_exact": _rel(via_sqrtm, exact), "rel_err_package_vs_exact": _rel(via_package, exact),
    }
    gated = ["rel_err_vs_exact", "rel_err_song_stats_vs_exact"]
    if case != "singular":
        gated += ["rel_err_vs_sqrtm", "rel_err_vs_package", "rel_err_song_stats_vs_package"]
    row["gated_error"] = max(row[k] for k in gated)
    return row


def _rel(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def markdown(rows: list[dict], meta: dict) -> str:
    worst = max(r["gated_error"] for r in rows)
    verdict = "PASS" if worst <= TOLERANCE else "FAIL"
    lines = [
        "# Fréchet distance parity", "",
        f"{verdict}: worst gated relative error {worst:.2e} (gate {TOLERANCE:.0e}).", "",
        f"Package: {meta['package_route']}.  ",
        f"numpy {meta['numpy']}, scipy {meta['scipy']}, Python {meta['python']}, {meta['machine']}, "
        f"{meta['date']}.", "",
        "ours = `hafm.frechet.frechet_distance`; songs = `benchmark.fad.fad(...).value` over 10 songs; "
        "sqrtm = `scipy.linalg.sqrtm(S1 @ S2)`; package = `FrechetAudioDistance.calculate_frechet_distance`; "
        "exact = QR + nuclear norm from the frames (`exact_distance`). Columns give relative errors. "
        "Gated: full-rank rows, ours and songs against sqrtm, package and exact; singular rows, against exact.", "",
        "| d | case | n | cond(S1) | exact | ours vs sqrtm | ours vs package | songs vs package | ours vs exact "
        "| songs vs exact | sqrtm vs exact | package vs exact | gated |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        errs = " | ".join(f"{r[k]:.1e}" for k in (
            "rel_err_vs_sqrtm", "rel_err_vs_package", "rel_err_song_stats_vs_package", "rel_err_vs_exact",
            "rel_err_song_stats_vs_exact", "rel_err_sqrtm_vs_exact", "rel_err_package_vs_exact", "gated_error"))
        lines.append(f"| {r['d']} | {r['case']} | {r['n_frames']} | {r['cond_sigma1']:.1e} | "
                     f"{r['exact']:.10g} | {errs} |")
    return "\n".join(lines) + "\n"


def run(out: Path, dims: tuple[int, ...] = DIMS) -> list[dict]:
    package_fd, route = package_function()
    rows = [compare_case(d, case, seed=1000 * d + i, package_fd=package_fd)
            for d in dims for i, case in enumerate(CASES)]
    meta = {"package_route": route, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version(), "machine": f"{platform.machine()} {platform.processor()}".strip(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "tolerance": TOLERANCE}
    atomic_write_text(out / "parity.md", markdown(rows, meta))
    atomic_write_json(out / "parity.json", {"meta": meta, "rows": rows})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for parity.md and parity.json")
    parser.add_argument("--dims", type=int, nargs="+", default=list(DIMS), help="embedding dimensions to test")
    args = parser.parse_args(argv)
    rows = run(args.out, tuple(args.dims))
    bad = [r for r in rows if r["gated_error"] > TOLERANCE]
    print((args.out / "parity.md").read_text())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
