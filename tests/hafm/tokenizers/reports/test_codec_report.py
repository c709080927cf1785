import csv

import pytest
import torch

from hafm.cli import main
from hafm.tokenizers.reports import codec as codec_eval
from hafm.tokenizers.codec import save_codebooks


def test_si_snr_ignores_scale_and_measures_noise():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(48_000, generator=g)
    noise = torch.randn(48_000, generator=g)
    assert codec_eval.si_snr(ref, 0.5 * ref) > 100
    assert codec_eval.si_snr(ref, ref + 0.1 * noise) == pytest.approx(20.0, abs=0.2)


def test_log_mel_distance_is_zero_for_identical_audio_and_grows_with_noise():
    ref = torch.randn(24_000, generator=torch.Generator().manual_seed(0)) * 0.1
    assert codec_eval.log_mel_distance(ref, ref) == 0.0
    loud_noise = codec_eval.log_mel_distance(ref, ref + 0.1 * torch.randn(24_000))
    assert loud_noise > codec_eval.log_mel_distance(ref, ref + 0.01 * torch.randn(24_000))


def test_summary_counts_files_strictly_better_than_half_the_codebooks():
    rows = [
        {"track": t, "stem": "vocals", "codebooks": k, "si_snr_db": snr, "log_mel_l1": 1.0}
        for t, snrs in {"a": (1.0, 2.0), "b": (3.0, 3.0)}.items()
        for k, snr in zip((1, 2), snrs)
    ]
    summary = {(r["metric"], r["codebooks"]): r["value"] for r in codec_eval.summarise(rows)}
    assert summary[("files_better_si_snr_db", 2)] == 1
    assert summary[("files_better_log_mel_l1", 2)] == 0
    assert summary[("si_snr_db", 2)] == pytest.approx(2.5)
    assert summary[("si_snr_db_worst_file", 1)] == 1.0


def test_eval_command_writes_markdown_and_csv(musdb_tree, small_codec, tmp_path):
    codebooks = tmp_path / "cb.safetensors"
    save_codebooks(codebooks, small_codec.codebooks, small_codec.metadata)
    out = tmp_path / "results"
    assert main(["codec", "eval", "--root", str(musdb_tree), "--codec", str(codebooks), "--out-dir", str(out),
                 "--no-fad"]) == 0
    rows = list(csv.DictReader((out / "codec.csv").open()))
    assert set(rows[0]) == {"stem", "metric", "codebooks", "value"}
    assert {(r["stem"], r["codebooks"]) for r in rows if r["metric"] == "si_snr_db"} == {
        (s, k) for s in ("vocals", "accompaniment") for k in ("1", "2", "4", "8")}
    assert "## accompaniment" in (out / "codec.md").read_text()


def _files(codec_audio):
    return [(f"t{i}", "accompaniment", codec_audio[i % 2, 0]) for i in range(4)]


def test_evaluate_reports_fad_by_codebooks_and_token_predictability(small_codec, codec_audio):
    def band_energies(wav):
        frames = wav[: len(wav) // 2400 * 2400].reshape(-1, 2400)
        spec = torch.fft.rfft(frames).abs().pow(2)
        return torch.log(torch.stack([b.sum(1) for b in spec.chunk(6, dim=1)], 1) + 1e-6).numpy()

    result = codec_eval.evaluate(small_codec, _files(codec_audio), embed=band_energies)
    assert sorted(result.fad) == [1, 2, 4, 8] and all(v > 0 for v in result.fad.values())
    assert [r["codebook"] for r in result.tokens] == list(range(1, 9))


def test_phase_reconstruction_improves_with_iterations(codec_audio, small_logmag_codec):
    codec = small_logmag_codec
    rows = codec_eval.phase_reconstruction(codec, [codec_audio[1, 0]], iterations=(1, 32))
    distance = {(r["iterations"], r["magnitudes"]): r["log_mel_l1"] for r in rows}
    assert distance[(32, "unquantised")] < distance[(1, "unquantised")]
    assert distance[(32, "unquantised")] < distance[(32, "quantised")]


def test_phase_reconstruction_refuses_the_mdct_codec(small_mdct_codec, codec_audio):
    with pytest.raises(ValueError, match="log-magnitude"):
        codec_eval.phase_reconstruction(small_mdct_codec, [codec_audio[0, 0]])


@pytest.mark.slow
def test_eval_command_reads_a_stem_mp4_tree(stems_tree, small_logmag_codec, tmp_path):
    codebooks = tmp_path / "cb.safetensors"
    save_codebooks(codebooks, small_logmag_codec.codebooks, small_logmag_codec.metadata)
    out = tmp_path / "results"
    assert main(["codec", "eval", "--root", str(stems_tree), "--codec", str(codebooks), "--out-dir", str(out),
                 "--no-fad", "--stems", "accompaniment"]) == 0
    rows = list(csv.DictReader((out / "codec.csv").open()))
    assert {r["stem"] for r in rows} == {"accompaniment"} and "1 tracks" in (out / "codec.md").read_text()
