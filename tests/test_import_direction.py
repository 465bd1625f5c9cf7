"""Dependencies point one way only.

- ``drivers`` imports nothing of ours;
- ``packet`` (the sealed-packet format, used by both sides) imports neither the kiosk
  nor central;
- ``transparency`` (the record of operations' Merkle tree, checkpoints and ledger
  formats, used by both sides) imports the packet format only;
- the kiosk (``appliance``) never imports the reference central service;
- ``central`` depends on the packet and transparency formats and the generated contract only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("appliance", "drivers", "packet", "transparency", "central")

#: package -> the packages of ours it may import (besides itself and the generated ``aima``).
ALLOWED: dict[str, set[str]] = {
    "drivers": set(),
    "packet": set(),
    "transparency": {"packet"},
    "appliance": {"drivers", "packet", "transparency"},
    "central": {"packet", "transparency"},
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    offenders = []
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}"
    allowed = ALLOWED[package] | {package}
    for path in files:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in OURS and top not in allowed:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from appliance.config import load_config\n", encoding="utf-8")
    assert "appliance.config" in _imported_modules(bad)
