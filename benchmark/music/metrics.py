"""Every music metric of one clip, from notes (true or transcribed) or from audio.

Columns (all higher = better fit between voice and accompaniment):

==================  =======================================================================
``consonance``      ``harmony.consonance``: consonant share of accompaniment notes against the sung pitch
``chord_tones``     ``harmony.chord_tone_share``: sung pitch class present in the accompaniment
``key``             ``harmony.key_agreement``: correlation of the two parts' Krumhansl key-strength profiles
``onset_f``         ``rhythm.onset_agreement``: mir_eval onset F-measure (50 ms), voice vs accompaniment
``tempo``           ``rhythm.tempo_agreement``: correlation of onset autocorrelations (tempo, not phase)
``harmony``         headline harmony = ``consonance`` (chosen on validation songs, see ``HEADLINE``)
``rhythm``          headline rhythm = ``onset_f``
``coherence``       geometric mean of harmony and rhythm, each first rescaled so that chance
                    level is 0 (``CHANCE``) and clipped at 0: high only when the accompaniment
                    fits the voice in pitch *and* in time
==================  =======================================================================

Transcribed parts read their onsets from sharper sources than their notes (``benchmark.music.
onsets``): the vocal notes' onsets are snapped to the audio's attacks, and the accompaniment's
onsets are the peaks of basic-pitch's onset posteriorgram (``accomp_onsets`` of ``note_metrics``).

Coherence is a stated combination, not a model of musical form: it does not see phrasing,
voice leading, dynamics, texture or timbre, nor repetition across more than a clip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.music.cache import TranscriptionCache
from benchmark.music.harmony import chord_tone_share, consonance, key_agreement
from benchmark.music.notes import Notes
from benchmark.music.rhythm import onset_agreement, tempo_agreement
from benchmark.music.transcribe import BasicPitch
from benchmark.music.vocal import Crepe

HEADLINE = {"harmony": "consonance", "rhythm": "onset_f"}
# Chance level of each headline: consonance of random pitch classes (7 of 12 intervals); onset F
# of the accompaniment of *another* validation song (transcribed, as the benchmark hears it;
# measured by benchmark.music.fit, ``selection.chance_onset_f`` of results/metrics_fit.json: 0.187
# with the fitted onset sources and the 40 ms vocal hop, 0.194 with the notes' onsets before them).
CHANCE = {"consonance": 7 / 12, "onset_f": 0.19}
# Decoding settings chosen on validation songs (``python -m benchmark.music.fit --write``).
THRESHOLDS = Path(__file__).resolve().parents[1] / "configs" / "music_thresholds.json"
COLUMNS = ("harmony", "rhythm", "coherence", "consonance", "chord_tones", "key", "onset_f", "tempo")


def coherence(values: dict[str, float]) -> float:
    """Geometric mean of the chance-rescaled headline harmony and rhythm, in [0, 1]."""
    parts = []
    for column in HEADLINE.values():
        chance = CHANCE[column]
        parts.append(max(0.0, (values[column] - chance) / (1.0 - chance)))
    return float(np.sqrt(parts[0] * parts[1]))


def note_metrics(vocal: Notes, accomp: Notes, duration: float,
                 accomp_onsets: np.ndarray | None = None) -> dict[str, float]:
    """All ``COLUMNS`` for one clip of ``duration`` seconds from the two parts' notes; the rhythm
    columns read ``accomp_onsets`` (seconds) instead of the accompaniment notes' onsets if given."""
    timing = accomp if accomp_onsets is None else accomp_onsets
    values = {
        "consonance": consonance(vocal, accomp, duration),
        "chord_tones": chord_tone_share(vocal, accomp, duration),
        "key": key_agreement(vocal, accomp),
        "onset_f": onset_agreement(vocal, timing),
        "tempo": tempo_agreement(vocal, timing, duration),
    }
    for headline, column in HEADLINE.items():
        values[headline] = values[column]
    values["coherence"] = coherence(values)
    return {c: values[c] for c in COLUMNS}


@dataclass
class Transcribers:
    """The accompaniment transcriber and the vocal tracker, behind an optional cache of model passes."""

    accompaniment: BasicPitch = field(default_factory=BasicPitch)
    vocal: Crepe = field(default_factory=Crepe)
    cache: TranscriptionCache | None = None

    def output(self, backend, wav: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        """``backend.model_output(wav, sr)``, through the cache when there is one."""
        return self.cache.output(backend, wav, sr) if self.cache is not None else backend.model_output(wav, sr)

    def vocal_notes(self, wav: np.ndarray, sr: int) -> Notes:
        """Mono ``[n]`` vocal at ``sr`` Hz -> its notes, onsets snapped to the audio's attacks."""
        return self.vocal.refine(self.vocal.decode(self.output(self.vocal, wav, sr)), wav, sr)

    def accompaniment_notes(self, wav: np.ndarray, sr: int) -> Notes:
        """Mono ``[n]`` accompaniment at ``sr`` Hz -> its notes."""
        return self.accompaniment.decode(self.output(self.accompaniment, wav, sr))

    def accompaniment_part(self, wav: np.ndarray, sr: int) -> tuple[Notes, np.ndarray]:
        """Mono ``[n]`` accompaniment at ``sr`` Hz -> its notes and its onsets ``[m]`` (s) for rhythm."""
        output = self.output(self.accompaniment, wav, sr)
        return self.accompaniment.decode(output), self.accompaniment.onset_times(output)

    @classmethod
    def fitted(cls, cache: TranscriptionCache | None = None, path: Path = THRESHOLDS) -> Transcribers:
        """Both backends with the settings saved in ``path`` by the fit on validation songs; the
        upstream defaults (basic-pitch 0.5 / 0.3 / 127.7 ms, no latency) where nothing was saved."""
        saved = json.loads(path.read_text()) if path.exists() else {}
        return cls(BasicPitch(**saved.get("accompaniment", {})), Crepe(**saved.get("vocal", {})), cache)

    def identity(self) -> dict[str, str]:
        """Model fingerprints and decoding settings: what the metric values depend on."""
        return {"accompaniment": f"{self.accompaniment.fingerprint[:16]} {self.accompaniment!r}",
                "vocal": f"{self.vocal.fingerprint[:16]} {self.vocal!r}"}


def audio_metrics(vocals: np.ndarray, accomp: np.ndarray, sr: int, transcribers: Transcribers) -> dict[str, float]:
    """All ``COLUMNS`` for one clip from mono audio ``[n]`` (vocal and accompaniment, same ``sr``)."""
    duration = min(len(vocals), len(accomp)) / sr
    notes, onset_times = transcribers.accompaniment_part(accomp, sr)
    return note_metrics(transcribers.vocal_notes(vocals, sr), notes, duration, onset_times)
