"""Audio behind opaque per-session tokens.

``/audio/<token>`` is the only audio URL a page ever sees. The token is random, belongs to one
session (any other session gets 404), and the response carries nothing that identifies the
stimulus: no file name, no ETag or Last-Modified (Werkzeug derives them from the file name and
mtime), and
A and B of a trial have identical lengths and formats.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import soundfile as sf
from flask import Blueprint, Response, current_app, send_file, session

from . import store
from .db import get_db
from .study_context import current_context
from .validation import TOKEN

bp = Blueprint("media", __name__)


def antiphase_triplet(order: tuple[str, ...], tone_hz: float, tone_s: float, gap_s: float, sr: int) -> np.ndarray:
    """Stereo ``[n, 2]`` float32: three tones in ``order`` (ref, antiphase: right channel inverted,
    quiet: -6 dB), each followed by a gap. Over headphones "quiet" is the softest; over
    loudspeakers the antiphase tone cancels and sounds softest (Woods et al. 2017)."""
    t = np.arange(int(tone_s * sr)) / sr
    ramp = np.minimum(1.0, np.minimum(t, tone_s - t) / 0.1)  # 100 ms on/off ramps, no clicks
    tone = 0.3 * ramp * np.sin(2 * np.pi * tone_hz * t)
    gap = np.zeros((int(gap_s * sr), 2))
    parts = []
    for kind in order:
        left = tone * (0.5 if kind == "quiet" else 1.0)  # 0.5 = -6 dB
        right = -left if kind == "antiphase" else left
        parts += [np.stack([left, right], axis=1), gap]
    return np.concatenate(parts).astype(np.float32)


@lru_cache(maxsize=16)
def _headphone_wav(ref: str, tone_hz: float, tone_s: float, gap_s: float, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, antiphase_triplet(tuple(ref.split(",")), tone_hz, tone_s, gap_s, sr), sr,
             format="WAV", subtype="PCM_16")
    return buf.getvalue()


@bp.get("/audio/<token>")
def audio(token: str) -> Response:
    ctx = current_context()
    row = store.find_session(get_db(), session.get("sid"))
    if row is None or row["revoked"] or not TOKEN.fullmatch(token):
        return Response("not found", 404)
    tok = store.owned_token(get_db(), row["session_id"], token)
    if tok["fetched_ms"] is None:
        store.mark_fetched(get_db(), token, store.now_ms())
    if tok["kind"] == "headphone":
        scr = ctx.study.screening
        data = _headphone_wav(tok["ref"], scr.tone_hz, scr.tone_s, scr.gap_s, scr.sample_rate)
        resp = send_file(io.BytesIO(data), mimetype="audio/wav", etag=False, last_modified=None, max_age=0)
    else:
        path = (ctx.manifest.root / tok["ref"]).resolve()
        if ctx.manifest.root not in path.parents:  # the DB is trusted, but never serve outside the study
            current_app.logger.error("audio token %s points outside the manifest folder", token)
            return Response("not found", 404)
        resp = send_file(path, mimetype="audio/wav", etag=False, last_modified=None, max_age=0, conditional=True)
    resp.headers["Cache-Control"] = "no-store"
    for name in ("Content-Disposition", "Last-Modified", "ETag"):  # file name and mtime identify the stimulus
        resp.headers.pop(name, None)
    return resp
