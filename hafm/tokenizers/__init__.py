"""Tokenizers: the acoustic codec (75 Hz, 8 x 1024), the semantic tokenizer (50 Hz, 500 clusters)
and the frame-alignment rule they share."""
