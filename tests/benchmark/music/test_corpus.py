import json

import numpy as np
import soundfile as sf

from benchmark.music.corpus import clip_audio, clip_timbres, clip_true_notes, corpus_clips

SR = 24_000


def _tree(root, n_songs=3, seconds=12):
    for i in range(n_songs):
        folder = root / "test" / f"song{i}"
        folder.mkdir(parents=True)
        for stem, value in (("vocals", 0.1), ("bass", 0.2), ("other", 0.3), ("drums", 0.0)):
            sf.write(folder / f"{stem}.wav", np.full(seconds * SR, value, np.float32), SR, subtype="FLOAT")
        notes = [{"onset_s": float(t), "offset_s": t + 1.0, "pitch": 72, "stem": "vocals"} for t in range(seconds)]
        notes += [{"onset_s": float(t), "offset_s": t + 1.0, "pitch": 48, "stem": "bass"} for t in range(seconds)]
        (folder / "notes.json").write_text(json.dumps({"notes": notes}))
    return root


def test_clips_of_every_test_song_with_audio_and_notes(tmp_path):
    clips = corpus_clips(_tree(tmp_path), "test", per_song=1)
    assert [c.track for c in clips] == ["song0", "song1", "song2"]
    vocals, accomp = clip_audio(clips[0])
    vocal_notes, accomp_notes = clip_true_notes(clips[0])
    assert len(vocals) == 10 * SR and np.allclose(accomp, 0.5)
    assert set(vocal_notes.pitch) == {72} and set(accomp_notes.pitch) == {48}
    assert vocal_notes.offset.max() <= 10.0


def test_clip_timbres_come_from_the_manifest_or_are_unknown(tmp_path):
    root = _tree(tmp_path)
    clips = corpus_clips(root, "test", per_song=1)
    assert clip_timbres(clips[0]) == ("unknown", "unknown")
    manifest = {"tracks": {"song0": {"patches": {"vocals": 52, "set": "organ"}}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert clip_timbres(clips[0]) == ("52", "organ") and clip_timbres(clips[1]) == ("unknown", "unknown")
