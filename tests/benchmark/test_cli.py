import json

from benchmark.cli import main


def test_clips_export_command_writes_the_clips_and_manifest(tiny_musdb, tmp_path):
    (tmp_path / "bench.toml").write_text("clip_seconds = 4.0\n")
    code = main(["clips", "export", str(tmp_path / "clips"), "--root", str(tiny_musdb), "--results",
                 str(tmp_path / "results"), "--config", str(tmp_path / "bench.toml"), "--max-clips", "2"])
    manifest = json.loads((tmp_path / "clips" / "manifest.json").read_text())
    assert code == 0 and len(manifest["clips"]) == 2 and len(list((tmp_path / "clips").glob("*.wav"))) == 2


def test_malformed_system_dir_fails_before_any_work(tmp_path, capsys):
    assert main(["run", "--root", str(tmp_path), "--system-dir", "no-equals-sign"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err


def test_tables_on_an_empty_folder_names_the_run_command(tmp_path, capsys):
    assert main(["tables", "--out", str(tmp_path)]) == 2
    assert "python -m benchmark run" in capsys.readouterr().err
