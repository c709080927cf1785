"""``build-stimuli``: loudness-matched vocal + accompaniment mixes and their manifest.

Two source layouts are recognised (auto-detected):

* item-first (any folder): ``SOURCE/ITEM/vocals.wav`` + ``SOURCE/ITEM/SYSTEM.wav``
* system-first (a benchmark run's output): ``SOURCE/vocals/ITEM.wav`` + ``SOURCE/SYSTEM/ITEM.wav``

Audio is read, resampled, measured and written by ``hafm.audio`` (soxr resampling, BS.1770
loudness by pyloudnorm, atomic soundfile writes); arrays here are ``[n, channels]``, soundfile's
layout, and are transposed to ``hafm.audio``'s ``[channels, n]`` at each call.

Loudness (ITU-R BS.1770): every accompaniment is first set to the vocal's
loudness plus ``accomp_offset_db`` (the vocal itself is never changed), the two are summed, and
every mix is then normalised to one study-wide loudness, ``target_lufs`` or lower if a mix would
otherwise peak above ``PEAK_LIMIT`` (peaks are never clipped). All stimuli of an item are cut to
the same length, at most ``max_seconds``.

Sample rate and channels are kept from the sources (the highest rate and the most channels, when
they differ) unless ``sample_rate``/``channels`` ask for others; ``output_format`` decides and
reports every conversion on stderr.

Catch stimuli, built from ``catch_base`` (ground truth unless named; without one it must be
named): the accompaniment shifted off the beat (half a beat from librosa's tempo estimate, or
``offbeat_shift_s``), the
accompaniment transposed by ``transpose_semitones``, and ``catch_identical``: the base mix again,
equal in sound but not in bytes, so a script cannot spot the "identical" trial by comparing files.
It is delayed by ``IDENTICAL_DELAY_SAMPLES`` (42 us at 24 kHz, 23 us at 44.1 kHz, far below any
audible timing difference between two clips heard one after the other) and carries its own dither.

Every stimulus is quantised to 16 bits with TPDF dither (+-1 LSB, about -96 dBFS; seeded by item
and stimulus, so builds are reproducible).
"""

from __future__ import annotations

import datetime as dt
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from hafm import audio
from hafm.errors import AudioError
from hafm.fileio import atomic_write_json, atomic_write_text, sha256_file

from .manifest import (
    CATCH_IDENTICAL,
    CATCH_OFFBEAT,
    CATCH_STIMULI,
    CATCH_TRANSPOSED,
    FORMAT,
    SYSTEM_NAME,
)
from .study_file import PAPER_PAIRS, AudioConfig, StudyConfig, study_to_toml

PEAK_LIMIT = 0.98
SILENT_LUFS = -70.0
MIN_SECONDS = 0.5  # BS.1770 gating needs 400 ms blocks
IDENTICAL_DELAY_SAMPLES = 1
CHANNEL_COUNT = {"mono": 1, "stereo": 2}


@dataclass
class BuildOptions:
    sample_rate: int = 0  # Hz; 0 = the sources' rate (the highest, if they differ)
    channels: str = "keep"  # "keep" (the most any source has), "mono" or "stereo"
    target_lufs: float = -23.0  # EBU R128
    accomp_offset_db: float = 0.0  # accompaniment loudness relative to the vocal
    max_seconds: float = 30.0
    catch_base: str = ""  # "" = ground_truth; required when there is none
    offbeat_shift_s: float = 0.0  # 0 = half a beat (0.25 s when the tempo is unknown)
    transpose_semitones: float = 1.0


def read_audio(path: Path, sample_rate: int, channels: int) -> np.ndarray:
    """Read any soundfile-readable file as float32 ``[n, channels]`` at ``sample_rate`` Hz (mono
    is the mean of the channels, stereo from mono repeats it); refuse bad audio. Silence is read:
    a system that output silence is judged as such, and a silent vocal is refused by its loudness."""
    x, _ = audio.read(path, sr=sample_rate, mono=False, max_seconds=None, allow_silent=True)
    if x.shape[0] != channels:
        x = np.repeat(audio.downmix(x), channels, axis=0)
    return x.T


def output_format(files: list[Path], opts: BuildOptions) -> tuple[int, str]:
    """The study's sample rate and channel layout ("mono"/"stereo"): as ``opts`` asks, else kept
    from the sources (the highest rate, the most channels). Every conversion it implies is
    reported on stderr."""
    info = {}
    for path in files:
        try:
            i = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            raise AudioError(f"{path}: unreadable audio ({e})") from e
        info[path] = (int(i.samplerate), int(i.channels))
    sr = opts.sample_rate or max(r for r, _ in info.values())
    channels = CHANNEL_COUNT.get(opts.channels) or max(c for _, c in info.values())
    if channels > 2:
        raise AudioError(f"{max(info, key=lambda p: info[p][1])}: {channels} channels; a study plays mono "
                         "or stereo: set [audio] channels = \"mono\" or \"stereo\" in the study file")
    changed = sorted({v for v in info.values() if v != (sr, channels)})
    if changed:
        found = ", ".join(f"{r} Hz {_layout(c)}" for r, c in changed)
        print(f"build-stimuli: converting sources ({found}) to {sr} Hz {_layout(channels)} "
              f"(audio.sample_rate = {opts.sample_rate}, audio.channels = {opts.channels!r})", file=sys.stderr)
    return sr, _layout(channels)


def _layout(channels: int) -> str:
    return {n: name for name, n in CHANNEL_COUNT.items()}.get(channels, f"{channels}-channel")


def _gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def dither_rng(item_index: int, stimulus: str) -> np.random.Generator:
    """The dither noise of one stimulus: the same on every build, different between stimuli."""
    return np.random.default_rng([item_index, zlib.crc32(stimulus.encode())])


def pcm16_dithered(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` (float, full scale 1.0) as int16 with triangular (TPDF) dither of +-1 LSB."""
    tpdf = rng.random(x.shape) - rng.random(x.shape)
    return np.clip(np.round(x * 32768.0 + tpdf), -32768, 32767).astype(np.int16)


def delayed(x: np.ndarray, samples: int) -> np.ndarray:
    """``x`` later by ``samples`` (silence in front), same length."""
    return np.concatenate([np.zeros((samples, *x.shape[1:]), x.dtype), x[: len(x) - samples]])


def discover(source: Path) -> dict[str, dict[str, Path]]:
    """Map item id -> {"vocals": path, system: path} for either source layout."""
    source = Path(source)
    if not source.is_dir():
        raise AudioError(f"{source}: not a folder")
    table: dict[str, dict[str, Path]] = {}
    if (source / "vocals").is_dir():
        for sys_dir in sorted(p for p in source.iterdir() if p.is_dir()):
            for wav in sorted(sys_dir.glob("*.wav")):
                table.setdefault(wav.stem, {})[sys_dir.name] = wav
    else:
        for item_dir in sorted(p for p in source.iterdir() if p.is_dir()):
            for wav in sorted(item_dir.glob("*.wav")):
                table.setdefault(item_dir.name, {})[wav.stem] = wav
    table = {k: v for k, v in table.items() if "vocals" in v}
    if not table:
        raise AudioError(f"{source}: no ITEM/vocals.wav (or vocals/ITEM.wav) found")
    return table


def common_systems(table: dict[str, dict[str, Path]]) -> list[str]:
    systems = set.intersection(*(set(v) - {"vocals"} for v in table.values()))
    every = set().union(*(set(v) - {"vocals"} for v in table.values()))
    if every - systems:
        print(f"build-stimuli: systems missing for some items, left out: {sorted(every - systems)}", file=sys.stderr)
    bad = [s for s in systems if not SYSTEM_NAME.fullmatch(s) or s in CATCH_STIMULI]
    if bad:
        raise AudioError(f"system names {bad} are not allowed (letters, digits, _ . -; not {CATCH_STIMULI})")
    if not systems:
        raise AudioError("no accompaniment system is present for every item")
    return sorted(systems)


def half_beat_seconds(x: np.ndarray, sample_rate: int) -> float:
    """Half a beat of the estimated tempo of ``[n, channels]`` audio; 0.25 s when the clip is too
    short or has no beat."""
    if len(x) < 5 * sample_rate:
        return 0.25
    import librosa

    tempo = float(np.atleast_1d(librosa.beat.beat_track(y=x.mean(axis=1), sr=sample_rate)[0])[0])
    return 30.0 / tempo if 40.0 <= tempo <= 240.0 else 0.25


def transpose(x: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    import librosa

    return librosa.effects.pitch_shift(x.T, sr=sample_rate, n_steps=semitones).T.astype(np.float32)


def _match(acc: np.ndarray, vocal_lufs: float, opts: BuildOptions, sr: int) -> np.ndarray:
    level = audio.loudness(acc.T, sr)
    if level < SILENT_LUFS:  # a silent output stays silent: that is what the system produced
        return acc
    return acc * _gain(vocal_lufs + opts.accomp_offset_db - level)


def read_item(
    files: dict[str, Path], systems: list[str], opts: BuildOptions
) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """The vocal and each system's accompaniment of one item, cut to a common length (at
    ``opts.sample_rate`` with ``opts.channels``, already resolved by ``output_format``), and the
    vocal's loudness in LUFS; every refusal happens here."""
    sr, ch = opts.sample_rate, CHANNEL_COUNT[opts.channels]
    vocal = read_audio(files["vocals"], sr, ch)
    accs = {s: read_audio(files[s], sr, ch) for s in systems}
    lengths = {"vocals": len(vocal), **{s: len(a) for s, a in accs.items()}}
    shortest = min(lengths, key=lengths.get)
    if lengths[shortest] < MIN_SECONDS * sr:
        raise AudioError(f"{files[shortest]}: {lengths[shortest] / sr:.3f} s of audio, "
                         f"shorter than the {MIN_SECONDS} s a stimulus needs")
    n = min(lengths[shortest], int(opts.max_seconds * sr))
    v_lufs = audio.loudness(vocal[:n].T, sr)
    if v_lufs < SILENT_LUFS:
        raise AudioError(f"{files['vocals']}: the vocal is silent")
    return vocal[:n], {s: a[:n] for s, a in accs.items()}, v_lufs


def item_mixes(
    files: dict[str, Path], systems: list[str], opts: BuildOptions
) -> tuple[dict[str, np.ndarray], float]:
    """Un-normalised mixes of one item (every system plus the two catch stimuli, equal lengths)
    and the off-beat shift used, in seconds."""
    sr = opts.sample_rate
    vocal, accs, v_lufs = read_item(files, systems, opts)
    accs = {s: _match(a, v_lufs, opts, sr) for s, a in accs.items()}
    mixes = {s: vocal + a for s, a in accs.items()}
    base = accs[opts.catch_base]
    shift = opts.offbeat_shift_s or half_beat_seconds(base, sr)
    mixes[CATCH_OFFBEAT] = vocal + np.roll(base, round(shift * sr), axis=0)
    mixes[CATCH_TRANSPOSED] = vocal + _match(transpose(base, sr, opts.transpose_semitones), v_lufs, opts, sr)
    return mixes, shift


def default_pairs(systems: list[str]) -> list[tuple[str, str]]:
    """The paper's pairs that these systems allow; otherwise every pair of systems."""
    pairs = [p for p in PAPER_PAIRS if set(p) <= set(systems)]
    return pairs or [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]


Stats = dict[tuple[int, str], tuple[float, float]]  # (item index, stimulus) -> (LUFS, peak)


def _mix_pass(table: dict, items: list[str], systems: list[str], opts: BuildOptions, out: Path) -> tuple[Stats, list]:
    """Write every un-normalised mix as float WAV; return loudness/peak stats and per-item
    (duration s, off-beat shift s)."""
    from tqdm import tqdm

    stats: Stats = {}
    per_item = []
    for k, item in enumerate(tqdm(items, desc="mixing", unit="item")):
        mixes, shift = item_mixes(table[item], systems, opts)
        for name, mix in mixes.items():
            audio.write(out / "mixes" / f"{k:03d}" / f"{name}.wav", mix.T, opts.sample_rate, subtype="FLOAT")
            stats[(k, name)] = (audio.loudness(mix.T, opts.sample_rate), float(np.abs(mix).max()))
        per_item.append((len(mixes[systems[0]]) / opts.sample_rate, shift))
    return stats, per_item


def _write_stimulus(x: np.ndarray, k: int, name: str, sr: int, out: Path, target: float) -> dict:
    """Write one normalised stimulus as dithered 16-bit WAV; return its manifest entry."""
    path = out / "mixes" / f"{k:03d}" / f"{name}.wav"
    audio.write(path, pcm16_dithered(x, dither_rng(k, name)).T, sr)
    return {"path": str(path.relative_to(out)), "sha256": sha256_file(path), "duration_s": len(x) / sr,
            "loudness_lufs": round(target, 2), "peak": round(float(np.abs(x).max()), 4)}


def _normalise_pass(table: dict, items: list[str], stats: Stats, per_item: list, target: float, sr: int,
                    base: str, out: Path) -> list[dict]:
    """Rescale every mix to ``target`` LUFS as 16-bit WAV, add the identical catch copy of
    ``base``; return the manifest's item entries."""
    entries = []
    for k, item in enumerate(items):
        stimuli = {}
        for (kk, name), (lufs, _peak) in stats.items():
            if kk != k:
                continue
            mix, _ = audio.read(out / "mixes" / f"{k:03d}" / f"{name}.wav", mono=False, max_seconds=None,
                                allow_silent=True)
            x = mix.T * _gain(target - lufs)
            stimuli[name] = _write_stimulus(x, k, name, sr, out, target)
            if name == base:
                copy = delayed(x, IDENTICAL_DELAY_SAMPLES)
                stimuli[CATCH_IDENTICAL] = _write_stimulus(copy, k, CATCH_IDENTICAL, sr, out, target)
        entries.append({"id": item, "duration_s": per_item[k][0], "vocals_sha256": sha256_file(table[item]["vocals"]),
                        "offbeat_shift_s": round(per_item[k][1], 4), "stimuli": stimuli})
    return entries


def _write_calibration(vocal: Path, target: float, opts: BuildOptions, out: Path) -> dict:
    """The volume-check clip: the first vocal alone (at most 5 s) at the study's loudness."""
    sr = opts.sample_rate
    calib = read_audio(vocal, sr, CHANNEL_COUNT[opts.channels])[: int(min(opts.max_seconds, 5.0) * sr)]
    gain = min(_gain(target - audio.loudness(calib.T, sr)), PEAK_LIMIT / float(np.abs(calib).max()))
    audio.write(out / "calibration.wav", (calib * gain).T, sr)
    return {"path": "calibration.wav", "sha256": sha256_file(out / "calibration.wav"), "duration_s": len(calib) / sr}


def build_stimuli(source: Path, out: Path, opts: BuildOptions, study: StudyConfig | None = None) -> Path:
    """Write ``out/mixes/...``, ``out/calibration.wav``, ``out/manifest.json`` and, unless one
    exists, ``out/study.toml`` (from ``study``, keeping its pairs when every named system was
    built, else the paper's pairs these systems allow). Returns the manifest path. The manifest
    is written last, so an interrupted build never leaves a manifest pointing at missing or
    half-made files."""
    source, out = Path(source).resolve(), Path(out).resolve()
    table = discover(source)
    systems = common_systems(table)
    opts = resolved_options(opts, table, systems)
    items = sorted(table)
    # Every input is checked before anything is written: a bad file must not leave a study that is
    # already built (and perhaps being served) with mixes that no longer match its manifest.
    for item in items:
        read_item(table[item], systems, opts)
    stats, per_item = _mix_pass(table, items, systems, opts, out)
    # One study-wide level: the target, or lower if any mix would peak over the limit.
    headroom = min(20 * np.log10(PEAK_LIMIT / peak) + lufs for lufs, peak in stats.values())
    target = float(min(opts.target_lufs, headroom))
    if target < opts.target_lufs:
        print(f"build-stimuli: target lowered to {target:.1f} LUFS to keep peaks under {PEAK_LIMIT}", file=sys.stderr)
    manifest = {
        "format": FORMAT,
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": str(source),
        "sample_rate": opts.sample_rate,
        "channels": CHANNEL_COUNT[opts.channels],
        "target_lufs": round(target, 2),
        "systems": systems,
        "catch": {"base_system": opts.catch_base, "transpose_semitones": opts.transpose_semitones},
        "calibration": _write_calibration(table[items[0]]["vocals"], target, opts, out),
        "items": _normalise_pass(table, items, stats, per_item, target, opts.sample_rate, opts.catch_base, out),
    }
    atomic_write_json(out / "manifest.json", manifest)
    if not (out / "study.toml").exists():
        _write_study(out / "study.toml", study or StudyConfig(), systems, opts)
    return out / "manifest.json"


def resolved_options(opts: BuildOptions, table: dict[str, dict[str, Path]], systems: list[str]) -> BuildOptions:
    """``opts`` with the catch base system, the sample rate and the channel layout decided."""
    if opts.channels not in ("keep", *CHANNEL_COUNT):
        raise ValueError(f"channels must be 'keep', 'mono' or 'stereo', not {opts.channels!r}")
    base = opts.catch_base or ("ground_truth" if "ground_truth" in systems else "")
    if not base:
        raise AudioError(f"no ground_truth among the systems {systems}: name the system the catch trials are "
                         "made from ([catch] base_system in the study file, or --catch-base)")
    if base not in systems:
        raise AudioError(f"catch base system {base!r} is not among {systems}")
    files = [files[name] for files in table.values() for name in ("vocals", *systems)]
    sample_rate, channels = output_format(files, opts)
    return replace(opts, catch_base=base, sample_rate=sample_rate, channels=channels)


def _write_study(path: Path, study: StudyConfig, systems: list[str], opts: BuildOptions) -> None:
    """The study file of a build: ``study`` with the pairs these systems allow (its own when every
    named system was built, else the paper's) and the audio format and catch base actually used."""
    study = replace(study, manifest="manifest.json", audio=AudioConfig(opts.sample_rate, opts.channels),
                    catch=replace(study.catch, base_system=opts.catch_base))
    if not all(set(p) <= set(systems) for p in study.pairs):
        study.pairs = default_pairs(systems)
    atomic_write_text(path, study_to_toml(study))
