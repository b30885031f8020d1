"""The README's DSL reference is the one generated from the option models."""

from __future__ import annotations

from pathlib import Path

from ember.registry.reference import BEGIN, END, reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_generated_options_reference() -> None:
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == reference(), (
        "run `python -m ember.registry.reference` into the README"
    )


def test_readme_opens_with_the_two_commands() -> None:
    opening = README.read_text().split("\n\n")[1]
    assert "make run" in opening and "make test" in opening
