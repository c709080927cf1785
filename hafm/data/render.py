"""Render a chorale performance to MUSDB-style stems with a General MIDI soundfont.

The soundfont is TimGM6mb.sf2, shipped inside the ``pretty_midi`` wheel; ``tinysoundfont``
synthesises it (its ``generate`` returns interleaved stereo float32, averaged to mono here).
Stem mapping: soprano -> ``vocals`` (a choir/voice patch), bass -> ``bass``, alto + tenor ->
``other`` (a per-track instrument set), ``drums`` a meter-based pattern or silence.

Levels: each stem is brought to its own loudness target (BS.1770) so that vocals sit over the
accompaniment whatever patches were drawn, then one gain keeps the mixture's peak under
``PEAK``; stems are quantised to 16 bit first and the mixture is their exact integer sum, so
``mixture == vocals + bass + drums + other`` holds sample for sample in the files.
"""

from __future__ import annotations

import importlib.resources
import random
from dataclasses import dataclass

import numpy as np

from hafm.data.chorales import NoteEvent, Performance

STEMS = ("vocals", "bass", "drums", "other")
VOCAL_PATCHES = (52, 53, 54)  # GM Choir Aahs, Voice Oohs, Synth Voice (0-based)
# alto, tenor, bass GM programs (0-based) for each instrument set
PATCH_SETS: dict[str, tuple[int, int, int]] = {
    "piano": (0, 0, 32),  # grand piano, acoustic bass
    "strings": (40, 41, 42),  # violin, viola, cello
    "organ": (19, 19, 19),  # church organ
    "winds": (68, 71, 70),  # oboe, clarinet, bassoon
    "brass": (60, 57, 58),  # french horn, trombone, tuba
    "guitar": (24, 24, 33),  # nylon guitar, fingered bass
}
LOUDNESS_TARGETS = {"vocals": -20.0, "other": -22.0, "bass": -23.0, "drums": -25.0}  # LUFS
PEAK = 0.98
RELEASE_TAIL_S = 1.0  # rendered after the last note-off so releases are not cut
VELOCITY = {"soprano": 90, "alto": 80, "tenor": 80, "bass": 85}
KICK, SNARE, HIHAT = 36, 38, 42  # GM percussion keys
DRUM_HIT_S = 0.1


@dataclass(frozen=True)
class Patches:
    """GM programs (0-based) used for one rendering."""

    vocals: int
    alto: int
    tenor: int
    bass: int
    set_name: str

    def as_dict(self) -> dict:
        return {"set": self.set_name, "vocals": self.vocals, "alto": self.alto, "tenor": self.tenor, "bass": self.bass}


def choose_patches(seed: int, set_name: str | None = None) -> Patches:
    """Draw a vocal patch and an instrument set from ``seed`` (or use the named set)."""
    rng = random.Random(seed)
    vocals = rng.choice(VOCAL_PATCHES)
    name = set_name or rng.choice(sorted(PATCH_SETS))
    alto, tenor, bass = PATCH_SETS[name]
    return Patches(vocals, alto, tenor, bass, name)


def soundfont_path() -> str:
    """Path of the GM soundfont shipped with pretty_midi."""
    return str(importlib.resources.files("pretty_midi") / "TimGM6mb.sf2")


def synthesize(
    voices: list[tuple[list[NoteEvent], int, int]],
    n_samples: int,
    sr: int,
    drums: bool = False,
) -> np.ndarray:
    """Render ``[(notes, program, velocity), ...]`` (one MIDI channel each) to mono ``[n]`` float32.

    With ``drums`` the single voice plays on the GM percussion channel. At equal times note-offs
    are sent before note-ons, or a repeated pitch would be cut off by its own release.
    """
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sr)
    sfid = synth.sfload(soundfont_path())
    events = []
    for chan, (notes, program, velocity) in enumerate(voices):
        if drums:
            chan = 9
            synth.program_select(chan, sfid, 128, 0, is_drums=True)
        else:
            synth.program_select(chan, sfid, 0, program)
        for n in notes:
            events.append((round(n.onset * sr), 1, chan, n.pitch, velocity))
            events.append((round(n.offset * sr), 0, chan, n.pitch, 0))
    events.sort()
    out = np.zeros(n_samples, dtype=np.float32)
    pos = 0
    for sample, is_on, chan, pitch, velocity in events:
        sample = min(sample, n_samples)
        if sample > pos:
            out[pos:sample] = _generate(synth, sample - pos)
            pos = sample
        if is_on:
            synth.noteon(chan, pitch, velocity)
        else:
            synth.noteoff(chan, pitch)
    if n_samples > pos:
        out[pos:] = _generate(synth, n_samples - pos)
    return out


def _generate(synth, n: int) -> np.ndarray:
    stereo = np.frombuffer(synth.generate(n), dtype=np.float32).reshape(-1, 2)
    return stereo.mean(axis=1)


def drum_pattern(perf: Performance) -> list[NoteEvent]:
    """Hi-hat on every beat, kick on the downbeat, snare on the 2nd and 4th beats of a bar."""
    downbeats = {round(t, 6) for t in perf.downbeats}
    hits = []
    beat_in_bar = 0
    for t in perf.beats:
        beat_in_bar = 0 if round(t, 6) in downbeats else beat_in_bar + 1
        if t < 0:
            continue
        hits.append(NoteEvent("drums", t, t + DRUM_HIT_S, HIHAT))
        if beat_in_bar == 0:
            hits.append(NoteEvent("drums", t, t + DRUM_HIT_S, KICK))
        elif beat_in_bar % 2 == 1:
            hits.append(NoteEvent("drums", t, t + DRUM_HIT_S, SNARE))
    return hits


def render_stems(perf: Performance, patches: Patches, sr: int, drums: bool = False) -> dict[str, np.ndarray]:
    """Float stems ``{name: [n]}`` (all the same length), before level matching."""
    n = int(np.ceil((perf.end + RELEASE_TAIL_S) * sr))
    v = VELOCITY
    stems = {
        "vocals": synthesize([(perf.notes["soprano"], patches.vocals, v["soprano"])], n, sr),
        "bass": synthesize([(perf.notes["bass"], patches.bass, v["bass"])], n, sr),
        "other": synthesize(
            [(perf.notes["alto"], patches.alto, v["alto"]), (perf.notes["tenor"], patches.tenor, v["tenor"])], n, sr
        ),
    }
    stems["drums"] = (
        synthesize([(drum_pattern(perf), 0, 100)], n, sr, drums=True) if drums else np.zeros(n, dtype=np.float32)
    )
    return stems


def _loudness_gain(wav: np.ndarray, sr: int, target: float) -> float:
    """Linear gain that brings ``wav [n]`` to ``target`` LUFS; 1 for silence (nothing to level)."""
    from hafm.audio import loudness

    current = loudness(wav, sr)
    if not np.isfinite(current):
        return 1.0
    return float(10.0 ** ((target - current) / 20.0))


def mix_to_pcm16(stems: dict[str, np.ndarray], sr: int) -> dict[str, np.ndarray]:
    """Level-match the stems, scale for a peak-safe mixture, quantise; add ``mixture`` = exact sum.

    Returns int16 arrays ``{vocals, bass, drums, other, mixture}``.
    """
    leveled = {k: w * _loudness_gain(w, sr, LOUDNESS_TARGETS[k]) for k, w in stems.items()}
    mixture = sum(leveled.values())
    peak = max(float(np.abs(mixture).max()), *(float(np.abs(w).max()) for w in leveled.values()))
    # headroom for the rounding of four stems (at most 2 LSB) keeps the integer sum in range
    scale = min(1.0, (PEAK * 32767 - 4) / (peak * 32767)) if peak > 0 else 1.0
    pcm = {k: np.round(w * scale * 32767).astype(np.int16) for k, w in leveled.items()}
    total = sum(pcm[k].astype(np.int32) for k in STEMS)
    pcm["mixture"] = total.astype(np.int16)
    return pcm
