"""Ember's exceptions: one root, ``EmberError``, and the located problems of a registry.

Each class keeps the builtin base callers may already catch (``ValueError``,
``KeyError``, ``TypeError``), so ``except EmberError`` and ``except ValueError`` both work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class EmberError(Exception):
    """The root of every exception Ember raises: catch it to catch any of them."""


class ConfigurationError(EmberError, ValueError):
    """A setting Ember cannot use (``EMBER_*``, ``--app``...); the message names the fix."""


class InvalidArgument(EmberError, ValueError):
    """An argument Ember cannot use, e.g. a record without a primary key; the message
    says what was expected, what was found and the fix.

    The message starts with the argument's name (``tenant: expected ...``), so the
    command line can name its own option instead (``--tenant: expected ...``).
    """

    @property
    def argument(self) -> str:
        """The name of the argument the message is about: what precedes its first colon."""
        return str(self).partition(":")[0]


class WrongType(EmberError, TypeError):
    """An argument of the wrong kind, e.g. a record of another model."""


class UnknownDeclaration(EmberError, KeyError):
    """No resource, trigger or scheduled action of that name (the message lists the known)."""

    def __str__(self) -> str:
        # The message as written, not KeyError's quoted repr of it.
        return str(self.args[0]) if self.args else ""


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


class RegistryError(EmberError, ValueError):
    """The registry is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the Ember registry:\n{lines}"
        )
