"""The validation report on constructed rows whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from benchmark.music.report import write_report
from benchmark.music.report_checks import done_when, truth_correlation
from benchmark.music.validate import conditions

METRICS = ("harmony", "rhythm", "coherence", "consonance", "chord_tones", "key", "onset_f", "tempo")


def _value(cond) -> float:
    """Ground truth 0.9, another song 0.3; damage lowers the value with its level."""
    level = cond.level
    return {"reference": lambda: 0.9, "other_song": lambda: 0.3, "noise": lambda: 0.1,
            "transpose": lambda: 0.9 - 0.1 * level, "shift": lambda: 0.9 - level / 400,
            "tempo": lambda: 0.9 - (level - 1), "codec": lambda: 0.9 - 0.2 / level}[cond.family]()


@pytest.fixture
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = []
    for song in range(6):
        for clip in range(2):
            for cond in conditions():
                base = {"clip_id": f"s{song}@{clip}", "track": f"s{song}", "condition": cond.name,
                        "family": cond.family, "level": cond.level, "seconds": 10.0}
                v = _value(cond) + rng.normal(0, 0.01)
                out.append({**base, "source": "true", **{m: v for m in METRICS}})
                out.append({**base, "source": "transcribed", **{m: v + rng.normal(0, 0.01) for m in METRICS},
                            "harmony_chroma": 0.4, "rhythm_xcorr": v, "tonality": 0.9, "accomp_note_f1": 0.7,
                            "cpu_transcribe_s": 0.3, "cpu_proxies_s": 0.2, "cpu_vocal_s": 1.0, "vocal_note_f1": 0.8})
    return pd.DataFrame(out)


def test_every_check_passes_on_a_well_behaved_metric(rows):
    assert all(c["pass"] for c in done_when(rows))


def test_truth_and_transcription_that_agree_correlate(rows):
    assert (truth_correlation(rows)["r"] > 0.95).all()


def test_report_and_figures_are_written(rows, tmp_path):
    (tmp_path / "_cache").mkdir()
    rows.to_csv(tmp_path / "_cache" / "metrics_validation.csv", index=False)
    paths = write_report(tmp_path)
    assert all(p.exists() for p in paths)
    assert "| yes |" in (tmp_path / "metrics_validation.md").read_text()
