"""``hafm data check``: validate a MUSDB18 / MUSDB18-HQ tree as ``musdb`` sees it.

Reports tracks per subset, sample rates, total duration, and per-track problems: missing stems,
stems whose sample rate or length differ from the mixture. By default only headers are read (musdb
reads them with ffprobe), so checking the whole chorale corpus takes about a minute, not a decode.
``deep=True`` also decodes every stem and reports the ones the data pipeline would refuse: NaN/inf
samples, empty stems, and silent vocals (``hafm.audio.check``; the other stems may be silent, as
the chorale corpus's drums are).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hafm.data.musdb_io import SOURCES, SUBSETS, detect_is_wav, open_db, read_source
from hafm.errors import AudioError


@dataclass
class CheckReport:
    """What ``check_tree`` found; ``ok`` is False when any track has a problem or none exists."""

    root: str
    is_wav: bool
    deep: bool = False  # every stem was decoded, not just its header read
    tracks: dict[str, int] = field(default_factory=dict)  # subset -> number of tracks
    sample_rates: set[int] = field(default_factory=set)
    channels: set[int] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)  # subset -> total duration
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and sum(self.tracks.values()) > 0


def _source_header(track, source) -> tuple[int, int, int]:
    """``(sample rate Hz, samples, channels)`` of one stem, read from headers only.

    musdb itself decodes every wav stem with the *mixture's* header, so a stem at another rate
    or channel count would be misread silently: this is why each stem is checked on its own.
    """
    if track.is_wav:
        import soundfile as sf

        info = sf.info(source.path)
        return int(info.samplerate), int(info.frames), int(info.channels)
    info = track.info
    if source.stem_id >= info.nb_audio_streams:
        raise ValueError(f"stream {source.stem_id} absent ({info.nb_audio_streams} streams)")
    return int(info.rate(source.stem_id)), int(info.samples(source.stem_id)), int(info.channels(source.stem_id))


def _decode_problem(track, name: str) -> str | None:
    """Why stem ``name`` of ``track`` is unusable once decoded (None when it is fine)."""
    from hafm.audio import check

    where = f"{track.subset}/{track.name}: {name}"
    try:
        wav = read_source(track, name)
    except AudioError as err:
        return f"{where}: {err}"
    except (RuntimeError, ValueError, OSError) as err:  # ffmpeg/stempeg failures on .stem.mp4
        return f"{where}: undecodable ({err})"
    try:
        check(wav, where, max_seconds=None, allow_silent=name != "vocals")
    except AudioError as err:
        return str(err)
    return None


def _track_problems(track, deep: bool = False) -> list[str]:
    where = f"{track.subset}/{track.name}"
    problems = []
    missing = [s for s in SOURCES if s not in track.sources]
    if missing:
        problems.append(f"{where}: missing stems {missing}")
    mix = (int(track.rate), int(track.samples), int(track.info.channels(track.stem_id)))
    for name, source in track.sources.items():
        try:
            rate, samples, channels = _source_header(track, source)
        except (RuntimeError, ValueError) as err:
            problems.append(f"{where}: {name} unreadable ({err})")
            continue
        if rate != mix[0]:
            problems.append(f"{where}: {name} at {rate} Hz, mixture at {mix[0]} Hz")
        if samples != mix[1]:
            problems.append(f"{where}: {name} has {samples} samples, mixture {mix[1]}")
        if channels != mix[2]:
            problems.append(f"{where}: {name} has {channels} channels, mixture {mix[2]}")
        decoded = _decode_problem(track, name) if deep else None
        if decoded:
            problems.append(decoded)
    return problems


def check_tree(
    root: str | os.PathLike, is_wav: bool | None = None, deep: bool = False, progress: bool = False
) -> CheckReport:
    """Open ``root`` with musdb (``is_wav`` auto-detected when None) and check every track.

    ``deep`` also decodes every stem (minutes for MUSDB18); ``progress`` shows a bar per subset.
    """
    from tqdm import tqdm

    if is_wav is None:
        is_wav = detect_is_wav(root)
    report = CheckReport(str(root), is_wav, deep)
    for subset in SUBSETS:
        if not os.path.isdir(os.path.join(root, subset)):
            report.tracks[subset] = 0
            continue
        db = open_db(root, subset, is_wav)
        report.tracks[subset] = len(db)
        report.seconds[subset] = 0.0
        for track in tqdm(db, desc=subset, unit="track", disable=not progress):
            if track.info is None:
                report.problems.append(f"{subset}/{track.name}: mixture unreadable")
                continue
            report.sample_rates.add(int(track.rate))
            report.channels.add(int(track.info.channels(track.stem_id)))
            report.seconds[subset] += float(track.duration)
            report.problems.extend(_track_problems(track, deep))
    if sum(report.tracks.values()) == 0:
        report.problems.append(f"{root}: no tracks found")
    return report


def format_report(report: CheckReport) -> str:
    """Human-readable summary, one line per fact, then every problem."""
    kind = "MUSDB18-HQ (wav)" if report.is_wav else "MUSDB18 (stem.mp4)"
    lines = [f"{report.root}: {kind}"]
    for subset, n in report.tracks.items():
        hours = report.seconds.get(subset, 0.0) / 3600
        lines.append(f"  {subset}: {n} tracks, {hours:.2f} h")
    lines.append(f"  sample rates: {sorted(report.sample_rates)} Hz; channels: {sorted(report.channels)}")
    lines.append("  checked: every stem decoded" if report.deep else "  checked: headers only (--deep decodes)")
    lines += [f"  problem: {p}" for p in report.problems]
    lines.append("OK" if report.ok else f"FAILED ({len(report.problems)} problems)")
    return "\n".join(lines)
