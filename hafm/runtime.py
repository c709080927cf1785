"""Process-wide runtime settings.

On the 2-core machines this project targets, two OpenMP threads on a shared core were measured
5-30x slower than one thread, so the default is one thread unless the user asks for more
(``HAFM_THREADS`` or ``--threads``). The limit covers torch and the BLAS/OpenMP pools of numpy and
scipy (``threadpoolctl``): numpy's OpenBLAS starts one thread per core, and two benchmark workers
with two BLAS threads each ran the FAD statistics 3.5x slower than with one each (90 s vs 26 s,
measured side by side on 2026-11-28).
"""

from __future__ import annotations

import os
from collections.abc import Callable


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads and the BLAS/OpenMP threads of this process to ``n``
    (default: ``$HAFM_THREADS`` or 1); return it."""
    import torch
    from threadpoolctl import threadpool_limits

    if n is None:
        n = int(os.environ.get("HAFM_THREADS", "1"))
    n = max(1, int(n))
    torch.set_num_threads(n)
    threadpool_limits(n)
    return n


def parallel_map(fn: Callable, jobs: list, workers: int, desc: str | None, chunksize: int = 4, unit: str = "clip",
                 setup: Callable | None = None, setup_args: tuple = ()) -> list:
    """``fn`` over ``jobs`` in ``workers`` processes of one thread each (torch and BLAS; here when
    ``workers`` is 1), in order. ``setup(*setup_args)`` runs once per worker first (e.g. to hand
    each worker a model once instead of with every job). ``desc`` None: no progress bar."""
    from tqdm import tqdm

    bar = dict(total=len(jobs), desc=desc, unit=unit, disable=desc is None)
    if workers <= 1 or len(jobs) <= 1:
        if setup is not None:
            setup(*setup_args)
        return [fn(j) for j in tqdm(jobs, **bar)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_init_worker,
                             initargs=(setup, setup_args)) as pool:
        return list(tqdm(pool.map(fn, jobs, chunksize=chunksize), **bar))


def _init_worker(setup: Callable | None, setup_args: tuple) -> None:
    configure_threads(1)
    if setup is not None:
        setup(*setup_args)
