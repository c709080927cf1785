"""Measurement tools run from the repository root (``python -m tools.perf.generation``, ``nox -s perf``,
``nox -s parity``): speed and memory benchmarks, FAD parity with frechet-audio-distance, the
listening server's load test. Not part of the installed packages."""
