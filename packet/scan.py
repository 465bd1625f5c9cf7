"""Scan a directory tree for plaintext biometrics (image/WSQ/record magic, known bytes).

Used by the tests (and available to technicians' self-tests) to prove that
only sealed ciphertext reaches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Signatures of formats that would mean a plaintext capture on disk.
MAGIC_SIGNATURES: dict[str, bytes] = {
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG\r\n\x1a\n",
    "wsq": b"\xff\xa0\xff\xa8",
    "jpeg2000": b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    "j2k-codestream": b"\xff\x4f\xff\x51",
    "tiff-le": b"II*\x00",
    "tiff-be": b"MM\x00*",
    "ansi-nist": b"1.001:",
    "iso-19794-4": b"FIR\x00",
    "iso-19794-5": b"FAC\x00",
}


@dataclass(frozen=True)
class Finding:
    path: Path
    offset: int
    what: str


def scan_tree(root: Path, known: dict[str, bytes] | None = None) -> list[Finding]:
    """Every occurrence of a magic signature at a file start, or of known plaintext anywhere."""
    findings: list[Finding] = []
    probes = dict(known or {})
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for what, magic in MAGIC_SIGNATURES.items():
            if data.startswith(magic):
                findings.append(Finding(path, 0, what))
        for what, needle in probes.items():
            offset = data.find(needle)
            if offset >= 0:
                findings.append(Finding(path, offset, what))
    return findings
