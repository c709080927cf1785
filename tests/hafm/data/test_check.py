"""Tests of hafm.data.check (``hafm data check``)."""

import numpy as np
import soundfile as sf

from hafm.cli import main
from hafm.data.check import check_tree, format_report


def test_valid_tree_passes(hq_tree):
    report = check_tree(hq_tree)
    assert report.ok and report.tracks == {"train": 2, "test": 1} and report.sample_rates == {8_000}


def test_report_states_hours_and_rates(hq_tree):
    text = format_report(check_tree(hq_tree))
    assert "train: 2 tracks" in text and "[8000] Hz" in text and text.endswith("OK")


def test_short_stem_is_reported(hq_tree):
    sf.write(hq_tree / "train" / "B - two" / "other.wav", np.zeros((10, 2), dtype=np.float32), 8_000)
    report = check_tree(hq_tree)
    assert not report.ok and any("B - two: other has 10 samples" in p for p in report.problems)


def test_wrong_rate_stem_is_reported(hq_tree):
    data, _ = sf.read(hq_tree / "test" / "C - three" / "bass.wav")
    sf.write(hq_tree / "test" / "C - three" / "bass.wav", data, 16_000)
    assert any("bass at 16000 Hz" in p for p in check_tree(hq_tree).problems)


def test_missing_stem_is_reported(hq_tree):
    (hq_tree / "train" / "A - one" / "vocals.wav").unlink()
    assert any("missing stems ['vocals']" in p for p in check_tree(hq_tree).problems)


def test_cli_exit_codes(hq_tree, capsys):
    assert main(["data", "check", "--root", str(hq_tree)]) == 0
    (hq_tree / "train" / "A - one" / "drums.wav").unlink()
    assert main(["data", "check", "--root", str(hq_tree)]) == 1
    assert "FAILED" in capsys.readouterr().out
