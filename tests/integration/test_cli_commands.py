"""The worker.py verbs that talk to Temporal: trigger run, schedules, status."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry.tables import OUTBOX_MAX_ATTEMPTS, outbox
from examples.helpdesk.app import build_helpdesk
from examples.helpdesk.models import Ticket, User
from tests.integration.apps.outcomes_app import build_outcomes
from tests.integration.support import add_tickets, running, ticket_values, unique_domain
from tests.integration.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


def cli_env(app: str, name: str, env: WorkflowEnvironment, database_url: str) -> dict[str, str]:
    """The environment of a CLI run: ``tests/integration/apps/<app>`` as domain ``name``."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EMBER_APP": f"tests.integration.apps.{app}:domain",
        "EMBER_TEST_DOMAIN": name,
        "EMBER_DATABASE_URL": database_url,
        "EMBER_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
    }


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_trigger_run_schedules_and_status_from_the_command_line(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1, organisation="acme", priority="urgent")
    async with engine.begin() as connection:
        await connection.execute(
            insert(User).values(id=7, organisation="acme", name="Ada", is_admin=True)
        )
    name = unique_domain("cli").name
    env = cli_env("helpdesk_app", name, dev_env, database_url)
    async with running(build_helpdesk(name), dev_env, database_url):
        code, out, err = await cli(
            env,
            "trigger",
            "run",
            "tickets",
            "escalate_urgent_now",
            str(ticket_id),
            "--tenant",
            "acme",
            "--actor-ref",
            '{"type": "users", "id": 7}',
            "--wait",
        )
        assert code == 0, err
        assert "outcome succeeded" in out
        assert await ticket_values(engine, "escalated_by", [ticket_id]) == [7]

        code, out, err = await cli(env, "schedules", "sync")
        assert code == 0, err
        assert f"created   ember/{name}/tickets/escalate_stale" in out
        code, out, err = await cli(env, "schedules", "pause", "tickets", "escalate_stale")
        assert code == 0 and "pause: " in out, err
        code, out, err = await cli(env, "schedules", "list")
        assert code == 0, err
        digest_id = f"ember/{name}/tickets/daily_digest"
        listed = next(line for line in out.splitlines() if line.startswith(digest_id))
        assert listed.split()[1:4] == ["@daily", "UTC", "active"], listed
        code, out, err = await cli(env, "schedules", "trigger-now", "tickets", "daily_digest")
        assert code == 0, err
        done = (
            f"WorkflowType = 'ember.ScheduledAction' AND TemporalScheduledById = '{digest_id}' "
            "AND ExecutionStatus = 'Completed' AND EmberOutcome = 'succeeded'"
        )

        async def digest_ran() -> bool:
            return (await dev_env.client.count_workflows(done)).count == 1

        await eventually(digest_ran, timeout=60, what="the digest's scheduled run")
        async with engine.begin() as connection:
            await connection.execute(update(Ticket).values(escalated=False, priority="normal"))
            await connection.execute(
                insert(outbox).values(
                    workflow_id="gone",
                    request={"domain": name, "resource": "tickets", "trigger": "gone"},
                    attempts=OUTBOX_MAX_ATTEMPTS,
                )
            )
        code, out, err = await cli(env, "status")
        assert code == 0, err
        stale = next(line for line in out.splitlines() if "escalate_stale" in line)
        assert "paused" in stale and "matching=     1" in stale
        assert stale.endswith('cron="* * * * *" timezone=UTC'), stale
        digest = next(line for line in out.splitlines() if "tickets.daily_digest" in line)
        assert digest.split()[1:3] == ["active", "scheduled"], digest
        assert "succeeded=1" in digest and "last_run=never" not in digest, digest
        assert digest.endswith('cron="@daily" timezone=UTC'), digest
        dead = next(line for line in out.splitlines() if line.startswith("outbox"))
        assert "waiting=     0 dead=1" in dead and "set attempts = 0 to redeliver" in dead

    code, out, err = await cli(env, "trigger", "run", "tickets", "nope", "1")
    assert code == 2 and "trigger: expected one of (" in err and "Traceback" not in err


async def test_trigger_run_wait_prints_each_outcome_and_exits_non_zero_unless_it_succeeded(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    first, second = await add_tickets(engine, 2, organisation="acme")
    name = unique_domain("out").name
    env = cli_env("outcomes_app", name, dev_env, database_url)

    async def run_wait(trigger: str, pk: int) -> tuple[int, str]:
        code, out, err = await cli(
            env, "trigger", "run", "tickets", trigger, str(pk), "--tenant", "acme", "--wait"
        )
        assert "Traceback" not in err, err
        (line,) = [line for line in out.splitlines() if line.startswith("outcome ")]
        return code, line

    async with running(build_outcomes(name), dev_env, database_url):
        assert await run_wait("escalate", first) == (0, "outcome succeeded after 1 attempt(s)")
        assert await run_wait("escalate", first) == (
            1,
            "outcome cancelled: trigger_no_longer_applies after 1 attempt(s)",
        )
        assert await run_wait("refuse", second) == (
            1,
            "outcome discarded: forbidden after 1 attempt(s)",
        )
        assert await run_wait("explode", second) == (
            1,
            f"outcome failed: RuntimeError: boom on ticket {second} after 1 attempt(s)",
        )

        # The client's check of the tenant, worded for the command line.
        code, _, err = await cli(env, "trigger", "run", "tickets", "escalate", str(second))
        assert code == 2, err
        assert err.strip() == (
            "error: --tenant: expected the tenant of this Ticket "
            f"({name}.tickets.escalate is tenanted), found none; fix: pass --tenant TENANT"
        )
