"""The README is part of the product: its commands exist, and every command is in it."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from digest.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, str]:
    group = typer.main.get_command(app)
    return {name: (command.help or "").strip().splitlines()[0] for name, command in group.commands.items()}  # type: ignore[attr-defined]


def test_quick_start_has_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert re.findall(r"^make (\w+)", quick, re.MULTILINE) == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_documented_with_its_help() -> None:
    for name, first_line in commands().items():
        assert f"- `digest {name}`: {first_line.rstrip('.')}" in README, (
            f"README misses `digest {name}` or its help line changed"
        )


def test_every_command_help_has_an_example() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    for name in commands():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, name
