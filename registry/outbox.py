"""Transactional enqueue: a trigger run that starts if and only if the caller commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ember.registry.actors import store_actor
from ember.registry.declarations import Trigger
from ember.registry.targets import RecordLike, enqueueable, record_target
from ember.registry.tenancy import find_schema, outbox_table, refused

if TYPE_CHECKING:
    from ember.registry.domain import Domain


async def enqueue_trigger(
    session: AsyncSession,
    record: RecordLike,
    trigger: Trigger | str,
    *,
    actor: Any = None,
    tenant: str | None = None,
    input: dict[str, Any] | None = None,
    domain: Domain | None = None,
) -> None:
    """Enqueue a run of ``trigger`` for ``record`` in the caller's transaction.

    Writes an ``ember_outbox`` row; the worker's relay starts the run after
    the transaction commits (at least once, deduplicated by the workflow id).
    A rollback enqueues nothing. This is AshOban's ``run_oban_trigger``.
    For a ``tenant_schema`` resource the tenant's schema must hold the
    resource's table already (in this transaction), else ValueError.

    Args:
        session: the caller's session; its transaction carries the row.
        record: a model instance, or ``(Model, pk)``.
        trigger: the trigger to run: the object ``resource.trigger(...)`` returned,
            or its name (``"escalate"`` or ``"tickets.escalate"``, as ``run_trigger``
            takes), looked up in the domains that declared the record's model.
        actor: who is acting (stored as a reference).
        tenant: the record's tenant (read from the instance when omitted).
        input: action input merged over the trigger's ``action_input`` (its keys
            win); a run with input of its own has its own id, as in ``run_trigger``.
        domain: where to look a name up, when several domains declare the model.

    Raises:
        InvalidArgument: a name that matches no trigger, or triggers of two domains.
    """
    trigger = enqueueable(trigger, record, domain)
    target = record_target(trigger, record, tenant, input)
    if trigger.resource.tenant_schema:  # its run would end tenant_not_found: say so now
        with refused():
            await find_schema(session, trigger.resource, target.tenant)
    actor_ref = store_actor(trigger.actor_persister, trigger.path, actor)
    request = {
        "domain": trigger.domain_name,
        "resource": trigger.resource.name,
        "trigger": trigger.name,
        "tenant": target.tenant,
        "record": target.key,
        "actor": actor_ref,
        "input": input,
    }
    await session.execute(
        insert(await outbox_table(session)).values(
            workflow_id=trigger.workflow_id(target.tenant, target.key, action_input=input),
            request=request,
        )
    )
