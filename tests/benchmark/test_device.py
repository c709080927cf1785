"""--device of the benchmark: the embedding networks and the cascade reach it; an absent one is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.embeddings import get_backend
from hafm.errors import HafmError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("name", ["musicnn", "musicnn_vgg", "vggish", "clap", "encodec"])
def test_every_embedding_network_is_moved_to_the_backends_device(name):
    extra = {"extractor": object()} if name == "clap" else {}
    backend = get_backend(name, device="meta", model=torch.nn.Linear(2, 2), **extra)
    assert next(backend.network().parameters()).device.type == "meta"


def test_run_refuses_absent_cuda_in_one_line_before_any_work(no_cuda, tmp_path, capsys):
    assert main(["run", "--root", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "device 'cuda': CUDA is not available" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_run_gives_every_embedding_backend_the_resolved_device(no_cuda, tmp_path, monkeypatch):
    import benchmark.embeddings
    import benchmark.runner

    seen = {}

    def stop(*args, **kwargs):
        raise HafmError("stopped after the embedders were made")

    monkeypatch.setattr(benchmark.embeddings, "get_embedder", lambda name, **kw: seen.setdefault(name, kw))
    monkeypatch.setattr(benchmark.runner, "run", stop)
    assert main(["run", "--root", str(tmp_path), "--out", str(tmp_path / "out"), "--systems", "ground_truth",
                 "random", "--backends", "musicnn", "vggish", "--device", "auto"]) == 2
    assert seen == {"musicnn": {"device": "cpu"}, "vggish": {"device": "cpu"}}


class FakePipeline:
    """Records the batches it generated (in whichever process ran it)."""

    def __init__(self):
        self.seeds = []

    def generate_both_batch(self, vocals, sr, seeds):
        self.seeds += seeds
        return [{3: torch.ones(1, v.shape[-1]), 2: torch.zeros(1, v.shape[-1])} for v in vocals]


def test_off_the_cpu_the_cascade_runs_on_the_runs_own_pipeline_in_this_process():
    from benchmark.cascade_pool import _results

    pipeline = FakePipeline()
    jobs = [[("a", np.zeros(4, np.float32), 1), ("b", np.zeros(4, np.float32), 2)], [("c", np.zeros(6, np.float32), 3)]]
    results = [r for batch in _results(jobs, pipeline, None, workers=2, device=torch.device("meta")) for r in batch]
    assert [clip for clip, _ in results] == ["a", "b", "c"] and pipeline.seeds == [1, 2, 3]
    assert results[2][1][3].tolist() == [1.0] * 6
