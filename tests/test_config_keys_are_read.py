"""Every config key is read by code: a key nothing reads is a lie in the documentation.

The test walks the config schema (every pydantic model reachable from
:class:`ApplianceConfig`, the drivers' configs included) and looks for each
field name as an attribute read (``x.field``) or a ``getattr(x, "field")`` in the
code outside the config definitions themselves.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from pydantic import BaseModel

from appliance.config.model import ApplianceConfig

ROOT = Path(__file__).resolve().parents[1]
#: Where keys are defined, not used (validators there do not count as reading a key).
DEFINITIONS = ("appliance/config/",)


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for candidate in _types(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                _models(candidate, seen)


def _types(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    found = [annotation]
    for arg in args:
        found.extend(_types(arg))
    return found


def _reads() -> set[str]:
    names: set[str] = set()
    for package in ("appliance", "drivers", "packet", "transparency", "central"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(DEFINITIONS):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    names.add(node.attr)
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr"
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                ):
                    names.add(str(node.args[1].value))
    return names


def test_every_config_key_is_read_by_code() -> None:
    models: set[type[BaseModel]] = set()
    _models(ApplianceConfig, models)
    assert len(models) > 10
    reads = _reads()
    unread = sorted(
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if name not in reads and name != "type"  # ``type`` selects the driver (registry)
    )
    assert unread == []


def test_the_checker_sees_an_unread_key() -> None:
    class Probe(BaseModel):
        never_read_anywhere_zz: int = 0

    reads = _reads()
    assert "never_read_anywhere_zz" not in reads
