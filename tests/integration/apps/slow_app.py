"""A tiny app for process-level tests: a trigger whose action takes a while.

The domain name comes from ``EMBER_TEST_DOMAIN`` so each test has its own ids.
"""

from __future__ import annotations

import asyncio
import os

from ember.registry import ActionContext, Domain
from examples.helpdesk.models import Ticket


async def slow_escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """Wait ``EMBER_TEST_ACTION_SECONDS`` then escalate."""
    await asyncio.sleep(float(os.environ.get("EMBER_TEST_ACTION_SECONDS", "2")))
    ticket.escalated = True


domain = Domain(os.environ.get("EMBER_TEST_DOMAIN", "slowapp"))
tickets = domain.resource(Ticket)
tickets.action(slow_escalate)
tickets.trigger(
    "slow", action=slow_escalate, where=Ticket.escalated.is_(False), scheduler_cron=None
)
