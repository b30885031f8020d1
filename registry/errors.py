"""Registry problems: one located message per problem, all reported together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class EmberError(Exception):
    """The root of every exception Ember raises: catch it to catch any of them."""


class DeclarationDeleted(EmberError, ValueError):
    """A run was asked of a trigger or scheduled action declared ``state="deleted"``."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a declaration.

    Attributes:
        path: where it is, ``<domain>.<resource>.<trigger>.<option>``.
        expected: what Ember expected there.
        found: what it found instead.
        fix: how to put it right.
    """

    path: str
    expected: str
    found: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, found {self.found}; fix: {self.fix}"


class RegistryError(ValueError):
    """The registry is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the Ember registry:\n{lines}"
        )
