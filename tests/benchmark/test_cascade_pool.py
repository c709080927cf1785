"""The parallel cascade pool fills only what the output cache lacks (the paired generation itself
is tested in tests/hafm/test_pipeline.py)."""

import numpy as np

from benchmark.cache import OutputCache
from benchmark.systems import CascadeSystem, ClipAudio


class FixedIdentity:
    """A pipeline stand-in that must never be asked to generate."""

    def identity(self):
        return "w"

    def generate(self, *args, **kwargs):
        raise AssertionError("a cached clip was generated again")


def test_precompute_skips_clips_already_cached(tmp_path):
    from benchmark.cascade_pool import precompute

    cache = OutputCache(tmp_path)
    systems = [CascadeSystem(3, FixedIdentity(), 0), CascadeSystem(2, FixedIdentity(), 0)]
    clip = ClipAudio("a@0", "a", np.zeros(100, np.float32), np.zeros(100, np.float32))
    for s in systems:
        cache.put(s.name, s.identity(), clip.clip_id, np.zeros(100, np.float32))
    assert precompute(systems, [clip], cache, checkpoints=None) == 0

