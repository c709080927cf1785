"""HAFM: hierarchical autoregressive foundation model for vocal-conditioned accompaniment generation.

The package is split by responsibility: ``audio`` (I/O), ``data`` (corpora, musdb, token shards),
``tokenizers`` (acoustic codec, semantic tokenizer, frame alignment), ``musicnn`` (the offline
pretrained music network), ``model`` (layers, stage LM, cascade), ``sampling``, ``train``,
``generate`` and the ``hafm`` command line (``cli``).
"""

__version__ = "0.1.0"
