"""Process-wide runtime settings.

On the 2-core machines this project targets, two OpenMP threads on a shared core were measured
5-30x slower than one thread, so the default is one thread unless the user asks for more
(``HAFM_THREADS`` or ``--threads``).
"""

from __future__ import annotations

import os


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to ``n`` (default: ``$HAFM_THREADS`` or 1); return it."""
    import torch

    if n is None:
        n = int(os.environ.get("HAFM_THREADS", "1"))
    n = max(1, int(n))
    torch.set_num_threads(n)
    return n
