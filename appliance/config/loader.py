"""Load a YAML config file and report every problem with its line number."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from appliance.config.model import ApplianceConfig
from appliance.config.yaml_bounds import YamlBoundsError, check_yaml_bounds, read_bounded_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigProblem:
    """One offending key: its dotted path, the 1-based line, and what is wrong."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "line ?"
        return f"{where}: {self.key}: {self.message}"


class ConfigError(Exception):
    """The config file is unreadable or invalid; ``problems`` lists every issue."""

    def __init__(self, path: Path, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {path}:{p}" for p in problems)
        super().__init__(f"invalid config {path}:\n{lines}")


def load_config(path: Path) -> ApplianceConfig:
    """Parse and validate ``path``; raise :class:`ConfigError` on any problem."""
    document = _read_yaml(path)
    try:
        return ApplianceConfig.model_validate(_plain(document))
    except ValidationError as exc:
        raise ConfigError(path, _problems(exc, document)) from None


def _read_yaml(path: Path) -> Any:
    """Read ``path`` within the bounds of :mod:`appliance.config.yaml_bounds`, then parse."""
    try:
        text = read_bounded_text(path)
    except YamlBoundsError as exc:
        raise ConfigError(path, [ConfigProblem("<file>", None, str(exc))]) from None
    except FileNotFoundError:
        raise ConfigError(path, [ConfigProblem("<file>", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem("<file>", None, f"cannot read: {exc}")]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        check_yaml_bounds(yaml, text)
        document = yaml.load(text)
    except YamlBoundsError as exc:
        raise ConfigError(path, [ConfigProblem("<yaml>", exc.line, str(exc))]) from None
    except RecursionError:
        raise ConfigError(path, [ConfigProblem("<yaml>", None, "nesting too deep")]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(path, [ConfigProblem("<yaml>", line, str(problem))]) from None
    if not isinstance(document, CommentedMap):
        raise ConfigError(path, [ConfigProblem("<root>", 1, "the file must be a YAML mapping")])
    return document


def _plain(node: Any) -> Any:
    """ruamel's commented containers -> plain dicts and lists for pydantic."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _problems(exc: ValidationError, document: CommentedMap) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        key, line = _locate(document, list(error["loc"]))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or not valid here)"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(ConfigProblem(key or "<root>", line, message))
    return problems


def _locate(document: CommentedMap, loc: list[Any]) -> tuple[str, int | None]:
    """Dotted key path and best-effort 1-based line for a pydantic error location.

    Discriminated unions put the tag (e.g. ``sim``) into the location; it is
    dropped from the key path because it is a value of ``type``, not a key.
    """
    node: Any = document
    line: int | None = None
    parts: list[str] = []
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedMap) and node.get("type") == part:
            continue  # union tag
        else:
            node = None  # missing key: keep the parent's line
        parts.append(str(part))
    return ".".join(parts), line
