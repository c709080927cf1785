"""HAFM benchmark: systems, FAD embedding backends, exact Fréchet distance, proxies, runner, tables.

FAD core (see ``hafm.frechet``, ``benchmark.fad``, ``benchmark.embeddings``)::

    frechet_distance(mu1, sigma1, mu2, sigma2) -> float
    prepare_reference(mu, sigma) -> Reference            # square root of the reference, once
    fad(reference_embeddings, eval_embeddings) -> Result(value, ci_low, ci_high, n, ...)
    paired_fad_difference(reference, eval_a, eval_b) -> PairedResult
    per_song_fad, fad_inf, reference_floor
    get_embedder(name) -> Embedder                      # embed(wav [n], sr) -> [n_frames, d]; cached
"""
