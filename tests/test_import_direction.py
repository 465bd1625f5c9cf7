"""`drivers` never imports `appliance`: the dependency points one way only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_drivers_never_import_appliance() -> None:
    offenders = []
    files = sorted((ROOT / "drivers").rglob("*.py"))
    assert files, "no driver modules found"
    for path in files:
        for module in _imported_modules(path):
            if module == "appliance" or module.startswith("appliance."):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from appliance.config import load_config\n", encoding="utf-8")
    assert "appliance.config" in _imported_modules(bad)
