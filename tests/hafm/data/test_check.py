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


def test_deep_check_passes_a_valid_tree_and_says_it_decoded(hq_tree):
    report = check_tree(hq_tree, deep=True)
    assert report.ok and "every stem decoded" in format_report(report)
    assert "headers only" in format_report(check_tree(hq_tree))


def test_deep_check_reports_nan_stems_and_silent_vocals_per_track(hq_tree, hq_writer):
    broken = hq_writer(hq_tree / "train" / "A - one", 1.0)["bass"]
    broken[100:103] = np.nan
    sf.write(hq_tree / "train" / "A - one" / "bass.wav", broken, 8_000, subtype="FLOAT")
    silent = np.zeros((16_000, 2), dtype=np.float32)
    sf.write(hq_tree / "test" / "C - three" / "vocals.wav", silent, 8_000, subtype="FLOAT")
    sf.write(hq_tree / "test" / "C - three" / "drums.wav", silent, 8_000, subtype="FLOAT")  # allowed: no drums
    assert check_tree(hq_tree).ok  # the headers are all fine
    problems = check_tree(hq_tree, deep=True).problems
    assert len(problems) == 2
    assert problems[0].startswith("train/A - one: bass:") and "3 NaN or infinite samples" in problems[0]
    assert problems[1].startswith("test/C - three: vocals:") and "silent" in problems[1]


def test_cli_deep_flag_fails_on_a_nan_vocal(hq_tree, capsys):
    data, _ = sf.read(hq_tree / "train" / "B - two" / "vocals.wav", dtype="float32")
    data[0, 0] = np.inf
    sf.write(hq_tree / "train" / "B - two" / "vocals.wav", data, 8_000, subtype="FLOAT")
    assert main(["data", "check", "--root", str(hq_tree)]) == 0
    assert main(["data", "check", "--root", str(hq_tree), "--deep"]) == 1
    assert "train/B - two: vocals:" in capsys.readouterr().out


def test_cli_deep_check_decodes_a_stem_mp4_tree(stems_tree, capsys):
    assert main(["data", "check", "--root", str(stems_tree), "--deep"]) == 0
    out = capsys.readouterr().out
    assert "MUSDB18 (stem.mp4)" in out and "train: 1 tracks" in out and "every stem decoded" in out
