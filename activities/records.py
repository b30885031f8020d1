"""SQL for one trigger: the keyset scan, the lock-and-recheck read, tenants and keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.sqltypes import String

from registry import Resource, Trigger, naming
from registry.keys import decode_key, decode_value
from registry.tenancy import completions_table, find_schema


def base_query(trigger: Trigger, *, for_worker: bool) -> Select[Any]:
    """The trigger's read query: ``worker_read_action``, ``read_action`` or the whole table."""
    options = trigger.options
    read = (options.worker_read_action if for_worker else None) or options.read_action
    return read() if read is not None else select(trigger.resource.model)


def tenant_condition(resource: Resource, tenant: str | None) -> ColumnElement[bool] | None:
    """The attribute-strategy filter for ``tenant`` (None for the schema strategy)."""
    if resource.tenant_column is None:
        return None
    if tenant is None:
        return false()
    column = resource.model.__table__.c[resource.tenant_column]
    return column == decode_value(column, tenant)  # type: ignore[no-any-return]


async def enter_tenant(session: AsyncSession, resource: Resource, tenant: str | None) -> None:
    """Schema strategy: resolve this transaction's tables in the tenant's schema, and only there.

    Core and ORM statements (Ember's and the action's) get a ``schema_translate_map``;
    raw SQL gets ``search_path`` set to the tenant's schema alone, without ``public``.

    Raises:
        TenantNotFound: no such schema, or it holds no table of the resource.
    """
    if not resource.tenant_schema:
        return
    schema, translate = await find_schema(session, resource, tenant)
    await (await session.connection()).execution_options(schema_translate_map=translate)
    quoted = session.get_bind().dialect.identifier_preparer.quote(schema)
    await session.execute(text(f"SET LOCAL search_path TO {quoted}"))


def record_query(trigger: Trigger, tenant: str | None, key: str) -> Select[Any]:
    """Select the record by key, still matching ``where`` and the tenant, locked if asked.

    A ``trigger_once`` trigger also skips records it already completed.
    """
    resource = trigger.resource
    query = base_query(trigger, for_worker=True).where(
        resource.primary_key == decode_key(resource, key)
    )
    query = _filtered(query, trigger, tenant)
    if trigger.options.trigger_once:
        query = query.where(~_completed(trigger, tenant))
    if trigger.options.lock_for_update:
        query = query.with_for_update(of=resource.model)
    return query


def still_matching(query: Select[Any], trigger: Trigger, tenant: str | None) -> Select[Any]:
    """``query`` narrowed to rows matching ``where`` and the tenant (and, for a
    ``trigger_once`` trigger, not completed yet)."""
    query = _filtered(query, trigger, tenant)
    return query.where(~_completed(trigger, tenant)) if trigger.options.trigger_once else query


def scan_columns(trigger: Trigger) -> list[tuple[Any, bool]]:
    """The keyset order: sort columns (descending when prefixed '-') then the primary key."""
    table = trigger.resource.model.__table__
    key = trigger.resource.primary_key
    order = [
        (table.c[name.removeprefix("-")], name.startswith("-"))
        for name in trigger.options.sort or ()
    ]
    if all(column.key != key.key for column, _ in order):
        order.append((key, False))
    return order


def scan_query(
    trigger: Trigger, tenant: str | None, cursor: Sequence[Any] | None, limit: int
) -> Select[Any]:
    """One keyset page of (sort values..., key) rows after ``cursor``."""
    order = scan_columns(trigger)
    columns = [column for column, _ in order]
    query = _filtered(
        base_query(trigger, for_worker=False).with_only_columns(*columns), trigger, tenant
    )
    if cursor is not None:
        query = query.where(
            _after(order, [decode_value(c, v) for c, v in zip(columns, cursor, strict=True)])
        )
    if trigger.options.trigger_once:
        query = query.where(~_completed(trigger, tenant))
    ordering = [column.desc() if descending else column.asc() for column, descending in order]
    return query.order_by(*ordering).limit(limit)


def completion_row(trigger: Trigger, tenant: str | None, key: str) -> dict[str, str]:
    """The ``ember_trigger_completions`` row recording a ``trigger_once`` success."""
    return {"trigger_key": trigger.key, "tenant": naming.tenant_part(tenant), "record_key": key}


def _filtered(query: Select[Any], trigger: Trigger, tenant: str | None) -> Select[Any]:
    where = trigger.options.where
    if where is not None:
        query = query.where(where)
    condition = tenant_condition(trigger.resource, tenant)
    return query if condition is None else query.where(condition)


def _after(order: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in a mixed-direction keyset order."""
    branches = []
    for i, (column, descending) in enumerate(order):
        equal = [c == v for (c, _), v in zip(order[:i], values[:i], strict=True)]
        step = column < values[i] if descending else column > values[i]
        branches.append(and_(*equal, step))
    return or_(*branches)


def _completed(trigger: Trigger, tenant: str | None) -> ColumnElement[bool]:
    key_text = trigger.resource.primary_key.cast(String)
    completions = completions_table(trigger.resource)
    return exists().where(
        completions.c.trigger_key == trigger.key,
        completions.c.tenant == naming.tenant_part(tenant),
        completions.c.record_key == key_text,
    )


def lock_timeout_sql(timeout: timedelta) -> str:
    """``SET LOCAL lock_timeout`` for one transaction."""
    return f"SET LOCAL lock_timeout = {int(timeout.total_seconds() * 1000)}"


def matching_count_query(trigger: Trigger) -> Select[Any]:
    """How many rows match the trigger now, across tenants (attribute strategy)."""
    resource = trigger.resource
    query = base_query(trigger, for_worker=False).with_only_columns(resource.primary_key)
    if trigger.options.where is not None:
        query = query.where(trigger.options.where)
    return select(func.count()).select_from(query.subquery())
