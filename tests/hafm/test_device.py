"""--device: resolving it, refusing an absent one in one line, and every model part reaching it.

No GPU here: the parts are moved to the CPU (numerics unchanged) or to torch's ``meta`` device,
which shows that the device reaches the weights without computing anything.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from hafm.cli import main as hafm_main
from hafm.config import SamplingConfig
from hafm.device import DeviceError, place, resolve_device
from hafm.pipeline import GenerationPipeline
from hafm.testing import EnergySemantic, ToneCodec, tiny_cascade
from hafm.tokenizers.codec import RvqCodec
from hafm.tokenizers.semantic import KMeansSemanticTokenizer

FAST = SamplingConfig(window_seconds=0.6, overlap_seconds=0.2)


class Recording:
    """Mixin: remembers every device the part was moved to."""

    def to(self, device):
        self.devices = [*getattr(self, "devices", []), device]
        return self


class RecordingCodec(Recording, ToneCodec):
    pass


class RecordingSemantic(Recording, EnergySemantic):
    pass


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def vocal_file(tmp_path):
    """0.5 s of a mono 16 kHz tone."""
    path = tmp_path / "vocals.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16_000), 16_000)
    return path


def test_auto_is_the_cpu_without_cuda(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_refused_naming_it(no_cuda, name):
    with pytest.raises(DeviceError, match=f"device '{name}': CUDA is not available"):
        resolve_device(name)


def test_a_cuda_index_past_the_devices_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(DeviceError, match=r"1 CUDA device\(s\), cuda:0..cuda:0"):
        resolve_device("cuda:1")


def test_a_name_torch_does_not_know_is_refused():
    with pytest.raises(DeviceError, match="not a torch device name"):
        resolve_device("gpu0")


def test_generate_refuses_absent_cuda_in_one_line_before_loading_anything(no_cuda, vocal_file, tmp_path, capsys,
                                                                           monkeypatch):
    import hafm.model.cascade

    monkeypatch.setattr(hafm.model.cascade, "load_cascade", lambda *a, **k: pytest.fail("loaded the cascade"))
    out = tmp_path / "accomp.wav"
    assert hafm_main(["generate", str(vocal_file), "-o", str(out), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "device 'cuda': CUDA is not available" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_generate_moves_the_cascade_the_codec_and_the_semantic_tokenizer_to_the_device(vocal_file, tmp_path,
                                                                                         monkeypatch):
    import hafm.model.cascade
    import hafm.tokenizers.codec
    import hafm.tokenizers.semantic

    codec, semantic, cascade = RecordingCodec(), RecordingSemantic(), tiny_cascade()
    monkeypatch.setattr(hafm.model.cascade, "load_cascade", lambda *a, **k: cascade)
    monkeypatch.setattr(hafm.tokenizers.codec, "load_codec", lambda name=None: codec)
    monkeypatch.setattr(hafm.tokenizers.semantic, "load_semantic", lambda name=None, hubert_dir=None: semantic)
    monkeypatch.setattr(cascade, "to", lambda device: Recording.to(cascade, device))
    assert hafm_main(["generate", str(vocal_file), "-o", str(tmp_path / "a.wav"), "--device", "cpu"]) == 0
    assert codec.devices == semantic.devices == cascade.devices == [torch.device("cpu")]


def _pipeline() -> GenerationPipeline:
    return GenerationPipeline(tiny_cascade(), EnergySemantic(), ToneCodec(), FAST, "tiny")


def test_a_pipeline_moved_to_the_cpu_generates_what_it_did_before():
    vocals = 0.1 * torch.randn(1, 16_000, generator=torch.Generator().manual_seed(0))
    before = _pipeline().generate(vocals, 16_000, seed=3)
    assert torch.equal(_pipeline().to("cpu").generate(vocals, 16_000, seed=3), before)


def test_the_identity_is_unchanged_on_the_cpu_and_names_another_device():
    pipeline = _pipeline()
    identity = pipeline.identity()
    assert pipeline.to("cpu").identity() == identity
    pipeline.device = "cuda:0"
    assert pipeline.identity() != identity


def test_the_cascade_weights_reach_the_device():
    cascade = tiny_cascade().to("meta")
    assert {p.device.type for name in ("semantic", "coarse", "fine") for p in cascade.stage(name).parameters()} == {
        "meta"}


def test_the_rvq_codebooks_reach_the_device():
    codec = RvqCodec(torch.randn(2, 4, 320)).to("meta")
    assert codec.codebooks.device.type == "meta"


def test_the_semantic_feature_network_reaches_the_device_also_when_built_later(monkeypatch):
    import hafm.tokenizers.semantic

    extractor = Recording()
    monkeypatch.setattr(hafm.tokenizers.semantic, "build_extractor", lambda cfg: extractor)
    dim = 4
    tokenizer = KMeansSemanticTokenizer(None, np.zeros((3, dim)), np.zeros(dim), np.ones(dim)).to("cpu")
    assert tokenizer.extractor is extractor and extractor.devices == [torch.device("cpu")]


def test_a_part_without_to_may_stay_on_the_cpu_only():
    semantic = EnergySemantic()
    assert place(semantic, torch.device("cpu"), "semantic tokenizer") is semantic
    with pytest.raises(DeviceError, match="semantic tokenizer \\(EnergySemantic\\) cannot run on meta"):
        place(semantic, torch.device("meta"), "semantic tokenizer")
