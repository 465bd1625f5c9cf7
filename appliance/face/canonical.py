"""mediapipe's canonical face model: the reference shape for head pose.

The file is mediapipe's ``geometry_pipeline_metadata_landmarks.binarypb`` (a
``mediapipe.face_geometry.GeometryPipelineMetadata`` protobuf, installed by
``appliance models fetch``): the canonical mesh (468 vertices x, y, z in
centimetres plus texture u, v; triangles as vertex indices) and the weighted
landmark basis of mediapipe's Procrustes fit (the rigid points of the face:
forehead, nose, cheekbones, jaw; weights sum to about 1).

The canonical frame: x to the subject's left (the viewer's right), y up, z out
of the face towards the viewer; the face looks straight along +z.

Only the few fields needed are read, with a small protobuf wire-format reader
that checks sizes and counts before it works (no generated code: mediapipe 1.x
ships no module for this message).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.face.models import ModelError, model_path

Array = npt.NDArray[Any]

FILE_NAME = "geometry_pipeline_metadata_landmarks.binarypb"
VERTICES = 468
# The mesh's face oval, in order around the face (mediapipe's FACEMESH_FACE_OVAL).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
_MAX_BYTES = 1 << 20
_MAX_TRIANGLES = 4096
_MAX_BASIS = VERTICES

# protobuf wire types
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


@dataclass(frozen=True, eq=False)
class CanonicalFace:
    vertices: Array  # (468, 3) float64, centimetres, canonical frame
    uv: Array  # (468, 2) texture coordinates
    triangles: Array  # (T, 3) int32 vertex indices
    basis: Array  # (K,) int landmark indices of the Procrustes basis
    weights: Array  # (K,) float64 weights of those landmarks


def load_canonical(directory: Path | None = None) -> CanonicalFace:
    """Read the installed canonical face model; :class:`ModelError` if absent or bad."""
    path = model_path(FILE_NAME, directory)
    data = path.read_bytes()
    try:
        return parse(data)
    except ValueError as exc:
        raise ModelError(f"face model {FILE_NAME} is unreadable: {exc}") from exc


def parse(data: bytes) -> CanonicalFace:
    """Decode a GeometryPipelineMetadata message (bounded; raises ValueError)."""
    if len(data) > _MAX_BYTES:
        raise ValueError("file too large")
    vertex_buffer: list[float] = []
    index_buffer: list[int] = []
    basis: list[tuple[int, float]] = []
    for field, wire, value in _fields(data):
        if field == 1 and wire == _LEN:  # canonical_mesh
            assert isinstance(value, bytes)
            _read_mesh(value, vertex_buffer, index_buffer)
        elif field == 2 and wire == _LEN:  # procrustes_landmark_basis
            assert isinstance(value, bytes)
            if len(basis) >= _MAX_BASIS:
                raise ValueError("too many basis landmarks")
            basis.append(_read_basis(value))
    if len(vertex_buffer) != VERTICES * 5:
        raise ValueError(f"expected {VERTICES} vertices, got {len(vertex_buffer) / 5:g}")
    if not index_buffer or len(index_buffer) % 3:
        raise ValueError("index buffer is not a list of triangles")
    if not basis:
        raise ValueError("no Procrustes landmark basis")
    buffer = np.asarray(vertex_buffer, np.float64).reshape(VERTICES, 5)
    triangles = np.asarray(index_buffer, np.int32).reshape(-1, 3)
    if triangles.max() >= VERTICES:
        raise ValueError("triangle index out of range")
    ids = np.asarray([i for i, _ in basis], np.int64)
    if ids.max() >= VERTICES:
        raise ValueError("basis landmark out of range")
    return CanonicalFace(
        vertices=buffer[:, :3].copy(),
        uv=buffer[:, 3:].copy(),
        triangles=triangles,
        basis=ids,
        weights=np.asarray([w for _, w in basis], np.float64),
    )


def _read_mesh(data: bytes, vertices: list[float], indices: list[int]) -> None:
    for field, wire, value in _fields(data):
        if field == 3:  # vertex_buffer, repeated float (packed or not)
            vertices.extend(_floats(wire, value))
        elif field == 4:  # index_buffer, repeated uint32
            indices.extend(_uints(wire, value))
        if len(vertices) > VERTICES * 5 or len(indices) > 3 * _MAX_TRIANGLES:
            raise ValueError("mesh larger than the canonical face")


def _read_basis(data: bytes) -> tuple[int, float]:
    landmark, weight = -1, 0.0
    for field, wire, value in _fields(data):
        if field == 1 and wire == _VARINT:
            assert isinstance(value, int)
            landmark = value
        elif field == 2 and wire == _I32:
            assert isinstance(value, bytes)
            weight = float(np.frombuffer(value, "<f4")[0])
    if landmark < 0:
        raise ValueError("basis entry without a landmark id")
    return landmark, weight


def _floats(wire: int, value: int | bytes) -> list[float]:
    if wire == _I32 and isinstance(value, bytes):
        return [float(np.frombuffer(value, "<f4")[0])]
    if wire == _LEN and isinstance(value, bytes):
        if len(value) % 4:
            raise ValueError("packed floats of odd length")
        return [float(v) for v in np.frombuffer(value, "<f4")]
    raise ValueError("unexpected wire type for a float")


def _uints(wire: int, value: int | bytes) -> list[int]:
    if wire == _VARINT and isinstance(value, int):
        return [value]
    if wire == _LEN and isinstance(value, bytes):
        out, pos = [], 0
        while pos < len(value):
            number, pos = _varint(value, pos)
            out.append(number)
        return out
    raise ValueError("unexpected wire type for an integer")


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field of one message level."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _I32:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == _I64:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == _LEN:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated message")
        out.append((field, wire, value))
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
