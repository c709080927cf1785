"""Bach chorales from music21's corpus turned into timed note events (seconds, MIDI pitch).

What a performance of a chorale needs, beyond reading the notes:
- repeats are expanded (music21 ``expandRepeats``; a score whose repeats cannot be expanded is
  played as written and flagged ``repeats_expanded=False``);
- ties are merged (``stripTies``) so a tied note is not struck again;
- fermatas hold: the score time spanned by any fermata note is played ``FERMATA_STRETCH`` times
  slower, in every part at once, so the parts stay together;
- the tempo is the score's own ``MetronomeMark`` when it has one, else a seeded 70-100 bpm;
- every part is shifted by the one global earliest onset, so pickups start at t = 0 and no part
  drifts against another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from hafm.errors import HafmError

VOICES = ("soprano", "alto", "tenor", "bass")
FERMATA_STRETCH = 1.75  # a fermata note lasts 1.75x its written length
SEEDED_BPM_RANGE = (70.0, 100.0)


@dataclass(frozen=True)
class NoteEvent:
    """One sounding note: ``onset``/``offset`` in seconds from the first onset, MIDI ``pitch``."""

    part: str
    onset: float
    offset: float
    pitch: int


@dataclass
class Performance:
    """A chorale ready to render: per-voice notes, beat grid (s), tempo and how it was chosen."""

    chorale_id: str
    notes: dict[str, list[NoteEvent]]
    bpm: float
    bpm_source: str  # "score" or "seeded"
    repeats_expanded: bool
    beats: list[float] = field(default_factory=list)
    downbeats: list[float] = field(default_factory=list)

    @property
    def end(self) -> float:
        """Time (s) of the last note-off over all voices."""
        return max(n.offset for notes in self.notes.values() for n in notes)


def chorale_paths() -> list[Path]:
    """Every Bach score file shipped in music21's corpus (sorted); not all are 4-part chorales."""
    from music21 import corpus

    return sorted(Path(p) for p in corpus.getComposer("bach"))


def chorale_id(path: Path) -> str:
    """``.../bach/bwv26.6.mxl`` -> ``bwv26.6``."""
    return path.name.rsplit(".", 1)[0]


def satb_parts(score) -> dict[str, object] | None:
    """The four voice parts of a plain 4-part chorale, keyed by voice; None for other scores."""
    parts = list(score.parts) if hasattr(score, "parts") else []
    names = tuple((p.partName or "").strip().lower() for p in parts)
    if names != VOICES:
        return None
    return dict(zip(VOICES, parts))


def _expanded(score):
    """The score with repeats written out, and whether that worked."""
    from music21 import repeat

    if not score.recurse().getElementsByClass(repeat.RepeatMark):
        return score, True
    try:
        return score.expandRepeats(), True
    except Exception:  # noqa: BLE001 -- music21 raises many types here; the flag records the fallback
        return score, False


def _score_bpm(score) -> float | None:
    from music21 import tempo

    marks = score.recurse().getElementsByClass(tempo.MetronomeMark)
    for mark in marks:
        bpm = mark.getQuarterBPM()
        if bpm:
            return float(bpm)
    return None


class TimeMap:
    """Score offsets (quarter notes) -> seconds, with fermata regions slowed down.

    ``regions`` are merged ``(start, end)`` spans in quarter notes; ``origin`` is the score offset
    that maps to 0 s.
    """

    def __init__(self, bpm: float, regions: list[tuple[float, float]], origin: float, stretch: float):
        self.sec_per_quarter = 60.0 / bpm
        self.regions = _merge(regions)
        self.stretch = stretch
        self.origin_s = 0.0
        self.origin_s = self(origin)

    def __call__(self, q: float) -> float:
        extra = sum(max(0.0, min(q, end) - start) for start, end in self.regions)
        return (q + (self.stretch - 1.0) * extra) * self.sec_per_quarter - self.origin_s


def _merge(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _raw_notes(part) -> list[tuple[float, float, int, bool]]:
    """``(onset_q, end_q, midi, has_fermata)`` for every sounding pitch of a part."""
    from music21 import expressions

    out = []
    for n in part.flatten().notes:
        dur = float(n.quarterLength)
        if dur <= 0:  # grace notes carry no time of their own
            continue
        onset = float(n.offset)
        fermata = any(isinstance(e, expressions.Fermata) for e in n.expressions)
        for p in n.pitches:
            out.append((onset, onset + dur, int(p.midi), fermata))
    return out


def _beat_grid(part, time_map: TimeMap, end_q: float) -> tuple[list[float], list[float]]:
    """Beat and downbeat times (s) from the measures of ``part`` (pickup bars handled)."""
    beats, downbeats = [], []
    for m in part.getElementsByClass("Measure"):
        ts = m.getContextByClass("TimeSignature")
        beat_q = float(ts.beatDuration.quarterLength) if ts else 1.0
        bar_q = float(ts.barDuration.quarterLength) if ts else 4.0
        bar_start = float(m.offset) - float(m.paddingLeft or 0.0)
        k = 0
        while bar_start + k * beat_q < min(float(m.offset) + float(m.duration.quarterLength), end_q) - 1e-9:
            q = bar_start + k * beat_q
            if q >= float(m.offset) - 1e-9 and k * beat_q < bar_q - 1e-9:
                beats.append(time_map(q))
                if k == 0:
                    downbeats.append(time_map(q))
            k += 1
    return beats, downbeats


def perform(
    path: Path,
    seed: int,
    tempo_factor: float = 1.0,
    transpose: int = 0,
    fermata_stretch: float = FERMATA_STRETCH,
) -> Performance:
    """Read a chorale and time its notes; ``seed`` picks the tempo when the score has none.

    ``tempo_factor`` > 1 plays faster; ``transpose`` shifts every pitch by semitones.
    Raises HafmError for a score that is not a plain SATB chorale.
    """
    from music21 import converter

    score = converter.parse(str(path))
    if satb_parts(score) is None:
        raise HafmError(f"{path}: not a 4-part SATB chorale")
    score, expanded = _expanded(score)
    score = score.stripTies()
    parts = satb_parts(score)
    raw = {voice: _raw_notes(part) for voice, part in parts.items()}
    if any(not notes for notes in raw.values()):
        raise HafmError(f"{path}: a voice part has no notes")
    bpm = _score_bpm(score)
    bpm_source = "score" if bpm else "seeded"
    if bpm is None:
        bpm = round(random.Random(seed).uniform(*SEEDED_BPM_RANGE), 1)
    origin = min(n[0] for notes in raw.values() for n in notes)
    fermatas = [(n[0], n[1]) for notes in raw.values() for n in notes if n[3]]
    time_map = TimeMap(bpm * tempo_factor, fermatas, origin, fermata_stretch)
    notes = {
        voice: [
            NoteEvent(voice, time_map(on), time_map(off), min(127, max(0, pitch + transpose)))
            for on, off, pitch, _ in sorted(events)
        ]
        for voice, events in raw.items()
    }
    end_q = max(n[1] for events in raw.values() for n in events)
    beats, downbeats = _beat_grid(parts["soprano"], time_map, end_q)
    return Performance(chorale_id(path), notes, bpm * tempo_factor, bpm_source, expanded, beats, downbeats)
