"""The cascade's models.

* ``layers``: RMSNorm, GEGLU, QK-norm attention with a KV cache, T5 relative position bias.
* ``patterns``: MusicGen's delay pattern (``apply_delay`` / ``revert_delay``, exact inverses).
* ``cache``: the preallocated KV cache.
* ``lm``: ``StageLM(cfg)``, one stage: ``forward(prefix, target, drop_condition) -> logits``,
  ``loss(...) -> (mean CE, per-codebook CE)``, ``generate(prefix, n_frames, sampling, generator, prompt)``.
* ``cascade``: ``Cascade`` (the three stages) and ``load_cascade(path_or_name, stages)``.
"""

from hafm.model.cascade import Cascade, load_cascade
from hafm.model.lm import StageLM

__all__ = ["Cascade", "StageLM", "load_cascade"]
