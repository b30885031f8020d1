"""The helpdesk example's registry: three triggers and one scheduled action.

``helpdesk`` is what ``python worker.py --app examples.helpdesk.app:helpdesk``
loads; tests call :func:`build_helpdesk` with a name of their own so their
Temporal ids never meet.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ember import Backoff, Domain, RowActorPersister, ago
from examples.helpdesk import actions
from examples.helpdesk.models import Organisation, Ticket, User


async def organisations(session: AsyncSession) -> list[str]:
    """Every organisation is a tenant."""
    return list(await session.scalars(select(Organisation.slug).order_by(Organisation.slug)))


def build_helpdesk(name: str = "helpdesk", *, stale_after_hours: float = 4) -> Domain:
    """Declare the helpdesk domain under ``name``."""
    domain = Domain(name)
    tickets = domain.resource(
        Ticket,
        tenant_column="organisation",
        actor_persister=RowActorPersister(User),
        list_tenants=organisations,
    )
    tickets.action(input=actions.EscalateInput, policy=actions.can_escalate)(actions.escalate)
    tickets.action(actions.mark_failed)
    tickets.action(actions.close_stale)
    tickets.action(actions.send_digest)

    tickets.trigger(
        "escalate_stale",
        action=actions.escalate,
        where=(Ticket.status == "open")
        & (Ticket.escalated.is_(False))
        & (Ticket.updated_at < ago(hours=stale_after_hours)),
        scheduler_cron="* * * * *",
        max_attempts=3,
        backoff=Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=10)),
        on_error=actions.mark_failed,
        queue="tickets",
    )
    tickets.trigger(
        "close_stale",
        action=actions.close_stale,
        where=(Ticket.status == "resolved") & (Ticket.updated_at < ago(days=7)),
        scheduler_cron="*/5 * * * *",
        queue="tickets",
        trigger_once=True,
    )
    tickets.trigger(
        "escalate_urgent_now",
        action=actions.escalate,
        where=(Ticket.priority == "urgent") & (Ticket.escalated.is_(False)),
        scheduler_cron=None,
        queue="tickets",
        action_input={"reason": "urgent"},
    )
    tickets.schedule("daily_digest", cron="@daily", action=actions.send_digest, queue="digests")
    return domain


helpdesk = build_helpdesk()
