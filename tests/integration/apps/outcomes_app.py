"""Triggers ending each way ``trigger run --wait`` reports (``EMBER_TEST_DOMAIN`` names it)."""

from __future__ import annotations

import os
from typing import Any

from ember.registry import ActionContext, Domain
from examples.helpdesk.models import Ticket


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """Succeeds: flags the ticket."""
    ticket.escalated = True


async def explode(ticket: Ticket, ctx: ActionContext) -> None:
    """Fails every attempt."""
    raise RuntimeError(f"boom on ticket {ticket.id}")


def nobody(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
    """A policy that denies every run."""
    return False


async def guarded(ticket: Ticket, ctx: ActionContext) -> None:
    """Never runs: its policy denies everyone."""
    ticket.escalated = True


def build_outcomes(name: str) -> Domain:
    """Domain ``name``: escalate (not yet escalated tickets), explode and refuse."""
    domain = Domain(name)
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme"])
    tickets.action(escalate)
    tickets.action(explode)
    tickets.action(policy=nobody)(guarded)
    tickets.trigger(
        "escalate", action=escalate, where=Ticket.escalated.is_(False), scheduler_cron=None
    )
    tickets.trigger("explode", action=explode, scheduler_cron=None)
    tickets.trigger("refuse", action=guarded, scheduler_cron=None)
    return domain


domain = build_outcomes(os.environ.get("EMBER_TEST_DOMAIN", "outcomes_cli"))
