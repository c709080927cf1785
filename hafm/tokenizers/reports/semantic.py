"""How good are the semantic tokens? Cluster usage and musical information on the test split.

For each tokenizer and a subset of test tracks: cluster usage (fraction of the K clusters used,
perplexity of the token distribution) and, when the tracks have a ``notes.json`` (the chorale
corpus; MUSDB18 has none), how much the tokens say about frame-level musical labels read from it:

- vocals: pitch class of the soprano note sounding at the frame centre (voiced frames only);
- accompaniment: pitch class of the bass note, and the pitch-class set of the sounding
  alto/tenor/bass notes ("chord").

Measures: mutual information (bits) and normalized mutual information (NMI, arithmetic mean
normalisation) between tokens and labels, NMI for randomly permuted tokens (chance level), and
the held-out accuracy of a token -> majority label map fitted on half the tracks and tested on
the other half, beside the majority-class rate. NMI favours tokenizers that use fewer clusters;
the held-out accuracy does not.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from hafm.fileio import atomic_write_json, atomic_write_text
from hafm.tokenizers.alignment import SEMANTIC_HZ
from hafm.tokenizers.semantic import KMeansSemanticTokenizer, load_semantic
from hafm.data import musdb_io
from hafm.data.musdb_io import STEMS
from hafm.errors import HafmError
from hafm.tokenizers.alignment import SEMANTIC_SR

LABELS = {"vocals": ("melody_pc",), "accompaniment": ("bass_pc", "chord_pcs")}


def frame_labels(notes: list[dict], n_frames: int) -> dict[str, list]:
    """Per 50 Hz frame (centre ``(j + 0.5) * 20`` ms): ``melody_pc``, ``bass_pc`` (int or None)
    and ``chord_pcs`` (sorted pitch-class tuple of the non-soprano parts, or None)."""
    centres = (np.arange(n_frames) + 0.5) / SEMANTIC_HZ
    sounding = defaultdict(lambda: [set() for _ in range(n_frames)])
    for note in notes:
        lo, hi = np.searchsorted(centres, [note["onset_s"], note["offset_s"]])
        for j in range(lo, hi):
            sounding[note["part"]][j].add(note["pitch"] % 12)
    labels: dict[str, list] = {"melody_pc": [], "bass_pc": [], "chord_pcs": []}
    for j in range(n_frames):
        soprano, bass = sounding["soprano"][j], sounding["bass"][j]
        chord = set().union(*(sounding[p][j] for p in ("alto", "tenor", "bass")))
        labels["melody_pc"].append(min(soprano) if soprano else None)
        labels["bass_pc"].append(min(bass) if bass else None)
        labels["chord_pcs"].append(tuple(sorted(chord)) if chord else None)
    return labels


def usage(tokens: np.ndarray, n_clusters: int) -> dict[str, float]:
    """Fraction of clusters used and perplexity ``exp(H)`` of the token distribution."""
    counts = np.bincount(tokens, minlength=n_clusters).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return {"used_fraction": float((counts > 0).mean()), "perplexity": float(np.exp(-(p * np.log(p)).sum()))}


def information(tokens: np.ndarray, labels: list, groups: np.ndarray, seed: int = 0) -> dict[str, float]:
    """NMI of tokens vs labels (frames with a label), chance NMI, held-out token -> label accuracy.

    ``groups`` (per frame, the track index) splits train/test of the majority map: even tracks
    fit it, odd tracks test it.
    """
    from sklearn.metrics import mutual_info_score, normalized_mutual_info_score

    keep = np.array([lab is not None for lab in labels])
    tok, grp = tokens[keep], groups[keep]
    lab = np.array([str(x) for x, k in zip(labels, keep) if k])
    if len(lab) == 0:
        return {"frames": 0}
    rng = np.random.default_rng(seed)
    nmi = normalized_mutual_info_score(lab, tok)
    chance = normalized_mutual_info_score(lab, rng.permutation(tok))
    fit, test = grp % 2 == 0, grp % 2 == 1
    by_token: dict[int, Counter] = defaultdict(Counter)
    for t, y in zip(tok[fit], lab[fit]):
        by_token[t][y] += 1
    overall = Counter(lab[fit]).most_common(1)[0][0] if fit.any() else lab[0]
    guess = np.array([by_token[t].most_common(1)[0][0] if t in by_token else overall for t in tok[test]])
    return {"frames": int(keep.sum()), "nmi": float(nmi), "nmi_chance": float(chance),
            "mi_bits": float(mutual_info_score(lab, tok) / np.log(2)),
            "heldout_accuracy": float((guess == lab[test]).mean()) if test.any() else float("nan"),
            "majority_rate": float((lab[test] == overall).mean()) if test.any() else float("nan")}


def notes_of(track) -> list[dict] | None:
    """The notes of a musdb track's ``notes.json`` (the chorale corpus writes one per track folder),
    None when it has none (MUSDB18 and MUSDB18-HQ do not)."""
    folder = musdb_io.track_folder(track)
    path = folder / "notes.json" if folder is not None else None
    return json.loads(path.read_text())["notes"] if path is not None and path.is_file() else None


def corpus_notes(tracks: list) -> list[list[dict]] | None:
    """Every track's notes, or None when no track has any (then only the cluster usage is measured)."""
    notes = [notes_of(t) for t in tracks]
    missing = [t.name for t, n in zip(tracks, notes) if n is None]
    if not missing:
        return notes
    if len(missing) == len(tracks):
        return None
    raise HafmError(f"tracks {missing} have no notes.json but the others have: a mixed corpus gives no "
                    "comparable musical information")


def evaluate(tok: KMeansSemanticTokenizer, tracks: list, notes: list[list[dict]] | None) -> dict:
    """Usage of ``tok`` on ``tracks`` (vocals and accompaniment), with throughput, and the musical
    information of its tokens about ``notes`` (one list per track; None: not measured)."""
    tokens = {s: [] for s in STEMS}
    labels = {name: [] for names in LABELS.values() for name in names}
    groups = {s: [] for s in STEMS}
    audio_s, compute_s = 0.0, 0.0
    for i, track in enumerate(tracks):
        for stem in STEMS:
            wav = musdb_io.read_stem(track, stem, SEMANTIC_SR)
            t0 = time.perf_counter()
            ids = tok.encode(torch.from_numpy(wav)[None, None])[0].numpy()
            compute_s += time.perf_counter() - t0
            audio_s += wav.shape[0] / tok.sample_rate
            tokens[stem].append(ids)
            groups[stem].append(np.full(ids.shape[0], i))
            if notes is not None:
                frame = frame_labels(notes[i], ids.shape[0])
                for name in LABELS[stem]:
                    labels[name].extend(frame[name])
    result = {"usage": {}, "information": {}, "throughput_x_realtime": audio_s / compute_s,
              "audio_seconds": audio_s}
    for stem in STEMS:
        ids, grp = np.concatenate(tokens[stem]), np.concatenate(groups[stem])
        result["usage"][stem] = usage(ids, tok.n_clusters)
        if notes is not None:
            result["information"].update({name: information(ids, labels[name], grp) for name in LABELS[stem]})
    result["usage"]["both"] = usage(np.concatenate([np.concatenate(tokens[s]) for s in STEMS]), tok.n_clusters)
    return result


def _header_lines(results: dict[str, dict], n_tracks: int, meta: dict) -> list[str]:
    names = list(results)
    lines = ["# Semantic tokenizer: cluster usage and musical information", "",
             f"Test split of `{meta['root']}`, first {n_tracks} tracks by name "
             f"({results[names[0]]['audio_seconds']:.0f} s of audio per tokenizer, vocals + accompaniment). "
             f"Generated {meta['date']} by `hafm semantic report`; numbers in `semantic.json`.", "",
             "Features (all at 50 Hz, standardised, k-means): `musicnn` = the 753 mid-end frame features of "
             "MSD_musicnn (62.5 Hz, linearly interpolated to 50 Hz); its filters are max-pooled over frequency, so "
             "they are nearly pitch-shift invariant. `musicnn_chroma` = the same plus 12 STFT chroma bins, "
             "each group "
             "scaled to equal total variance. `mfcc` = 20 MFCC + 12 chroma (weight-free baseline). The FAD of the "
             "benchmark uses other musicnn outputs (MTT_musicnn penultimate, vgg pool5).", "",
             "Fit time: wall seconds of the run that wrote the file, 1 thread; feature frames it found in the "
             "resume cache (`--cache`) cost almost nothing there.", "",
             "| tokenizer | features | identity | fitted on (frames, train tracks) | fit time (s) |",
             "|---|---|---|---|---|"]
    for n in names:
        t = meta["tokenizers"][n]
        lines.append(f"| {n} | {t['features']} | `{t['identity']}` | {t['fit_frames']}, {t['fit_tracks']} | "
                     f"{t['timing_s']} |")
    lines += ["", "## Cluster usage (K clusters; perplexity = exp(entropy of token counts))", "",
              "| tokenizer | stem | used clusters | perplexity |", "|---|---|---|---|"]
    for n in names:
        for stem, u in results[n]["usage"].items():
            lines.append(f"| {n} | {stem} | {100 * u['used_fraction']:.1f}% | {u['perplexity']:.1f} |")
    return lines


def _information_lines(results: dict[str, dict]) -> list[str]:
    names = list(results)
    lines = ["", "## Musical information (frames with a sounding note)", ""]
    if not results[names[0]]["information"]:
        return lines + ["Not measured: the tracks have no `notes.json` (MUSDB18 has none; the chorale corpus, "
                        "`hafm data chorales`, writes one per track)."]
    lines += ["NMI: normalized mutual information tokens vs label (chance: tokens permuted); it favours "
              "tokenizers that use fewer clusters. "
              "Held-out accuracy: token -> most frequent label, learnt on even tracks, tested on odd ones "
              "(majority: always the most frequent label).", "",
              "| label | tokenizer | frames | MI (bits) | NMI | NMI chance | held-out acc. | majority |",
              "|---|---|---|---|---|---|---|---|"]
    for label in (lab for labs in LABELS.values() for lab in labs):
        for n in names:
            r = results[n]["information"][label]
            lines.append(f"| {label} | {n} | {r['frames']} | {r['mi_bits']:.2f} | {r['nmi']:.3f} | "
                         f"{r['nmi_chance']:.3f} | "
                         f"{100 * r['heldout_accuracy']:.1f}% | {100 * r['majority_rate']:.1f}% |")
    lines += [""]
    for label in (lab for labs in LABELS.values() for lab in labs):
        best = max(names, key=lambda n: results[n]["information"][label]["heldout_accuracy"])
        lines.append(f"- {label}: highest held-out accuracy with `{best}`.")
    return lines


def render_markdown(results: dict[str, dict], n_tracks: int, meta: dict) -> str:
    lines = _header_lines(results, n_tracks, meta) + _information_lines(results)
    lines += ["", "## Throughput (features + tokens, 1 thread)", "",
              f"Seconds of audio tokenized per second of wall time, on {meta['cpu']} shared with other jobs "
              f"(1-min load average {meta['load_before']:.1f} before, {meta['load_after']:.1f} after).", "",
              "| tokenizer | x real time |", "|---|---|"]
    for n in results:
        lines.append(f"| {n} | {results[n]['throughput_x_realtime']:.1f} |")
    return "\n".join(lines) + "\n"


def write_report(root: str | Path, tokenizers: list[str], n_tracks: int, out: Path) -> dict:
    """Evaluate ``tokenizers`` on the first ``n_tracks`` test tracks; write ``out`` (md) and json."""
    from hafm.provenance import machine, now_utc, provenance

    tracks = musdb_io.tracks_of(root, "test")[:n_tracks]
    notes = corpus_notes(tracks)
    results, meta = {}, {"root": str(root), "date": now_utc(), "tokenizers": {}, "cpu": machine()["cpu"],
                         "tracks": [t.name for t in tracks], "load_before": os.getloadavg()[0]}
    for name in tokenizers:
        tok = load_semantic(name)
        fit, data = tok.header.get("fit", {}), tok.header.get("data", {})
        meta["tokenizers"][name] = {"features": json.dumps(tok.features_config.describe()),
                                    "identity": tok.identity(), "fit_frames": fit.get("n_frames"),
                                    "fit_tracks": data.get("n_tracks"), "timing_s": tok.header.get("timing_s")}
        results[name] = evaluate(tok, tracks, notes)
    meta["load_after"] = os.getloadavg()[0]
    atomic_write_text(out, render_markdown(results, len(tracks), meta))
    atomic_write_json(out.with_suffix(".json"), {"results": results, "meta": meta, "provenance": provenance()})
    return results
