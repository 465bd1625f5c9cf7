"""Regenerate the Python code of the gRPC contract: ``python scripts/gen_proto.py [OUT_DIR]``.

Uses grpc_tools.protoc from the pinned grpcio-tools, so output is byte-for-byte
reproducible. Without OUT_DIR it writes into the repository root (package
``aima/``); ``tests/test_proto_drift.py`` regenerates into a temporary
directory and fails when the committed code is stale.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Generate ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` under ``out_dir``."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    include = str(resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    generated: list[Path] = []
    for proto in files:
        package = Path(proto).parent
        for depth in range(1, len(package.parts) + 1):
            init = out_dir.joinpath(*package.parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text(
                    '"""Generated contract code; regenerate with scripts/gen_proto.py."""\n'
                )
        stem = out_dir / package / Path(proto).stem
        generated += [Path(f"{stem}_pb2.py"), Path(f"{stem}_pb2.pyi"), Path(f"{stem}_pb2_grpc.py")]
    return sorted(generated)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in generate(target):
        print(path.relative_to(target))
