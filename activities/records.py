"""SQL for one trigger: the keyset scan, the lock-and-recheck read, tenants and keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, exists, false, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.sqltypes import String

from ember.registry import Resource, Trigger, naming
from ember.registry.keys import decode_key, decode_value
from ember.registry.tenancy import completions_table, find_schema


def base_query(trigger: Trigger, *, for_worker: bool) -> Select[Any]:
    """The trigger's read query: ``worker_read_action``, ``read_action`` or the whole table."""
    options = trigger.options
    read = (options.worker_read_action if for_worker else None) or options.read_action
    return read() if read is not None else select(trigger.resource.model)


def tenant_condition(resource: Resource, tenant: str | None) -> ColumnElement[bool] | None:
    """The attribute-strategy filter for ``tenant``: None for the schema strategy, and for
    no tenant (the global scope, and its runs with ``use_tenant_from_record=False``)."""
    if resource.tenant_column is None or tenant is None:
        return None
    column = resource.model.__table__.c[resource.tenant_column]
    return column == decode_value(column, tenant)  # type: ignore[no-any-return]


def run_tenant_column(trigger: Trigger, tenant: str | None) -> Column[Any] | None:
    """The column a scan of ``tenant`` reads each run's tenant from: the tenant column in
    the global scope (``use_tenant_from_record``); None when every run takes ``tenant``."""
    name = trigger.resource.tenant_column
    if tenant is not None or name is None or not trigger.options.use_tenant_from_record:
        return None
    column: Column[Any] = trigger.resource.model.__table__.c[name]
    return column


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


def record_query(
    trigger: Trigger, tenant: str | None, key: str, *, lock: bool = True
) -> Select[Any]:
    """Select the record by key, still matching ``where`` and the tenant, locked if asked
    (the trigger's ``lock_for_update``, unless ``lock`` is false).

    A ``trigger_once`` trigger also skips records it already completed.
    """
    resource = trigger.resource
    query = base_query(trigger, for_worker=True).where(
        resource.primary_key == decode_key(resource, key)
    )
    query = _filtered(query, trigger, tenant)
    if trigger.options.trigger_once:
        query = query.where(~_completed(trigger, tenant))
    if lock and trigger.options.lock_for_update:
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
    """One keyset page of (sort values..., key) rows after ``cursor``, each followed by
    its tenant when the runs take it from their records (``run_tenant_column``)."""
    order = scan_columns(trigger)
    columns = [column for column, _ in order]
    run_tenant = run_tenant_column(trigger, tenant)
    selected = columns if run_tenant is None else [*columns, run_tenant]
    query = _filtered(
        base_query(trigger, for_worker=False).with_only_columns(*selected), trigger, tenant
    )
    if cursor is not None:
        query = query.where(
            _after(order, [decode_value(c, v) for c, v in zip(columns, cursor, strict=True)])
        )
    if trigger.options.trigger_once:
        query = query.where(~_completed(trigger, tenant, run_tenant))
    return query.order_by(*(_ordering(column, descending) for column, descending in order)).limit(
        limit
    )


def completion_row(trigger: Trigger, tenant: str | None, key: str) -> dict[str, str]:
    """The ``ember_trigger_completions`` row recording a ``trigger_once`` success."""
    return {"trigger_key": trigger.key, "tenant": naming.tenant_part(tenant), "record_key": key}


def _filtered(query: Select[Any], trigger: Trigger, tenant: str | None) -> Select[Any]:
    where = trigger.options.where
    if where is not None:
        query = query.where(where)
    condition = tenant_condition(trigger.resource, tenant)
    return query if condition is None else query.where(condition)


def _ordering(column: Any, descending: bool) -> Any:
    """NULL sorts after every value: last ascending, first descending (PostgreSQL's default)."""
    return column.desc().nulls_first() if descending else column.asc().nulls_last()


def _after(order: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in a mixed-direction keyset order, NULL sorting last.

    The cursor's NULLs follow ``_ordering``: a column equal to NULL is ``IS NULL``, and
    NULL is greater than every value (so nothing is past it ascending, every value is
    past it descending).
    """
    branches = []
    for i, (column, descending) in enumerate(order):
        equal = [_equal(c, v) for (c, _), v in zip(order[:i], values[:i], strict=True)]
        branches.append(and_(*equal, _past(column, descending, values[i])))
    return or_(*branches)


def _equal(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _past(column: Any, descending: bool, value: Any) -> ColumnElement[bool]:
    """``column`` strictly after ``value`` in its direction (NULL is the greatest value)."""
    if value is None:
        return column.is_not(None) if descending else false()
    if descending:
        return column < value  # type: ignore[no-any-return]
    past = column > value
    return or_(past, column.is_(None)) if column.nullable else past


def _completed(
    trigger: Trigger, tenant: str | None, run_tenant: Column[Any] | None = None
) -> ColumnElement[bool]:
    """The record's ``trigger_once`` completion exists (under ``run_tenant``'s value, the
    row's own tenant, when runs take it from their records)."""
    key_text = trigger.resource.primary_key.cast(String)
    completions = completions_table(trigger.resource)
    tenant_text: Any = naming.tenant_part(tenant)
    if run_tenant is not None:
        tenant_text = func.coalesce(run_tenant.cast(String), naming.NO_TENANT)
    return exists().where(
        completions.c.trigger_key == trigger.key,
        completions.c.tenant == tenant_text,
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
