"""The helpdesk's actions: what its triggers and scheduled action do."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from ember import ActionContext, checks
from examples.helpdesk.models import Digest, Ticket, User


class EscalateInput(BaseModel):
    """Input of ``escalate``."""

    reason: str = "stale"


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """Flag an open ticket nobody touched for hours."""
    ticket.escalated = True
    ticket.priority = "urgent"
    if isinstance(ctx.actor, User):
        ticket.escalated_by = ctx.actor.id


async def mark_failed(ticket: Ticket, ctx: ActionContext) -> None:
    """Record on the ticket why escalation failed for good."""
    assert ctx.error is not None
    ticket.last_error = f"{ctx.error.type}: {ctx.error.message}"
    ticket.escalated = True


async def close_stale(ticket: Ticket, ctx: ActionContext) -> None:
    """Close a resolved ticket after a quiet week."""
    ticket.status = "closed"
    ticket.closed_at = func.now()


def can_escalate(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
    """Scans may always escalate; a run started on demand only for an admin.

    ``checks.trigger_interaction`` is true for every run Ember starts (as AshOban's
    ``AshObanInteraction``), on-demand ones included; ``ctx.source`` tells them apart.
    """
    if not checks.trigger_interaction(ctx):
        return False
    return ctx.source != "direct" or (isinstance(actor, User) and actor.is_admin)


async def send_digest(ctx: ActionContext) -> None:
    """Write today's count of open tickets for the tenant."""
    count = await ctx.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.status == "open", Ticket.organisation == ctx.tenant)
    )
    ctx.session.add(Digest(organisation=ctx.tenant, open_tickets=count or 0))
