"""``enqueue_trigger`` takes a trigger's name as ``run_trigger`` does, found through the
record's model; unknown and ambiguous names are refused before anything is written.

Each test declares models no other test declares: a name is looked up in every live
domain with a resource for the record's model.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, InvalidArgument, enqueue_trigger
from ember.registry.tables import outbox
from examples.helpdesk.models import Ticket
from tests.integration.support import running, unique_domain
from tests.integration.test_outbox import run_started
from tests.integration.waiting import outbox_rows


class Base(DeclarativeBase):
    """Models of these tests only."""


class Parcel(Base):
    """Declared by one domain: its names resolve without ``domain=``."""

    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipped: Mapped[bool] = mapped_column(default=False)


class Crate(Base):
    """Declared by several domains: a name of more than one needs ``domain=``."""

    __tablename__ = "crates"

    id: Mapped[int] = mapped_column(primary_key=True)


class Pallet(Base):
    """Declared by no domain."""

    __tablename__ = "pallets"

    id: Mapped[int] = mapped_column(primary_key=True)


def shipping() -> Domain:
    """A domain where ``ship`` names a trigger of parcels and one of tickets."""
    domain = unique_domain()
    parcels = domain.resource(Parcel)
    tickets = domain.resource(Ticket)

    @parcels.action
    async def ship(parcel: Parcel, ctx: ActionContext) -> None:
        parcel.shipped = True

    @tickets.action
    async def close(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.status = "closed"

    parcels.trigger("ship", action=ship, scheduler_cron=None)
    tickets.trigger("ship", action=close, scheduler_cron=None)
    return domain


def packing(domain: Domain) -> Domain:
    """``domain`` with a ``pack`` trigger of crates."""
    crates = domain.resource(Crate)

    @crates.action
    async def pack(crate: Crate, ctx: ActionContext) -> None:
        pass

    crates.trigger("pack", action=pack, scheduler_cron=None)
    return domain


async def test_an_enqueue_by_name_or_object_runs_the_record_models_trigger(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.tables["parcels"].create)
        await connection.execute(insert(Parcel), [{"id": key} for key in (1, 2, 3)])
    domain = shipping()
    ship = domain.get_trigger("parcels", "ship")
    async with running(domain, dev_env, database_url) as ember:
        async with AsyncSession(engine) as session, session.begin():
            parcel = await session.get_one(Parcel, 1)
            await enqueue_trigger(session, parcel, "ship")  # tickets' "ship" is not a Parcel's
            await enqueue_trigger(session, (Parcel, 2), "parcels.ship")
            await enqueue_trigger(session, (Parcel, 3), ship)
        outcomes = [await run_started(ember.client, ship.workflow_id(None, k)) for k in "123"]
        # run_trigger resolves the same names to the same trigger.
        assert ember.build_run((Parcel, 1), "ship").id == ship.workflow_id(None, "1")
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 3
    async with engine.connect() as connection:
        assert list(await connection.scalars(select(Parcel.shipped))) == [True] * 3


async def test_an_enqueue_by_an_unknown_name_lists_the_triggers_and_writes_nothing(
    engine: AsyncEngine,
) -> None:
    packing(unique_domain())
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(InvalidArgument, match=r"found 'packk' \(no such trigger\)") as error:
            await enqueue_trigger(session, (Crate, 1), "packk")
        assert "expected one of (crates.pack" in str(error.value)
        with pytest.raises(InvalidArgument, match=r"found 'parcels\.pack' \(no such trigger\)"):
            await enqueue_trigger(session, (Crate, 1), "parcels.pack")
        with pytest.raises(
            InvalidArgument, match=r"no domain with a resource for Pallet; fix: declare it"
        ):
            await enqueue_trigger(session, (Pallet, 1), "pack")
    assert await outbox_rows(engine) == 0


async def test_an_enqueue_by_a_name_two_domains_declare_needs_domain(
    engine: AsyncEngine,
) -> None:
    first, second = packing(unique_domain()), packing(unique_domain())
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(InvalidArgument, match="pass domain= or the Trigger object") as error:
            await enqueue_trigger(session, (Crate, 1), "pack")
        for domain in (first, second):
            assert f"crates.pack in domain {domain.name!r}" in str(error.value)
        with pytest.raises(InvalidArgument, match=r"found 'crates\.pack' matching"):
            await enqueue_trigger(session, (Crate, 1), "crates.pack")
        with pytest.raises(InvalidArgument, match=f"expected a trigger of domain '{first.name}'"):
            await enqueue_trigger(
                session, (Crate, 1), second.get_trigger("crates", "pack"), domain=first
            )
        assert await outbox_rows(engine) == 0
        await enqueue_trigger(session, (Crate, 1), "crates.pack", domain=second)
    async with engine.connect() as connection:
        (request,) = await connection.scalars(select(outbox.c.request))
    assert (request["domain"], request["resource"], request["trigger"]) == (
        second.name,
        "crates",
        "pack",
    )
