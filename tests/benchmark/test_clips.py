import numpy as np

from benchmark.clips import Clip, load_manifest, save_manifest, select_clips, vocal_activity

SR = 8_000


def _vocals_with_gap():
    """30 s: voice for 0-12 s, silence 12-20 s, voice 20-30 s."""
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(30 * SR).astype(np.float32)
    x[12 * SR : 20 * SR] = 0
    return x


def test_activity_marks_silence_inactive():
    act = vocal_activity(_vocals_with_gap(), SR, activity_db=30)
    assert act[:200].all() and not act[260:380].any()


def _select(seed, count=3):
    return select_clips("t", "test", _vocals_with_gap(), SR, clip_seconds=5, count=count,
                        min_active=0.9, activity_db=30, rng=np.random.default_rng(seed))


def test_clips_avoid_silence_and_do_not_overlap():
    clips = _select(0)
    assert len(clips) == 3
    for c in clips:
        assert not (c.start < 20 and c.start + c.duration > 12.5)
    starts = [c.start for c in clips]
    assert all(b - a >= 5 for a, b in zip(starts, starts[1:]))


def test_selection_is_deterministic_for_a_seed():
    assert _select(7) == _select(7)


def test_manifest_round_trip(tmp_path):
    clips = [Clip("a", "test", 1.0, 10.0), Clip("b", "test", 0.0, 10.0)]
    save_manifest(tmp_path / "clips.json", clips, {"seed": 0})
    assert load_manifest(tmp_path / "clips.json") == (clips, {"seed": 0})
