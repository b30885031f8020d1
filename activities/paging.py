"""Tenants a page at a time: where a scan or scheduled action is in them.

Pure dataclasses only: this module is imported inside the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TenantPaging:
    """Where a scan or scheduled action is in its tenants, listed one page at a time.

    ``page`` is the page being worked through (``index`` the tenant at hand),
    ``after`` the name the next page starts after, ``more`` whether there is
    one, ``listed`` how many tenants the pages so far held.
    """

    page: list[str | None] = field(default_factory=list)
    index: int = 0
    after: str | None = None
    more: bool = True
    listed: int = 0

    @property
    def page_done(self) -> bool:
        """Whether every tenant of ``page`` has been worked through."""
        return self.index >= len(self.page)

    @property
    def tenant(self) -> str | None:
        """The tenant at hand."""
        return self.page[self.index]
