"""Demo rows for the helpdesk: three organisations, their agents and ~600 tickets.

The mix is chosen so every trigger of :mod:`examples.helpdesk.app` has work to do:
stale open tickets for ``escalate_stale``, week-old resolved tickets for ``close_stale``
and a few urgent ones for ``escalate_urgent_now``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from examples.helpdesk.models import Organisation, Ticket, User

ORGANISATIONS = {"acme": "Acme Corp", "globex": "Globex Corporation", "initech": "Initech"}
AGENTS = ("Ada", "Grace", "Linus", "Barbara")
TICKETS_PER_ORGANISATION = 200
SUBJECTS = (
    "Cannot log in",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Password reset email never arrives",
    "Dashboard loads slowly",
    "Feature request: dark mode",
    "API returns 500 on /orders",
    "Two-factor codes rejected",
)


def _ticket(rng: random.Random, organisation: str, now: datetime) -> dict[str, Any]:
    roll = rng.random()
    closed_at = None
    if roll < 0.35:  # open and untouched for 5-48 hours: escalate_stale matches
        status, age = "open", timedelta(hours=rng.uniform(5, 48))
    elif roll < 0.55:  # open and recently touched: not yet stale
        status, age = "open", timedelta(minutes=rng.uniform(1, 180))
    elif roll < 0.75:  # resolved over a week ago: close_stale matches
        status, age = "resolved", timedelta(days=rng.uniform(8, 30))
    elif roll < 0.9:  # resolved this week
        status, age = "resolved", timedelta(days=rng.uniform(0.1, 6))
    else:  # already closed
        status, age = "closed", timedelta(days=rng.uniform(10, 60))
        closed_at = now - age
    priority = rng.choices(["low", "normal", "high", "urgent"], weights=[20, 60, 17, 3])[0]
    return {
        "organisation": organisation,
        "subject": rng.choice(SUBJECTS),
        "status": status,
        "priority": priority,
        "escalated": False,
        "updated_at": now - age,
        "closed_at": closed_at,
    }


async def seed_demo_rows(session: AsyncSession, *, seed: int = 7) -> int:
    """Insert the demo rows unless there are tickets already, and commit.

    Args:
        session: a session on a database holding the helpdesk tables.
        seed: seed of the random mix, so runs are repeatable.

    Returns:
        The number of tickets inserted (0 when the database already had tickets).
    """
    if await session.scalar(select(func.count()).select_from(Ticket)):
        return 0
    rng = random.Random(seed)
    now = datetime.now(UTC)
    existing = set(await session.scalars(select(Organisation.slug)))
    organisations = [
        {"slug": slug, "name": name} for slug, name in ORGANISATIONS.items() if slug not in existing
    ]
    if organisations:
        await session.execute(insert(Organisation), organisations)
    staffed = set(await session.scalars(select(User.organisation).distinct()))
    users = [
        {"organisation": slug, "name": f"{agent} ({slug})", "is_admin": index == 0}
        for slug in ORGANISATIONS
        if slug not in staffed
        for index, agent in enumerate(AGENTS)
    ]
    if users:
        await session.execute(insert(User), users)
    tickets = [
        _ticket(rng, slug, now) for slug in ORGANISATIONS for _ in range(TICKETS_PER_ORGANISATION)
    ]
    await session.execute(insert(Ticket), tickets)
    await session.commit()
    return len(tickets)
