"""The schema strategy: a tenant is a PostgreSQL schema that holds the resource's table.

No fallback: a run for a tenant whose schema (or table) is missing acts on
nothing, rather than on ``public`` or on the schema a truncated name names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from ember.registry.errors import EmberError, InvalidArgument
from ember.registry.resource import Resource
from ember.registry.tables import outbox, trigger_completions

TENANT_NOT_FOUND = "tenant_not_found"
"""The reason of a run that ended ``cancelled`` because its tenant's schema is missing."""
MAX_SCHEMA_BYTES = 63  # PostgreSQL silently truncates longer identifiers
EMBER_HOME = "ember:home"
"""Schema key of Ember's own tables in a tenant's transaction, translated to where they live."""

_homed = MetaData()
homed_completions = trigger_completions.to_metadata(_homed, schema=EMBER_HOME)
homed_outbox = outbox.to_metadata(_homed, schema=EMBER_HOME)

_LOOKUP = text(
    "SELECT to_regclass(format('%I.%I', CAST(:schema AS text), CAST(:table AS text))) IS NOT NULL,"
    " (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.oid = to_regclass(CAST(:ember AS text)))"
)


class TenantNotFound(EmberError):
    """The tenant of a ``tenant_schema`` resource names no schema holding its table.

    A worker ends the run ``cancelled`` (``TENANT_NOT_FOUND``); client calls raise it as
    an InvalidArgument, a ValueError (``refused``), so an action calling them fails as usual.
    """


@contextmanager
def refused() -> Iterator[None]:
    """Raise a ``TenantNotFound`` from the block as the InvalidArgument of bad input."""
    try:
        yield
    except TenantNotFound as error:
        raise InvalidArgument(str(error)) from None


def check_schema_name(resource: Resource, tenant: str | None) -> str:
    """``tenant``, once it can name a schema of ``resource`` (a ``tenant_schema`` resource).

    Raises:
        TenantNotFound: no tenant, an empty one, or one over 63 bytes.
    """
    if tenant is None:
        found = "none"
    elif not tenant:
        found = "an empty name"
    elif (size := len(tenant.encode())) > MAX_SCHEMA_BYTES:
        found = f"{tenant!r}, {size} bytes (PostgreSQL names have at most {MAX_SCHEMA_BYTES})"
    else:
        return tenant
    raise TenantNotFound(
        f"tenant: expected the name of a schema holding table {_table(resource).name} "
        f"({resource.path} is tenant_schema=True), found {found}; fix: pass an existing "
        "tenant's schema name"
    )


async def find_schema(
    session: AsyncSession, resource: Resource, tenant: str | None
) -> tuple[str, dict[str | None, str | None]]:
    """The tenant's schema, and the ``schema_translate_map`` resolving tables in it only.

    Schema-less tables become the tenant's; Ember's own tables stay where they
    are (found through the session's search_path, which must not be changed yet).

    Raises:
        TenantNotFound: ``tenant`` cannot name a schema, or its schema does not
            exist or holds no table of the resource's name.
    """
    schema = check_schema_name(resource, tenant)
    table = _table(resource)
    found, ember_schema = (
        await session.execute(
            _LOOKUP, {"schema": schema, "table": table.name, "ember": trigger_completions.name}
        )
    ).one()
    if not found:
        raise TenantNotFound(
            f"tenant: expected a schema {schema!r} holding table {table.name} "
            f"({resource.path} is tenant_schema=True), found none; fix: create the tenant's "
            "schema and table first, or pass an existing tenant"
        )
    return schema, {table.schema: schema, EMBER_HOME: ember_schema}


def completions_table(resource: Resource) -> Table:
    """``ember_trigger_completions`` as ``resource``'s transactions name it."""
    return homed_completions if resource.tenant_schema else trigger_completions


async def outbox_table(session: AsyncSession) -> Table:
    """``ember_outbox`` as ``session``'s transaction names it (homed inside a tenant's)."""
    connection = (await session.connection()).sync_connection
    options = connection.get_execution_options() if connection is not None else {}
    return homed_outbox if EMBER_HOME in (options.get("schema_translate_map") or {}) else outbox


def _table(resource: Resource) -> Table:
    table: Table = resource.model.__table__
    return table
