"""The shared-token generation of both cascade systems equals separate generation per system."""

import dataclasses
import math

import numpy as np
import torch

from benchmark.cache import OutputCache
from benchmark.cascade_pool import cascade_outputs
from benchmark.systems import CascadeSystem, ClipAudio
from hafm.config import small
from hafm.generate import generate_accompaniment
from hafm.model.cascade import Cascade
from hafm.tokenizers.alignment import ACOUSTIC_HOP, semantic_frames


class EnergySemantic:
    sample_rate, frame_rate, n_clusters = 16_000, 50, 500

    def encode(self, wav):
        n = semantic_frames(wav.shape[-1], self.sample_rate)
        padded = torch.nn.functional.pad(wav[:, 0], (0, n * 320 - wav.shape[-1]))
        return (padded.view(wav.shape[0], n, 320).pow(2).mean(-1) * 1e4).long() % self.n_clusters

    def identity(self):
        return "energy"


class SumCodec:
    """Each decoded frame's pitch depends on the sum of all given codebooks, so k matters."""

    sample_rate, frame_rate, n_codebooks, codebook_size = 24_000, 75, 8, 1024

    def decode(self, codes):
        freq = 100.0 + codes.sum(1).float().repeat_interleave(ACOUSTIC_HOP, dim=-1) / 8
        t = torch.arange(freq.shape[-1]) / self.sample_rate
        return (0.1 * torch.sin(2 * math.pi * freq * t)).unsqueeze(1)

    def identity(self):
        return "sum"


def _tiny_cascade():
    cfg = small()
    tiny = dict(d_model=32, n_layers=1, n_heads=2, max_len=256, rel_pos_buckets=8, rel_pos_max_distance=32)
    stages = {n: dataclasses.replace(cfg.stage(n), **tiny) for n in ("semantic", "coarse", "fine")}
    cfg = dataclasses.replace(cfg, **stages)
    return Cascade.from_config(cfg)


def test_one_generation_gives_both_systems_outputs_exactly():
    cascade, semantic, codec = _tiny_cascade(), EnergySemantic(), SumCodec()
    vocals = (0.3 * np.sin(np.linspace(0, 400, 24_000))).astype(np.float32)
    both = cascade_outputs(vocals, 11, cascade, semantic, codec)
    for stages in (3, 2):
        alone = generate_accompaniment(torch.from_numpy(vocals)[None], 24_000, stages=stages, seed=11,
                                       cascade=cascade, codec=codec, semantic=semantic)
        np.testing.assert_array_equal(both[stages], alone[0].numpy())
    assert not np.array_equal(both[3], both[2])


def test_precompute_skips_clips_already_cached(tmp_path):
    from benchmark.cascade_pool import precompute

    cache = OutputCache(tmp_path)
    systems = [CascadeSystem(3, None, "w", 0), CascadeSystem(2, None, "w", 0)]
    clip = ClipAudio("a@0", "a", np.zeros(100, np.float32), np.zeros(100, np.float32))
    for s in systems:
        cache.put(s.name, s.identity(), clip.clip_id, np.zeros(100, np.float32))
    assert precompute(systems, [clip], cache, checkpoints=None) == 0
