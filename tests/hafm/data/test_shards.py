"""Tests of hafm.data.shards (shard format) and hafm.data.tokenize (building shards)."""

import json

import numpy as np
import pytest

from hafm.data import shards
from hafm.data.tokenize import build_shards, tokenize_pair
from hafm.errors import HafmError, StaleCacheError
from hafm.testing import EnergySemantic, ToneCodec, use_stand_in_tokenizers


def codec_v1() -> ToneCodec:  # module-level factories: spawned worker processes unpickle them by name
    return ToneCodec("v1")


def codec_v2() -> ToneCodec:
    return ToneCodec("v2")


def _arrays(t_s=4):
    return {
        "semantic_vocals": np.arange(t_s),
        "semantic_accomp": np.arange(t_s),
        "acoustic_accomp": np.zeros((8, t_s * 3 // 2)),
        "onset_vocals": np.zeros(t_s),
    }


def test_shard_round_trip(tmp_path):
    path = tmp_path / "train" / "a.npz"
    shards.save_shard(path, _arrays(), {"codec_id": "c", "semantic_id": "s", "source_sha256": "x"})
    loaded = shards.load_shard(path)
    assert loaded["acoustic_accomp"].shape == (8, 6) and loaded["semantic_vocals"].dtype == np.int16
    assert shards.read_meta(path)["version"] == shards.SHARD_VERSION


def test_shard_without_onsets_is_refused(tmp_path):
    arrays = _arrays()
    del arrays["onset_vocals"]
    with pytest.raises(HafmError, match="lacks \\['onset_vocals'\\]"):
        shards.save_shard(tmp_path / "a.npz", arrays, {})


def test_onset_stream_of_another_length_is_refused(tmp_path):
    with pytest.raises(HafmError, match="onset_vocals"):
        shards.save_shard(tmp_path / "a.npz", {**_arrays(4), "onset_vocals": np.zeros(5)}, {})


def test_misaligned_shard_is_refused(tmp_path):
    bad = {**_arrays(4), "acoustic_accomp": np.zeros((8, 5))}
    with pytest.raises(HafmError, match="T_a = 5 but T_s = 4"):
        shards.save_shard(tmp_path / "a.npz", bad, {})


def test_list_shards_detects_stale_ids(tmp_path):
    shards.save_shard(tmp_path / "train" / "a.npz", _arrays(), {"codec_id": "old", "semantic_id": "s"})
    assert len(shards.list_shards(tmp_path, "train")) == 1
    with pytest.raises(StaleCacheError, match="codec_id 'old'"):
        shards.list_shards(tmp_path, "train", codec_id="new")


def test_not_a_shard_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", foo=np.zeros(3))
    with pytest.raises(HafmError, match="not a token shard"):
        shards.load_shard(tmp_path / "x.npz")


@pytest.mark.parametrize("n", [1, 959, 960, 24_001])
def test_tokenize_pair_follows_the_40ms_rule(n):
    rng = np.random.default_rng(0)
    v, a = rng.standard_normal((2, n)).astype(np.float32) * 0.1
    out = tokenize_pair(v, a, 24_000, codec_v1(), EnergySemantic())
    t_s = out["semantic_vocals"].shape[0]
    assert t_s == 2 * -(-n // 960) and out["acoustic_accomp"].shape == (8, t_s * 3 // 2)


def test_tokenize_pair_refuses_wrong_codec_length():
    class ShortCodec(ToneCodec):
        def encode(self, wav):
            return super().encode(wav)[..., :-1]

    with pytest.raises(HafmError, match="codec fake-codec-v1 returned codes"):
        tokenize_pair(np.ones(960, np.float32), np.ones(960, np.float32), 24_000, ShortCodec("v1"), EnergySemantic())


def test_build_shards_writes_one_shard_per_track(hq_tree, tmp_path):
    out = tmp_path / "shards"
    index = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    assert index["counts"] == {"built": 3, "stale": 0, "recoded": 0, "fresh": 0}
    assert [p.name for p in shards.list_shards(out, "train")] == ["A - one.npz", "B - two.npz"]
    shard = shards.load_shard(out / "test" / "C - three.npz")
    assert shard["semantic_vocals"].shape == (100,) and shard["acoustic_accomp"].shape == (8, 150)
    assert json.loads((out / "index.json").read_text())["codec_id"] == "fake-codec-v1"


def test_build_shards_resumes_and_rebuilds_stale(hq_tree, tmp_path):
    out = tmp_path / "shards"
    build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    again = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    assert again["counts"] == {"built": 0, "stale": 0, "recoded": 0, "fresh": 3} and again["throughput"] is None
    before = shards.load_shard(out / "train" / "A - one.npz")
    new = build_shards(hq_tree, out, codec_v2, EnergySemantic, workers=1, progress=False)
    # only the codec changed: the semantic tokens are kept and the accompaniment is encoded again
    assert new["counts"]["recoded"] == 3
    assert shards.read_meta(out / "train" / "A - one.npz")["codec_id"] == "fake-codec-v2"
    after = shards.load_shard(out / "train" / "A - one.npz")
    assert np.array_equal(before["semantic_vocals"], after["semantic_vocals"])


def _as_version_1(path):
    """Rewrite a shard as shard version 1 wrote it: no onset stream, no onset id."""
    arrays = {k: v for k, v in shards.load_shard(path).items() if k != "onset_vocals"}
    meta = {k: v for k, v in shards.read_meta(path).items() if k != "onset_id"}
    np.savez(path, **arrays, meta=np.array(json.dumps({**meta, "version": 1})))


def test_version_1_shards_gain_onsets_and_keep_their_tokens(hq_tree, tmp_path, monkeypatch):
    out = tmp_path / "shards"
    build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    path = out / "train" / "A - one.npz"
    before = shards.load_shard(path)
    _as_version_1(path)
    monkeypatch.setattr(ToneCodec, "encode", lambda *a: pytest.fail("the codes were encoded again"))
    monkeypatch.setattr(EnergySemantic, "encode", lambda *a: pytest.fail("the semantic tokens were made again"))
    again = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    assert again["counts"] == {"built": 0, "stale": 0, "recoded": 1, "fresh": 2}
    after = shards.load_shard(path)
    assert all(np.array_equal(before[k], after[k]) for k in shards.ARRAYS)
    assert shards.read_meta(path)["version"] == shards.SHARD_VERSION


def test_other_onset_detector_rebuilds_the_onsets(hq_tree, tmp_path, monkeypatch):
    from hafm.data import tokenize

    out = tmp_path / "shards"
    build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    monkeypatch.setattr(tokenize, "ONSET_ID", "other-detector")
    again = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    assert again["counts"]["recoded"] == 3
    assert shards.read_meta(out / "test" / "C - three.npz")["onset_id"] == "other-detector"


def test_changed_source_audio_rebuilds_that_shard(hq_tree, hq_writer, tmp_path):
    out = tmp_path / "shards"
    build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    hq_writer(hq_tree / "train" / "A - one", 1.0, base_freq=500.0)
    again = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=1, progress=False)
    assert again["counts"] == {"built": 0, "stale": 1, "recoded": 0, "fresh": 2}


@pytest.mark.slow
def test_build_shards_in_two_worker_processes(hq_tree, tmp_path):
    out = tmp_path / "shards"
    index = build_shards(hq_tree, out, codec_v1, EnergySemantic, workers=2, progress=False)
    single = build_shards(hq_tree, tmp_path / "one", codec_v1, EnergySemantic, workers=1, progress=False)
    assert index["counts"]["built"] == 3
    a = shards.load_shard(out / "train" / "B - two.npz")
    b = shards.load_shard(tmp_path / "one" / "train" / "B - two.npz")
    assert all(np.array_equal(a[k], b[k]) for k in shards.ARRAYS) and single["counts"]["built"] == 3


def _missing_weights():
    from hafm.errors import MissingWeightsError

    raise MissingWeightsError("codec weights not found: expected /nowhere/codec.safetensors")


def test_missing_tokenizer_weights_fail_fast(hq_tree, tmp_path):
    from hafm.errors import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="/nowhere/codec.safetensors"):
        build_shards(hq_tree, tmp_path / "s", _missing_weights, EnergySemantic, workers=2, progress=False)
    assert not (tmp_path / "s").exists()


def test_tokenize_command_reports_counts(hq_tree, tmp_path, monkeypatch, capsys):
    from hafm.cli import main

    use_stand_in_tokenizers(monkeypatch)
    args = ["tokenize", "--root", str(hq_tree), "--out", str(tmp_path / "s"), "--workers", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 shards" in out and "3 built" in out and "s of audio per second" in out


@pytest.mark.slow
def test_tokenize_command_reads_a_stem_mp4_tree(stems_tree, tmp_path, monkeypatch):
    from hafm.cli import main

    use_stand_in_tokenizers(monkeypatch)
    assert main(["tokenize", "--root", str(stems_tree), "--out", str(tmp_path / "s"), "--workers", "1"]) == 0
    shard = shards.load_shard(tmp_path / "s" / "test" / "song test.npz")
    t_s = shard["semantic_vocals"].shape[0]  # 2 s: 100 frames, plus what AAC's padding adds
    assert 100 <= t_s <= 102 and shard["acoustic_accomp"].shape == (8, t_s * 3 // 2)
