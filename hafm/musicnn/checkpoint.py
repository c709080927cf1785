"""Read a TensorFlow 1 "V2" checkpoint (tensor bundle) with numpy only, without TensorFlow.

A checkpoint ``prefix`` is two files: ``prefix.index``, a LevelDB SSTable whose keys are variable
names and whose values are ``BundleEntryProto`` messages (dtype, shape, offset, size), and
``prefix.data-00000-of-00001``, the raw little-endian tensor bytes. Only what musicnn's
checkpoints use is supported: one shard, unsliced tensors, uncompressed or snappy index blocks.
"""

from __future__ import annotations

import os
import struct
from typing import Iterator

import numpy as np

from hafm.errors import HafmError

_SSTABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_BYTES = 48
# tensorflow/core/framework/types.proto DataType -> numpy
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8,
           9: np.int64, 10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}


class CheckpointFormatError(HafmError):
    """The files are not a TF1 tensor-bundle checkpoint this reader understands."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a protobuf/LevelDB base-128 varint at ``pos``; return (value, next position)."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def snappy_decompress(src: bytes) -> bytes:
    """Decompress one raw snappy block (the format LevelDB uses for compressed blocks)."""
    n_out, pos = _varint(src, 0)
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal run
            length = tag >> 2
            if length >= 60:
                n_bytes = length - 59
                length = int.from_bytes(src[pos:pos + n_bytes], "little")
                pos += n_bytes
            length += 1
            out += src[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | src[pos]
            pos += 1
        else:
            length = (tag >> 2) + 1
            n_bytes = 2 if kind == 2 else 4
            offset = int.from_bytes(src[pos:pos + n_bytes], "little")
            pos += n_bytes
        if offset == 0 or offset > len(out):
            raise CheckpointFormatError("corrupt snappy block: bad back-reference")
        for _ in range(length):  # byte by byte: copies may overlap their own output
            out.append(out[-offset])
    if len(out) != n_out:
        raise CheckpointFormatError(f"snappy block decoded to {len(out)} bytes, header says {n_out}")
    return bytes(out)


def _read_block(table: bytes, offset: int, size: int) -> bytes:
    raw = table[offset:offset + size]
    compression = table[offset + size]
    if compression == 1:
        return snappy_decompress(raw)
    if compression != 0:
        raise CheckpointFormatError(f"unsupported SSTable block compression {compression}")
    return raw


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield (key, value) pairs of one SSTable block (prefix-compressed keys)."""
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + value_len]
        pos += value_len


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value) of a protobuf message; varints as int, the rest as bytes."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + width], pos + width
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        else:
            raise CheckpointFormatError(f"unsupported protobuf wire type {wire}")
        yield field, value


def _bundle_entry(value: bytes) -> dict:
    """Parse a ``BundleEntryProto``: dtype=1, shape=2, shard_id=3, offset=4, size=5, slices=7."""
    entry = {"dtype": 1, "shape": [], "shard": 0, "offset": 0, "size": 0, "sliced": False}
    for field, item in _proto_fields(value):
        if field == 1:
            entry["dtype"] = item
        elif field == 2:  # TensorShapeProto: repeated Dim (field 2) with size (field 1)
            for dim_field, dim in _proto_fields(item):
                if dim_field == 2:
                    entry["shape"].append(dict(_proto_fields(dim)).get(1, 0))
        elif field in (3, 4, 5):
            entry[{3: "shard", 4: "offset", 5: "size"}[field]] = item
        elif field == 7:
            entry["sliced"] = True
    return entry


def _tensor(data: bytes, name: str, entry: dict) -> np.ndarray:
    if entry["sliced"] or entry["shard"] != 0:
        raise CheckpointFormatError(f"{name}: sliced or multi-shard tensors are not supported")
    if entry["dtype"] not in _DTYPES:
        raise CheckpointFormatError(f"{name}: unsupported TF dtype {entry['dtype']}")
    dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
    if entry["offset"] + entry["size"] > len(data):
        raise CheckpointFormatError(f"{name}: tensor bytes lie beyond the end of the data file")
    count = entry["size"] // dtype.itemsize
    array = np.frombuffer(data, dtype=dtype, count=count, offset=entry["offset"])
    return array.reshape(entry["shape"]).astype(dtype.newbyteorder("="))


def read_checkpoint(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
    """Return every tensor of the checkpoint ``prefix`` as ``{variable name: array}``.

    ``prefix`` is the path without suffix: ``prefix + ".index"`` and
    ``prefix + ".data-00000-of-00001"`` must exist (musicnn's prefix is ``<model dir>/``).
    """
    prefix = os.fspath(prefix)
    with open(prefix + ".index", "rb") as f:
        index = f.read()
    with open(prefix + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    if len(index) < _FOOTER_BYTES or struct.unpack("<Q", index[-8:])[0] != _SSTABLE_MAGIC:
        raise CheckpointFormatError(f"{prefix}.index is not a LevelDB SSTable")
    footer = index[-_FOOTER_BYTES:]
    _, pos = _varint(footer, 0)  # metaindex handle (offset, size): unused
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    tensors = {}
    for _, handle in _block_entries(_read_block(index, index_offset, index_size)):
        offset, pos = _varint(handle, 0)
        size, _ = _varint(handle, pos)
        for key, value in _block_entries(_read_block(index, offset, size)):
            if key:  # the empty key holds the BundleHeaderProto
                name = key.decode()
                tensors[name] = _tensor(data, name, _bundle_entry(value))
    return tensors
