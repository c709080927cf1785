"""Fitting the tokenizers offline on a corpus: codec codebooks (``codec``, ``rvq``, ``codec_data``)
and the semantic k-means (``semantic``). Nothing here runs at generation time."""
