"""Semantic-stage timing on *validation* songs: do generated semantic tokens change when the vocal's do?

    python -m benchmark.semantic_timing --root data/chorales \\
        --candidates shipped=shipped other=runs/other --out results/semantic_timing

For every 10 s validation clip (as ``benchmark.compare_checkpoints``) it tokenizes the vocal (with
the sampling's vocal noise) and the true accompaniment (no noise), runs each candidate's semantic
stage alone with its own sampling settings (clip i seed + i, so the tokens are the ones the full
cascade draws), and scores every accompaniment token sequence against the vocal's
(``hafm.tokenizers.reports.token_timing``): changes per second, mean centroid novelty, and the
correlation of its novelty with the vocal's. Fast (no acoustic stages, no audio metrics), so it
shows what a semantic-stage change does before the audio-level comparison. Test songs are never read.
Written: ``per_clip.csv``, ``summary.md`` (means, paired differences from the first candidate by
song) and ``config.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.compare_checkpoints import (Candidate, add_validation_arguments, candidate_folders, chosen_clips,
                                          summarize)
from hafm.fileio import atomic_write_json, atomic_write_text
from hafm.tables import markdown_table

TIMING = ("changes_per_s", "novelty", "novelty_r")


def token_timing(vocal: np.ndarray, accompaniment: np.ndarray, centroids: np.ndarray) -> dict[str, float]:
    """The three timing numbers of one accompaniment token sequence ``[T]`` (50 Hz) against its vocal's."""
    from hafm.tokenizers.alignment import SEMANTIC_HZ
    from hafm.tokenizers.reports.token_timing import change_rate, novelty, novelty_correlation

    return {"changes_per_s": change_rate(accompaniment, SEMANTIC_HZ),
            "novelty": float(novelty(accompaniment, centroids).mean()),
            "novelty_r": novelty_correlation(vocal, accompaniment, centroids)}


def semantic_tokens(candidates: dict[str, Candidate], vocals: list[np.ndarray], accomps: list[np.ndarray],
                    seed: int, sr: int = 24_000) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vocal tokens ``[N, T]`` and, by system (``truth`` and every candidate), accompaniment tokens
    ``[N, T]``. Vocals are tokenized with the first candidate's vocal noise, as its pipeline does."""
    import torch

    from hafm.generate import generate_semantic
    from hafm.pipeline import GenerationPipeline

    pipelines = {name: GenerationPipeline.load(c.folder) for name, c in candidates.items()}
    first = next(iter(pipelines.values()))
    generators = [torch.Generator().manual_seed(seed + i) for i in range(len(vocals))]
    vocal, truth = first.semantic_inputs([torch.from_numpy(v)[None] for v in vocals], sr, generators,
                                         accompaniments=[torch.from_numpy(a)[None] for a in accomps])
    states = [g.get_state() for g in generators]  # where each clip's token draws start
    out = {"truth": truth.numpy()}
    for name, pipeline in pipelines.items():
        if pipeline.sampling.vocal_noise_std != first.sampling.vocal_noise_std:
            raise SystemExit(f"{name}: another vocal noise than the first candidate's; compare those separately")
        for g, state in zip(generators, states):
            g.set_state(state)
        onsets = pipeline.onset_inputs([torch.from_numpy(v)[None] for v in vocals], sr, vocal.shape[-1])
        out[name] = generate_semantic(pipeline.cascade, vocal, pipeline.sampling.for_stage("semantic"),
                                      generators, vocal_onsets=onsets).numpy()
    return vocal.numpy(), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_validation_arguments(parser)
    args = parser.parse_args(argv)
    from hafm.runtime import configure_threads
    from hafm.sweep import clip_song
    from hafm.tokenizers.semantic import load_semantic

    configure_threads(1)
    candidates = candidate_folders(args.candidates)
    names, vocals, accomps = chosen_clips(args)
    vocal, systems = semantic_tokens(candidates, vocals, accomps, args.seed)
    centroids = np.asarray(load_semantic().centroids, dtype=np.float64)
    per_clip = pd.DataFrame([{"clip_id": n, "track": clip_song(n), "system": s,
                              **token_timing(vocal[i], tokens[i], centroids)}
                             for s, tokens in systems.items() for i, n in enumerate(names)])
    summary = summarize(per_clip, None, next(iter(candidates)), TIMING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "per_clip.csv", per_clip.to_csv(index=False))
    atomic_write_text(out / "summary.md", markdown_table(summary) + "\n")
    atomic_write_json(out / "config.json", {**vars(args), "clips": names})
    print(markdown_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
