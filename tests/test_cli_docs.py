"""Every command explains itself: help text with an example, every option helped, and
the README names every command and option (a newcomer finds them in one place)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer

from carebench.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands() -> Iterator[tuple[str, object]]:
    """(`carebench a b`, command) for every command, groups walked."""

    def walk(prefix: str, command: object) -> Iterator[tuple[str, object]]:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(f"{prefix} {name}", sub)
        else:
            yield prefix, command

    yield from walk("carebench", typer.main.get_command(app))


def test_every_command_has_help_with_an_example_and_every_option_has_help():
    found = list(commands())
    assert len(found) >= 12
    for path, command in found:
        help_text = getattr(command, "help", "") or ""
        assert help_text.strip(), f"{path} has no help"
        assert "Example: carebench" in help_text, f"{path}: its help shows no example"
        for param in getattr(command, "params", []):
            assert getattr(param, "help", None), f"{path} {param.name} has no help"


def test_the_readme_names_every_command_and_option():
    missing = []
    for path, command in commands():
        if path not in README:
            missing.append(path)
        for param in getattr(command, "params", []):
            names = [str(o) for o in getattr(param, "opts", []) if str(o).startswith("-")]
            # An option is documented when any of its spellings is (-o or --output).
            if names and "--help" not in names and not any(n in README for n in names):
                missing.append(f"{path} {names[-1]}")
    assert not missing, f"not in the README: {missing}"
