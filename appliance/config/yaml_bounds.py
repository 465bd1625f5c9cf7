"""Bounds for YAML from files: size before reading, then aliases and depth from the tokens.

The check runs on ruamel's token stream, which never expands aliases and
never recurses, and it stops at the first offending token: a 481-byte alias
bomb is refused at its first anchor, a 100,000-deep bracket file after
``MAX_DEPTH`` tokens. Only then is the document composed and constructed.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml import tokens as t

#: The largest YAML file read (bytes). Configs and allow-lists are a few KiB.
MAX_YAML_BYTES = 1 << 20
#: The deepest collection nesting allowed (the config schema nests 5 deep).
MAX_DEPTH = 32

_OPEN = (
    t.BlockMappingStartToken,
    t.BlockSequenceStartToken,
    t.FlowMappingStartToken,
    t.FlowSequenceStartToken,
)
_CLOSE = (t.BlockEndToken, t.FlowMappingEndToken, t.FlowSequenceEndToken)


class YamlBoundsError(ValueError):
    """The YAML is too large, too deep or uses anchors/aliases; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def read_bounded_text(path: Path, limit: int = MAX_YAML_BYTES) -> str:
    """Read a UTF-8 file after checking its size (OSError/UnicodeDecodeError pass through)."""
    size = path.stat().st_size
    if size > limit:
        raise YamlBoundsError(f"file is {size} bytes, more than the {limit} allowed")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise YamlBoundsError(f"file is more than the {limit} bytes allowed")
    return data.decode("utf-8")


def check_yaml_bounds(yaml: YAML, text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`YamlBoundsError` for anchors, aliases, tags or nesting past ``max_depth``.

    YAML syntax errors found while scanning raise ruamel's ``YAMLError`` as usual.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YamlBoundsError(f"document is more than the {MAX_YAML_BYTES} characters allowed")
    depth = 0
    for token in yaml.scan(text):
        line = token.start_mark.line + 1
        if isinstance(token, t.AnchorToken | t.AliasToken):
            raise YamlBoundsError("YAML anchors and aliases are not allowed", line)
        if isinstance(token, t.TagToken):
            raise YamlBoundsError("YAML tags are not allowed", line)
        if isinstance(token, _OPEN):
            depth += 1
            if depth > max_depth:
                raise YamlBoundsError(f"nesting deeper than {max_depth} levels", line)
        elif isinstance(token, _CLOSE):
            depth -= 1
