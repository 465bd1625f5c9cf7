"""Every CLI command answers --help, and bad input gets a clear error, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli.main import COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_every_module_registers_a_command() -> None:
    assert len(_commands()) >= len(COMMAND_MODULES)


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("appliance ")


@pytest.mark.parametrize("command", _commands())
def test_help(command: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize("command", _commands())
def test_unknown_option_is_a_usage_error(command: str) -> None:
    result = _run(command, "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_no_command_prints_help() -> None:
    result = _run()
    assert result.returncode == 2
    assert "usage:" in result.stderr
