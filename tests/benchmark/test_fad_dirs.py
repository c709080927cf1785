"""FAD between folders (benchmark.fad_dirs and ``python -m benchmark fad``) on generated folders whose
answer is known: identical folders, the same audio as stereo 44.1 kHz and mono 16 kHz, unrelated audio."""

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.cli import main as benchmark_main
from benchmark.fad_dirs import FadDirsWarning, audio_files, embed_folder, fad_dirs
from hafm.audio import resample
from hafm.errors import HafmError

SONGS = 20
SECONDS = 8.0  # 11 musicnn windows per song: 220 frames per folder (> 200 dimensions)


def song(seed: int, sr: int, seconds: float = SECONDS) -> np.ndarray:
    """A seeded melody of harmonic notes over a drone: a different key, tempo and timbre per seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    beat = rng.uniform(0.25, 0.6)
    pitches = 48 + rng.integers(0, 24) + np.array([0, 4, 7, 12, 7, 4])[rng.permutation(6)]
    f0 = 440.0 * 2 ** ((pitches[(t // beat).astype(int) % len(pitches)] - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    brightness = rng.uniform(0.2, 0.8)
    melody = sum(brightness ** k * np.sin(k * phase) for k in range(1, 6)) * np.exp(-(t % beat) / 0.2)
    drone = 0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((pitches[0] - 81) / 12) * t)
    return (0.2 * (melody + drone)).astype(np.float32)


def noise_song(seed: int, sr: int, seconds: float = SECONDS) -> np.ndarray:
    """Unrelated audio: bursts of white noise."""
    rng = np.random.default_rng(1000 + seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.2 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 1.5 * t) > 0)).astype(np.float32)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """ref: mono 16 kHz; stereo: the same songs at 44.1 kHz, L = 1.1 x and R = 0.9 x (downmix = x);
    noise: unrelated audio. All share one embedding cache."""
    root = tmp_path_factory.mktemp("fad_dirs")
    for name in ("ref", "stereo", "noise"):
        (root / name).mkdir()
    for i in range(SONGS):
        x = song(i, 44_100)
        sf.write(root / "stereo" / f"song{i:02d}.flac", np.stack([1.1 * x, 0.9 * x], axis=1), 44_100,
                 subtype="PCM_24")
        mono = resample(x, 44_100, 16_000)
        sf.write(root / "ref" / f"song{i:02d}.wav", mono, 16_000, subtype="FLOAT")
        sf.write(root / "noise" / f"song{i:02d}.wav", noise_song(i, 16_000), 16_000, subtype="FLOAT")
    return root


def _fad(folders, ref, other, **kw):
    kw.setdefault("n_resamples", 200)
    return fad_dirs(folders / ref, folders / other, "musicnn", cache_dir=folders / "cache", **kw)


@pytest.mark.slow
def test_identical_folders_give_zero_inside_their_ci(folders):
    result = _fad(folders, "ref", "ref")
    assert abs(result.fad.value) < 1e-6
    assert result.fad.ci_low <= result.fad.value <= result.fad.ci_high
    assert result.fad.n == SONGS and result.fad.n_frames == SONGS * 11 and result.dim == 200


@pytest.mark.slow
def test_stereo_44k_and_mono_16k_of_the_same_audio_sit_below_the_floor_and_noise_far_above(folders):
    same = _fad(folders, "ref", "stereo")
    noise = _fad(folders, "ref", "noise")
    assert same.floor is not None and same.floor.value == noise.floor.value  # the reference's own spread
    assert same.fad.value < same.floor.value < noise.fad.value
    assert same.fad.ci_low <= same.fad.value <= same.fad.ci_high


@pytest.mark.slow
def test_cli_prints_json_and_writes_per_song_csv(folders, tmp_path, capsys):
    csv = tmp_path / "per_song.csv"
    code = benchmark_main(["fad", str(folders / "ref"), str(folders / "stereo"), "--json", "--bootstrap", "50",
                           "--per-song", str(csv), "--cache", str(folders / "cache")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "musicnn" and result["fad"]["n"] == SONGS and result["fad"]["n_resamples"] == 50
    assert result["fad"]["ci_low"] <= result["fad"]["value"] <= result["fad"]["ci_high"]
    rows = csv.read_text().splitlines()
    assert rows[0] == "song,fad" and [r.split(",")[0] for r in rows[1:]] == sorted(result["per_song"])


class StatsBackend:
    """A cheap stand-in backend: per 0.1 s frame, level and zero-crossing statistics [n, 3]; counts calls."""

    name = "stats"
    fingerprint = "5" * 64

    def __init__(self):
        self.calls = 0

    def embed(self, wav, sr):
        self.calls += 1
        x = np.asarray(wav, dtype=np.float64)
        hop = sr // 10
        frames = x[: len(x) // hop * hop].reshape(-1, hop)
        crossings = np.mean(np.abs(np.diff(np.sign(frames), axis=1)), axis=1)
        return np.stack([frames.std(axis=1), np.abs(frames).max(axis=1), crossings], axis=1).astype(np.float32)


@pytest.fixture
def small_folders(tmp_path):
    """Three stereo 44.1 kHz songs against five mono 16 kHz ones (1 s each)."""
    for i in range(3):
        x = song(i, 44_100, seconds=1.0)
        (tmp_path / "eval" / "sub").mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / "eval" / "sub" / f"s{i}.wav", np.stack([x, 0.5 * x], axis=1), 44_100)
    (tmp_path / "ref").mkdir()
    for i in range(5):
        sf.write(tmp_path / "ref" / f"r{i}.ogg", song(10 + i, 16_000, seconds=1.0), 16_000)
    (tmp_path / "ref" / "notes.txt").write_text("not audio")
    return tmp_path


def test_audio_files_are_found_recursively_by_extension(small_folders):
    assert list(audio_files(small_folders / "eval")) == ["sub/s0.wav", "sub/s1.wav", "sub/s2.wav"]
    assert len(audio_files(small_folders / "ref")) == 5  # notes.txt skipped


def test_a_folder_without_audio_is_refused(tmp_path):
    with pytest.raises(HafmError, match="no audio files"):
        audio_files(tmp_path)


def test_each_channel_gives_frames_of_the_same_song(small_folders):
    backend = StatsBackend()
    downmix = embed_folder(small_folders / "eval", backend, channels="downmix")
    each = embed_folder(small_folders / "eval", backend, channels="each")
    assert [len(f) for f in each.values()] == [2 * len(f) for f in downmix.values()]


def test_few_songs_and_frames_are_warned_about(small_folders):
    with pytest.warns(FadDirsWarning, match="only 3 eval songs"):
        result = fad_dirs(small_folders / "ref", small_folders / "eval", StatsBackend(), use_cache=False,
                          n_resamples=50)
    assert result.fad.n == 3 and result.floor is not None and result.reference_songs == 5
    assert any("only 3 eval songs" in w for w in result.warnings)


def test_second_run_reads_the_embedding_cache(small_folders):
    backend = StatsBackend()
    kw = dict(cache_dir=small_folders / "cache", n_resamples=0)
    first = fad_dirs(small_folders / "ref", small_folders / "eval", backend, **kw)
    calls = backend.calls
    second = fad_dirs(small_folders / "ref", small_folders / "eval", backend, **kw)
    assert calls == 8 and backend.calls == calls and second.fad.value == first.fad.value


def test_no_bootstrap_gives_the_value_without_ci_and_json_null(small_folders):
    result = fad_dirs(small_folders / "ref", small_folders / "eval", StatsBackend(), use_cache=False,
                      n_resamples=0)
    assert result.warnings == () and math.isnan(result.fad.ci_low) and result.fad.value > 0
    assert json.loads(json.dumps(result.to_dict()))["fad"]["ci_low"] is None


def test_weights_for_a_wheel_backend_are_refused_in_one_line(small_folders, capsys):
    code = benchmark_main(["fad", str(small_folders / "ref"), str(small_folders / "eval"), "--weights", "x.pth"])
    err = capsys.readouterr().err
    assert code == 2 and "reads its weights from its wheel" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_backend_is_refused_in_one_line_naming_the_registered_ones(small_folders, capsys):
    code = benchmark_main(["fad", str(small_folders / "ref"), str(small_folders / "eval"), "--backend", "openl3"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown embedding backend 'openl3'" in err and "musicnn_vgg" in err


def test_an_absent_or_malformed_device_is_refused_in_one_line(small_folders, capsys):
    bad = "cuda" if not torch.cuda.is_available() else "nonsense"
    code = benchmark_main(["fad", str(small_folders / "ref"), str(small_folders / "eval"), "--device", bad])
    err = capsys.readouterr().err
    assert code == 2 and f"device {bad!r}" in err and len(err.strip().splitlines()) == 1
