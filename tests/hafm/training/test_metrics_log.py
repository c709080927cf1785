"""The metrics CSV: fixed columns, tail truncation on resume, TensorBoard scalars when available."""

import pytest

from hafm import metrics_log
from hafm.metrics_log import MetricsLog, read_metrics


def test_resume_drops_rows_after_the_checkpoint_and_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.csv"
    log = MetricsLog(path, keep_until_step=0)
    for step in (1, 2, 3):
        log.write({"step": step, "split": "train", "loss": 1.0 / step})
    with open(path, "a") as f:
        f.write("4,tr")
    MetricsLog(path, keep_until_step=2)
    assert [r["step"] for r in read_metrics(path)] == ["1", "2"] and path.read_text().endswith("\n")


def test_a_row_with_new_columns_is_refused(tmp_path):
    log = MetricsLog(tmp_path / "metrics.csv", keep_until_step=0)
    log.write({"step": 1, "split": "train", "loss": 1.0})
    with pytest.raises(ValueError, match="not in"):
        log.write({"step": 2, "split": "train", "loss": 1.0, "extra": 2.0})


def test_scalars_go_to_tensorboard_when_it_is_installed(tmp_path, monkeypatch):
    scalars = []

    class Recorder:
        def add_scalar(self, tag, value, step):
            scalars.append((tag, value, step))

        def close(self):
            pass

    monkeypatch.setattr(metrics_log, "_tensorboard", lambda log_dir: Recorder())
    log = MetricsLog(tmp_path / "metrics.csv", keep_until_step=0, tensorboard_dir=tmp_path / "tb")
    log.write({"step": 3, "split": "val", "loss": 0.5, "tokens_per_s": float("nan")})
    assert scalars == [("val/loss", 0.5, 3)]
