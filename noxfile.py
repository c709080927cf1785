"""Sessions: tests, benchmark, tables, train, listening, screenshots, parity, perf.

Each session keeps its virtualenv between runs (``reuse_venv``) and skips ``pip install`` when
``pyproject.toml`` and ``requirements-nodeps.txt`` have not changed since the last install, so a
second run does not reinstall torch. System packages (ffmpeg for musdb/stempeg, Chromium for the
browser tests) are installed with apt-get when running as root, otherwise the session stops and
names the exact packages to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).parent
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "OMP_NUM_THREADS": "1",
    "HAFM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}
CORPUS = "data/chorales"
# Debian package -> the executable it must put on PATH.
SYSTEM_PACKAGES = {"ffmpeg": "ffprobe", "chromium": "chromium", "chromium-driver": "chromedriver"}


def _install_stamp() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "requirements-nodeps.txt"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def _install(session: nox.Session, extras: str = "test") -> None:
    """Install the toolkit (editable) unless this venv already holds the same requirements."""
    stamp = Path(session.virtualenv.location) / ".hafm-install-stamp"
    wanted = f"{_install_stamp()}:{extras}"
    if stamp.exists() and stamp.read_text() == wanted:
        session.log("requirements unchanged since the last install: skipping pip")
        return
    session.install("--upgrade", "pip")
    session.install("-e", f".[{extras}]" if extras else ".")
    session.install("--no-deps", "-r", "requirements-nodeps.txt")
    stamp.write_text(wanted)


def _system_packages(session: nox.Session, packages: list[str]) -> None:
    missing = [p for p in packages if shutil.which(SYSTEM_PACKAGES[p]) is None]
    if not missing:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.run("apt-get", "update", "-q", external=True)
        session.run("apt-get", "install", "-y", "-q", *missing, external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
        return
    session.error(f"missing system packages {missing}: run `sudo apt-get install {' '.join(missing)}` "
                  "(Debian/Ubuntu) and retry")


def _corpus(session: nox.Session) -> None:
    """Render the embedded default corpus (skips finished tracks on re-runs)."""
    session.run("hafm", "data", "chorales", "--out", CORPUS, env=OFFLINE_ENV)


@nox.session(reuse_venv=True)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, integration, slow and browser tests), offline."""
    _system_packages(session, ["ffmpeg", "chromium", "chromium-driver"])
    _install(session)
    env = dict(OFFLINE_ENV, CI=os.environ.get("CI", "1"))
    # pytest exits 5 when it collected nothing: nox treats any non-zero exit as a failure.
    session.run("pytest", *(session.posargs or ["-q"]), env=env)


@nox.session(reuse_venv=True)
def benchmark(session: nox.Session) -> None:
    """Render the default corpus, run every system, score FAD and proxies, write results/."""
    _system_packages(session, ["ffmpeg"])
    _install(session)
    _corpus(session)
    session.run("python", "-m", "benchmark", "run", "--root", CORPUS, "--out", "results",
                *session.posargs, env=OFFLINE_ENV)


@nox.session(reuse_venv=True)
def tables(session: nox.Session) -> None:
    """Rebuild every table and figure in results/ from cached per-clip results (seconds)."""
    _install(session)
    session.run("python", "-m", "benchmark", "tables", "--out", "results", env=OFFLINE_ENV)


@nox.session(reuse_venv=True)
def train(session: nox.Session) -> None:
    """Tokenize the default corpus and train the three `small` stages; write the shipped weights.

    Resumable: re-running continues unfinished stages; each stage ships its checkpoint of lowest
    validation loss, and the per-stage sampling settings are then chosen on the validation split.
    `nox -s train -- refit` also refits the codec and the semantic k-means instead of using the
    shipped ones.
    """
    _system_packages(session, ["ffmpeg"])
    _install(session)
    _corpus(session)
    assets = "hafm/assets"
    if "refit" in session.posargs:
        session.run("hafm", "codec", "fit", "--root", CORPUS, "--transform", "logmag",
                    "--out", f"{assets}/codec_logmag_rvq.safetensors", env=OFFLINE_ENV)
        session.run("hafm", "semantic", "fit", "--root", CORPUS, "--features", "musicnn_chroma",
                    "--out", f"{assets}/semantic_musicnn_chroma.safetensors", env=OFFLINE_ENV)
    session.run("hafm", "tokenize", "--root", CORPUS, "--out", "data/shards", env=OFFLINE_ENV)
    session.run("hafm", "train-all", "--config", "hafm/configs/small_cpu_train.toml", "--shards", "data/shards",
                "--out", "runs/small", "--export", f"{assets}/cascade", env=OFFLINE_ENV)
    session.run("hafm", "sweep-sampling", "--root", CORPUS, "--checkpoints", f"{assets}/cascade", "--write",
                "--out", "results", env=OFFLINE_ENV)
    session.run("hafm", "evaluate-cascade", "--shards", "data/shards", "--checkpoints", f"{assets}/cascade",
                "--runs", "runs/small", "--out", "results", env=OFFLINE_ENV)


@nox.session(reuse_venv=True)
def listening(session: nox.Session) -> None:
    """Build a study from the benchmark's clips (the embedded default) and serve it on port 5000."""
    import secrets

    _system_packages(session, ["ffmpeg"])
    _install(session)
    source, study = "data/listening_source", "data/listening_study"
    if (ROOT / "results" / "_cache" / "outputs").is_dir():  # the run's audio (not committed)
        session.run("python", "-m", "benchmark", "stimuli", "--results", "results", "--root", CORPUS,
                    "--out", source, env=OFFLINE_ENV)
    else:
        session.warn("no benchmark run in results/: serving SYNTHETIC demo stimuli "
                     "(run `nox -s benchmark` first for the chorale corpus' real systems)")
        session.run("listening_test", "demo-source", source, "--items", "6", "--seconds", "4", env=OFFLINE_ENV)
    session.run("listening_test", "build-stimuli", source, study, env=OFFLINE_ENV)
    token = os.environ.get("LISTENING_TEST_ADMIN_TOKEN") or secrets.token_urlsafe(16)
    session.log(f"participant link: http://127.0.0.1:5000/?PROLIFIC_PID=demo1 ; admin password: {token}")
    session.run("listening_test", "serve", "--study", f"{study}/study.toml", "--port", "5000",
                *session.posargs, env=dict(OFFLINE_ENV, LISTENING_TEST_ADMIN_TOKEN=token))


@nox.session(reuse_venv=True)
def screenshots(session: nox.Session) -> None:
    """Regenerate the committed results/listening_screenshots/ with the browser end-to-end test
    (`nox -s tests` writes its screenshots to a temporary folder)."""
    _system_packages(session, ["chromium", "chromium-driver"])
    _install(session)
    env = dict(OFFLINE_ENV, HAFM_SCREENSHOTS_DIR=str(ROOT / "results" / "listening_screenshots"))
    session.run("pytest", "-q", "tests/listening_test/test_lt_browser.py", "-m", "browser", env=env)


@nox.session(reuse_venv=True)
def parity(session: nox.Session) -> None:
    """Our Fréchet distance vs scipy's sqrtm and frechet-audio-distance's own (numpy<2 venv)."""
    session.install("numpy<2", "scipy")
    # --no-deps: its declared dependencies pull torch, laion_clap and encodec; tools.parity
    # reads the method it needs from the installed source (numpy and scipy only).
    session.install("--no-deps", "frechet-audio-distance==0.3.4")
    session.run("python", "-m", "tools.parity", "--out", "results", env=OFFLINE_ENV)


@nox.session(reuse_venv=True)
def perf(session: nox.Session) -> None:
    """Speed and memory benchmarks; JSON results in results/perf/."""
    _install(session)
    for module in ("tools.perf.frechet", "tools.perf.codec", "tools.perf.embeddings",
                   "tools.perf.generation",
                   "tools.loadtest"):
        session.run("python", "-m", module, env=OFFLINE_ENV)
