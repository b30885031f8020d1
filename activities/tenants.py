"""Which tenants a scan or scheduled action runs for."""

from __future__ import annotations

import inspect

from sqlalchemy.ext.asyncio import AsyncSession

from registry import Resource
from registry.actions import positional_arity
from registry.resource import TenantSource


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
