"""A test kit: tiny configurations and cascades, deterministic tokenizer stand-ins, synthetic
corpora, and contract checks for new parts.

Used by the project's own tests and meant for anyone adding a part: a new acoustic codec or
semantic tokenizer is ready for the cascade when :func:`check_acoustic_codec` /
:func:`check_semantic_tokenizer` pass on it; :class:`RawFrames` is a worked example of a new
codec (see ARCHITECTURE.md, "Adding a part"). The benchmark's parts (embedding backends,
systems) have their kit in ``benchmark.testing``. Nothing here loads weights; only
:func:`write_track` and :func:`save_release` write files, where they are told to.
"""

from hafm.testing.corpora import melody, write_track
from hafm.testing.models import TINY_STAGE, save_release, tiny_cascade, tiny_config, tiny_stage
from hafm.testing.tokenizers import (
    EnergySemantic,
    RawFrames,
    ToneCodec,
    check_acoustic_codec,
    check_semantic_tokenizer,
    use_stand_in_tokenizers,
)

__all__ = [
    "TINY_STAGE", "EnergySemantic", "RawFrames", "ToneCodec", "check_acoustic_codec", "check_semantic_tokenizer",
    "melody", "save_release", "tiny_cascade", "tiny_config", "tiny_stage", "use_stand_in_tokenizers", "write_track",
]
