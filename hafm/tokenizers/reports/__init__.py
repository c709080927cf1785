"""Reports on fitted tokenizers: codec quality per codebook count (``codec``), semantic token
information (``semantic``) and code predictability (``token_stats``)."""
