import numpy as np
import pytest
import torch

from benchmark import vggish
from benchmark.embeddings import (
    BACKENDS,
    EmbeddingCache,
    MusicnnBackend,
    audio_sha256,
    embed_songs,
    get_backend,
    get_embedder,
)
from hafm.errors import AudioError, HafmError, MissingWeightsError, StaleCacheError
from hafm.musicnn import Musicnn, MusicnnVGG


def tone(seconds, sr, freq=440.0, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


@pytest.fixture
def random_musicnn():
    torch.manual_seed(0)
    return MusicnnBackend(model=Musicnn().eval())


@pytest.fixture
def random_vgg():
    torch.manual_seed(0)
    return get_backend("musicnn_vgg", model=MusicnnVGG().eval())


@pytest.fixture(scope="module")
def vggish_weights(tmp_path_factory):
    """A torchvggish-format state dict with random weights, saved like the release file."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vggish") / vggish.WEIGHTS_FILE
    torch.save(vggish.VGGish().state_dict(), path)
    return path


class CountingBackend:
    """A backend that records its calls (for the cache)."""

    name = "counting"
    fingerprint = "f" * 64

    def __init__(self):
        self.calls = 0

    def embed(self, wav, sr):
        self.calls += 1
        return np.full((3, 4), float(np.mean(wav)), dtype=np.float32)


def test_backend_names_are_the_table_names():
    names = ["musicnn", "musicnn_vgg", "vggish", "clap", "encodec"]
    assert list(BACKENDS) == names and [get_backend(n).name for n in names] == names


def test_unknown_backend_is_refused():
    with pytest.raises(HafmError, match="unknown embedding backend"):
        get_backend("openl3")


def test_fad_backends_avoid_the_semantic_tokenizers_network():
    from hafm.tokenizers.features import FeatureConfig

    semantic = FeatureConfig().musicnn_model
    assert all(get_backend(n).model_name != semantic for n in ("musicnn", "musicnn_vgg"))


def test_musicnn_gives_overlapping_patches_every_half_second(random_musicnn):
    # 5 s at 16 kHz: 313 log-mel frames, 187-frame patches every 31 frames -> 5 (disjoint: 1)
    frames = random_musicnn.embed(tone(5.0, 16_000), 16_000)
    assert frames.shape == (5, 200) and frames.dtype == np.float32


def test_musicnn_resamples_other_rates(random_musicnn):
    assert random_musicnn.embed(tone(4.0, 44_100), 44_100).shape == (3, 200)


def test_musicnn_pads_audio_shorter_than_a_patch(random_musicnn):
    assert random_musicnn.embed(tone(1.0, 16_000), 16_000).shape == (1, 200)


def test_musicnn_is_deterministic(random_musicnn):
    wav = tone(4.0, 16_000)
    np.testing.assert_array_equal(random_musicnn.embed(wav, 16_000), random_musicnn.embed(wav, 16_000))


def test_musicnn_vgg_gives_pool5_patches_every_1_5_s(random_vgg):
    # 5 s: 313 frames, 187-frame patches every 94 frames -> 2
    assert random_vgg.embed(tone(5.0, 16_000), 16_000).shape == (2, 256)


def test_musicnn_vgg_refuses_window_mode():
    torch.manual_seed(0)
    backend = get_backend("musicnn_vgg", model=MusicnnVGG().eval(), exact_patches=False)
    with pytest.raises(HafmError, match="exact_patches=True"):
        backend.embed(tone(4.0, 16_000), 16_000)


@pytest.mark.parametrize("seconds,sr,expected", [(1.0, 16_000, 1), (2.9, 16_000, 1), (3.0, 16_000, 1),
                                                 (3.5, 16_000, 2), (10.0, 24_000, 15)])
def test_window_count_per_clip_length(seconds, sr, expected, random_musicnn):
    # 1 + (frames - 187) // 31 windows, frames = 1 + n_16k // 256; under 3 s: repeat-padded to one
    frames = 1 + int(seconds * 16_000) // 256
    assert expected == (1 if frames < 187 else 1 + (frames - 187) // 31)
    assert random_musicnn.embed(tone(seconds, sr), sr).shape == (expected, 200)


def test_window_and_exact_modes_give_the_same_frames(random_musicnn):
    exact = MusicnnBackend(model=random_musicnn.model, exact_patches=True)
    wav = tone(6.0, 16_000)
    assert random_musicnn.embed(wav, 16_000).shape == exact.embed(wav, 16_000).shape


def test_exact_mode_is_upstreams_patch_computation(random_musicnn):
    from hafm.musicnn import patch_embeddings

    wav = tone(5.0, 16_000)
    exact = MusicnnBackend(model=random_musicnn.model, exact_patches=True, batch_size=16)
    np.testing.assert_allclose(exact.embed(wav, 16_000), patch_embeddings(random_musicnn.model, wav, "penultimate",
                                                                          hop=31), rtol=0, atol=1e-5)


def test_modes_have_different_cache_keys(random_musicnn):
    exact = MusicnnBackend(model=random_musicnn.model, exact_patches=True)
    assert exact.fingerprint != random_musicnn.fingerprint


def test_another_resampler_is_another_cache_key(random_musicnn, monkeypatch):
    # embeddings of resampled audio depend on the resampler: a change of it must not reuse them
    before = random_musicnn.fingerprint
    monkeypatch.setattr("benchmark.embeddings.RESAMPLER", "another-resampler")
    assert MusicnnBackend(model=random_musicnn.model).fingerprint != before


def test_stereo_input_is_refused(random_musicnn):
    stereo = np.stack([tone(4.0, 16_000)] * 2)
    with pytest.raises(HafmError, match="mono"):
        random_musicnn.embed(stereo, 16_000)


def test_nan_audio_is_refused(random_musicnn):
    wav = tone(4.0, 16_000)
    wav[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        random_musicnn.embed(wav, 16_000)


def test_pretrained_musicnn_from_the_wheel_embeds_a_tone():
    frames = get_backend("musicnn").embed(tone(4.0, 16_000), 16_000)
    assert frames.shape == (3, 200) and np.all(np.isfinite(frames))


def test_vggish_front_end_makes_non_overlapping_0_96_s_examples():
    examples = vggish.log_mel_examples(tone(2.0, 16_000))
    assert examples.shape == (2, 96, 64) and examples.dtype == np.float32


def test_vggish_front_end_puts_a_tone_in_its_mel_band():
    examples = vggish.log_mel_examples(tone(1.0, 16_000, freq=1000.0))
    weights = vggish.mel_matrix()
    band_of_1khz = int(np.argmax(weights[int(round(1000 / (16_000 / vggish.N_FFT)))]))
    assert int(np.argmax(examples[0].mean(axis=0))) == band_of_1khz


def test_vggish_front_end_refuses_audio_shorter_than_one_example():
    with pytest.raises(AudioError, match="0.96 s"):
        vggish.log_mel_examples(tone(0.5, 16_000))


def test_vggish_graph_maps_examples_to_128_d():
    torch.manual_seed(0)
    out = vggish.VGGish().eval()(torch.randn(2, 96, 64))
    assert out.shape == (2, 128)


@pytest.mark.slow
def test_vggish_loads_a_weights_file_and_is_deterministic(vggish_weights):
    backend = get_backend("vggish", weights=str(vggish_weights))
    wav = tone(3.0, 22_050)
    first = backend.embed(wav, 22_050)
    assert first.shape == (3, 128) and np.array_equal(first, backend.embed(wav, 22_050))


@pytest.mark.slow
def test_vggish_weights_are_found_in_the_torch_hub_cache(vggish_weights, monkeypatch, tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / vggish.WEIGHTS_FILE).symlink_to(vggish_weights)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv(vggish.WEIGHTS_ENV, raising=False)
    assert vggish.find_weights() == tmp_path / "checkpoints" / vggish.WEIGHTS_FILE


def test_missing_vggish_weights_raise_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv(vggish.WEIGHTS_ENV, str(tmp_path / "nowhere.pth"))
    with pytest.raises(MissingWeightsError, match="nowhere.pth.*vggish-10086976.pth"):
        get_backend("vggish").embed(tone(2.0, 16_000), 16_000)


def test_a_file_that_is_not_vggish_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(2)}, path)
    with pytest.raises(MissingWeightsError, match="not a torchvggish state dict"):
        vggish.load_vggish(path)


def test_cache_computes_once_per_audio(tmp_path):
    backend, cache = CountingBackend(), EmbeddingCache(tmp_path)
    wav = tone(1.0, 16_000)
    first = cache.embed(backend, wav, 16_000)
    second = cache.embed(backend, wav, 16_000)
    assert backend.calls == 1 and np.array_equal(first, second)


def test_cache_keys_on_the_audio_content(tmp_path):
    backend, cache = CountingBackend(), EmbeddingCache(tmp_path)
    cache.embed(backend, tone(1.0, 16_000), 16_000)
    cache.embed(backend, tone(1.0, 16_000, freq=220.0), 16_000)
    assert backend.calls == 2 and len(list(tmp_path.rglob("*.npz"))) == 2


def test_cache_recomputes_an_unreadable_entry(tmp_path):
    backend, cache = CountingBackend(), EmbeddingCache(tmp_path)
    wav = tone(1.0, 16_000)
    cache.embed(backend, wav, 16_000)
    cache.path(backend, audio_sha256(wav, 16_000)).write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        cache.embed(backend, wav, 16_000)
    assert backend.calls == 2


def test_cache_refuses_an_entry_from_another_backend(tmp_path):
    backend, cache = CountingBackend(), EmbeddingCache(tmp_path)
    wav = tone(1.0, 16_000)
    path = cache.path(backend, audio_sha256(wav, 16_000))
    path.parent.mkdir(parents=True)
    np.savez(path, embeddings=np.zeros((1, 4)), fingerprint="other", audio_sha256=audio_sha256(wav, 16_000))
    with pytest.raises(StaleCacheError):
        cache.embed(backend, wav, 16_000)


def test_cache_separates_backend_weights(tmp_path, random_musicnn):
    torch.manual_seed(1)
    other = MusicnnBackend(model=Musicnn().eval())
    assert EmbeddingCache(tmp_path).path(random_musicnn, "a") != EmbeddingCache(tmp_path).path(other, "a")


def test_embed_songs_returns_groups_for_fad(tmp_path):
    backend = CountingBackend()
    songs = {"a": (tone(1.0, 16_000), 16_000), "b": (tone(1.0, 16_000, freq=220.0), 16_000)}
    out = embed_songs(backend, songs, cache=EmbeddingCache(tmp_path), progress=False)
    assert list(out) == ["a", "b"] and out["a"].shape == (3, 4)


def test_embedder_is_a_cached_callable(tmp_path, random_musicnn):
    embedder = get_embedder("musicnn", cache_dir=tmp_path, model=random_musicnn.model)
    frames = embedder(tone(4.0, 16_000), 16_000)
    assert embedder.name == "musicnn" and frames.shape == (3, 200) and len(list(tmp_path.rglob("*.npz"))) == 1


def test_embedder_cache_dir_defaults_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HAFM_EMBEDDING_CACHE", str(tmp_path))
    assert get_embedder("vggish").cache.root == tmp_path
