"""The numpy TF-checkpoint reader: the wheel's checkpoints, snappy blocks, refusals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from hafm.musicnn import checkpoint_prefix
from hafm.musicnn.checkpoint import CheckpointFormatError, read_checkpoint, snappy_decompress


def test_reads_every_musicnn_variable_with_tf_shapes():
    tensors = read_checkpoint(checkpoint_prefix("MSD_musicnn"))
    assert tensors["conv2d/kernel"].shape == (7, 38, 1, 204)
    assert tensors["dense/kernel"].shape == (1506, 200)
    assert all(v.dtype == np.float32 for k, v in tensors.items() if "kernel" in k)


def test_checkpoint_files_are_the_fixture_ones(parity):
    prefix = checkpoint_prefix("MTT_vgg")
    for suffix, ref in parity["models"]["MTT_vgg"]["checkpoint_files"].items():
        assert hashlib.sha256(Path(prefix + suffix).read_bytes()).hexdigest() == ref["sha256"]


def test_snappy_literal_and_overlapping_copy():
    # header: 9 bytes out; literal "abc" (tag (3-1)<<2); copy-1 of length 6 at offset 3 (tag ((6-4)<<2)|1)
    stream = bytes([9, (3 - 1) << 2]) + b"abc" + bytes([((6 - 4) << 2) | 1, 3])
    assert snappy_decompress(stream) == b"abcabcabc"


def test_snappy_bad_back_reference_raises():
    with pytest.raises(CheckpointFormatError):
        snappy_decompress(bytes([4, ((4 - 4) << 2) | 1, 9]))


def test_not_a_checkpoint_raises(tmp_path):
    (tmp_path / "x.index").write_bytes(b"\0" * 64)
    (tmp_path / "x.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(CheckpointFormatError, match="SSTable"):
        read_checkpoint(tmp_path / "x")
