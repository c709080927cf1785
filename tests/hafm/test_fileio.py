import json

import pytest

from hafm import fileio


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.json"
    fileio.atomic_write_json(target, {"x": 1})
    fileio.atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_failed_writer_keeps_the_previous_file(tmp_path):
    target = tmp_path / "a.txt"
    fileio.atomic_write_text(target, "old")

    def broken_writer(path):
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        fileio.atomic_save(target, broken_writer)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_hashes_are_stable(tmp_path):
    p = tmp_path / "b.bin"
    p.write_bytes(b"abc")
    assert fileio.sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert fileio.sha256_json({"a": 1, "b": 2}) == fileio.sha256_json({"b": 2, "a": 1})


def test_written_files_get_umask_permissions_not_0600(tmp_path):
    import os

    target = tmp_path / "c.txt"
    fileio.atomic_write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
