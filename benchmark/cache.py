"""On-disk cache of system outputs, keyed by system identity, so runs resume and re-runs are free."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf

from hafm.fileio import atomic_path

SR = 24_000


class OutputCache:
    """``root/<system>/<identity hash>/<clip hash>.wav`` (float32 wav, 24 kHz)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, system: str, identity: str, clip_id: str) -> Path:
        ident = hashlib.sha256(identity.encode()).hexdigest()[:16]
        clip = hashlib.sha256(clip_id.encode()).hexdigest()[:16]
        return self.root / system / ident / f"{clip}.wav"

    def get(self, system: str, identity: str, clip_id: str) -> np.ndarray | None:
        p = self.path(system, identity, clip_id)
        if not p.exists():
            return None
        audio, sr = sf.read(p, dtype="float32")
        if sr != SR:
            raise ValueError(f"cached output {p} has {sr} Hz, expected {SR}")
        return audio

    def put(self, system: str, identity: str, clip_id: str, audio: np.ndarray) -> Path:
        p = self.path(system, identity, clip_id)
        if not np.all(np.isfinite(audio)):
            raise ValueError(f"{system} produced non-finite audio for clip {clip_id}")
        with atomic_path(p) as tmp:
            sf.write(tmp, np.asarray(audio, dtype=np.float32), SR, subtype="FLOAT")
        return p
