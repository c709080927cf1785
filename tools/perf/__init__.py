"""Speed and memory benchmarks (run by ``nox -s perf``); each writes JSON to ``results/perf/``."""
