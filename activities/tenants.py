"""Which tenants a scan or scheduled action runs for, a page at a time."""

from __future__ import annotations

import bisect
import inspect
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ember.activities.records import base_query
from ember.registry import Resource, Trigger
from ember.registry.actions import positional_arity
from ember.registry.keys import decode_value
from ember.registry.resource import TenantSource

TENANTS_PER_PAGE = 10_000
TENANT_PAGE_BYTES = 256 * 1024  # well inside Temporal's 2 MiB payloads, however long the names


async def resolve_tenants(
    resource: Resource, declared: TenantSource | None, session: AsyncSession
) -> list[str | None]:
    """The tenants to run for: ``[None]`` without a tenant strategy.

    ``declared`` (the trigger's or schedule's) wins over the resource's; a
    callable may be sync or async and may take the session. A None it lists
    stays None (no tenant), never the string ``"None"``. With none listed, a
    ``tenant_column`` resource runs once for the global scope (``[None]``, as
    AshOban's default); schema tenants have no global scope (validation
    requires them listed).
    """
    if not resource.is_tenanted:
        return [None]
    source = declared if declared is not None else resource.list_tenants
    if source is None:
        return [None] if resource.tenant_column is not None else []
    if callable(source):
        result = source(session) if positional_arity(source) >= 1 else source()
        if inspect.isawaitable(result):
            result = await result
        source = result
    return [None if tenant is None else str(tenant) for tenant in source]


def tenant_page(
    tenants: Iterable[str | None],
    after: str | None,
    *,
    count: int = TENANTS_PER_PAGE,
    size: int = TENANT_PAGE_BYTES,
) -> tuple[list[str | None], str | None]:
    """The distinct ``tenants`` sorting after ``after``, at most ``count`` and ``size`` bytes.

    A None among them (a tenant that cannot exist, reported as not found) leads the
    first page. A page holds at least one name. Returns the page and the ``after``
    of the next one (None when this page is the last).
    """
    distinct = set(tenants)
    names = sorted(name for name in distinct if name is not None)
    start = 0 if after is None else bisect.bisect_right(names, after)
    page: list[str | None] = [None] if after is None and None in distinct else []
    taken = 0
    used = 0
    for name in names[start:]:
        used += len(name.encode()) + 4  # quotes and separator in JSON
        if taken and (taken >= count or used > size):
            break
        page.append(name)
        taken += 1
    more = start + taken < len(names)
    return page, names[start + taken - 1] if more else None


async def tenants_with_rows(
    trigger: Trigger, tenants: list[str | None], session: AsyncSession
) -> list[str | None]:
    """``tenants`` less those the trigger's ``where`` matches no row of (attribute strategy).

    One query for the whole page: a scan then spends no page on empty tenants. A
    name that is not a value of the tenant column is kept (its scan says why).
    """
    column_name = trigger.resource.tenant_column
    if column_name is None:
        return tenants
    column = trigger.resource.model.__table__.c[column_name]
    values: dict[Any, list[str]] = {}
    kept: list[str | None] = []
    for name in tenants:
        if name is None:  # never matches a row: its scan page says it was not found
            kept.append(name)
            continue
        try:
            values.setdefault(decode_value(column, name), []).append(name)
        except (ValueError, TypeError, ArithmeticError):
            kept.append(name)
    if not values:
        return kept
    query = base_query(trigger, for_worker=False).with_only_columns(column).distinct()
    query = query.where(column.in_(list(values)))
    if trigger.options.where is not None:
        query = query.where(trigger.options.where)
    for value in (await session.execute(query)).scalars():
        kept += values.get(value, [])
    return sorted(kept, key=lambda name: (name is not None, name or ""))
