"""Process-wide thread settings and the one-thread process pool."""

from __future__ import annotations

import os

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from hafm.runtime import configure_threads, parallel_map


def _blas_threads(_job=None) -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def _torch_and_blas_threads(_job) -> tuple[int, list[int], int]:
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded and used in the worker
    return torch.get_num_threads(), _blas_threads(), os.getpid()


def _two_threads() -> None:
    torch.set_num_threads(2)
    threadpool_limits(2)


def test_configure_threads_limits_torch_and_blas(monkeypatch):
    monkeypatch.setenv("HAFM_THREADS", "1")
    _two_threads()
    try:
        assert configure_threads() == 1
        assert torch.get_num_threads() == 1 and set(_blas_threads()) == {1}
    finally:
        configure_threads(1)


def test_parallel_map_keeps_job_order_and_one_thread_per_worker():
    _two_threads()  # the parent's settings must not reach the workers
    try:
        out = parallel_map(_torch_and_blas_threads, list(range(6)), workers=2, desc="test", chunksize=1)
    finally:
        configure_threads(1)
    assert {(t, tuple(b)) for t, b, _ in out} == {(1, (1,) * len(out[0][1]))}
    assert parallel_map(abs, [-3, 2, -1], workers=2, desc="test") == [3, 2, 1]
