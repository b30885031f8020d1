"""What the command line prints: outcomes, client errors in its own words, the export line."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from ember.activities.run_results import outcome_text
from ember.activities.types import FailureInfo, Outcome
from ember.registry import InvalidArgument
from ember.worker import actor_ref_option, for_command_line
from ember.workflows.settings import Settings
from ember.workflows.testing.devstack import export_line


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        (Outcome("succeeded", 1), "succeeded"),
        (
            Outcome("discarded", 1, FailureInfo("ember.Forbidden", "forbidden", 1), "forbidden"),
            "discarded: forbidden",
        ),
        (
            Outcome("cancelled", 1, reason="trigger_no_longer_applies"),
            "cancelled: trigger_no_longer_applies",
        ),
        (
            Outcome("failed", 3, FailureInfo("RuntimeError", "boom", 3)),
            "failed: RuntimeError: boom",
        ),
        (
            Outcome("discarded", 1, FailureInfo("RuntimeError", "boom", 1), "on_error_failed"),
            "discarded: on_error_failed (RuntimeError: boom)",
        ),
        (
            Outcome("errored_handled", 2, FailureInfo("ValueError", "bad", 2)),
            "errored_handled: ValueError: bad",
        ),
    ],
)
def test_an_outcome_is_shown_with_its_reason_or_error(outcome: Outcome, line: str) -> None:
    assert outcome_text(outcome) == line


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "tenant: expected none (d.tickets.t has no tenants), found 'acme'; fix: drop "
            "tenant=, or declare tenant_column= / tenant_schema= on the resource",
            "--tenant: expected none (d.tickets.t has no tenants), found 'acme'; fix: drop "
            "--tenant, or declare tenant_column= / tenant_schema= on the resource",
        ),
        (
            "tenant: expected the tenant of this Ticket, found none; fix: pass tenant=...",
            "--tenant: expected the tenant of this Ticket, found none; fix: pass --tenant TENANT",
        ),
        (
            "pk: expected a int key for tickets, found 'x'; fix: pass the record's primary key",
            "pk: expected a int key for tickets, found 'x'; fix: pass the record's primary key",
        ),
    ],
)
def test_client_errors_name_the_command_lines_options(message: str, shown: str) -> None:
    assert for_command_line(InvalidArgument(message), message) == shown


def test_the_export_line_pastes_into_a_shell_as_the_same_settings() -> None:
    settings = Settings(
        app="myapp.triggers:domain",
        database_url="postgresql+psycopg://postgres@/ember?host=/tmp/my dir/.ember/postgres",
        temporal_address="127.0.0.1:7300",
    )
    line = export_line(settings)
    assert line.startswith("export EMBER_APP=myapp.triggers:domain EMBER_DATABASE_URL='")
    assert "EMBER_TASK_QUEUE_PREFIX" not in line
    shell = subprocess.run(
        [
            "sh",
            "-c",
            f'{line}; printf "%s\\n" "$EMBER_APP" "$EMBER_DATABASE_URL" "$EMBER_TEMPORAL_ADDRESS"',
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert shell.stdout.splitlines() == [
        settings.app,
        settings.database_url,
        settings.temporal_address,
    ]
    prefixed = export_line(settings.model_copy(update={"task_queue_prefix": "staging"}))
    assert shlex.split(prefixed)[-1] == "EMBER_TASK_QUEUE_PREFIX=staging"


@pytest.mark.parametrize(
    ("value", "found"),
    [("[7]", "found '[7]', a JSON list"), ("{nope", "found '{nope' (Expecting property name")],
)
def test_actor_ref_must_be_a_json_object(value: str, found: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^--actor-ref: expected a JSON object") as raised:
        actor_ref_option(value)
    assert found in str(raised.value)
    assert actor_ref_option('{"type": "users", "id": 7}') == {"type": "users", "id": 7}
