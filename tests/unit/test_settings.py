"""Settings checked when they are read: each bad value is an error naming its variable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ember.workflows.settings import (
    MAX_LOCK_TIMEOUT,
    Settings,
    describe_errors,
    unknown_variable_warnings,
)


def error_of(**values: Any) -> str:
    """The one-line message ``worker.py`` prints for these settings."""
    with pytest.raises(ValidationError) as raised:
        Settings(**values)
    return describe_errors(raised.value)


LOCK_RANGE = (
    "EMBER_LOCK_TIMEOUT: expected 0 (do not wait) to 2147483.647 seconds (PostgreSQL's "
    "lock_timeout limit), found {found} seconds; fix: give the seconds a row lock may be "
    "waited for, such as 10"
)


@pytest.mark.parametrize(
    ("value", "found"), [("-1", "-1"), (-0.5, "-0.5"), ("2147484", "2.14748e+06")]
)
def test_lock_timeout_outside_what_postgresql_takes(value: Any, found: str) -> None:
    assert error_of(lock_timeout=value) == LOCK_RANGE.format(found=found)


@pytest.mark.parametrize("value", ["0", 0, timedelta(0), "0.0004"])
def test_lock_timeout_zero_means_do_not_wait_not_wait_forever(value: Any) -> None:
    # PostgreSQL reads lock_timeout = 0 as "wait forever"; 1 ms is its shortest wait.
    assert Settings(lock_timeout=value).lock_timeout == timedelta(milliseconds=1)


def test_lock_timeout_up_to_postgresqls_limit_is_kept() -> None:
    assert Settings(lock_timeout="2.5").lock_timeout == timedelta(seconds=2.5)
    assert Settings(lock_timeout=MAX_LOCK_TIMEOUT).lock_timeout == MAX_LOCK_TIMEOUT


def test_lock_timeout_that_is_not_a_duration() -> None:
    assert error_of(lock_timeout="soon") == (
        "EMBER_LOCK_TIMEOUT: expected a valid timedelta, invalid digit in duration, "
        "found 'soon'; fix: correct EMBER_LOCK_TIMEOUT / --lock-timeout"
    )


@pytest.mark.parametrize(("queues", "found"), [("tickets=1001", "'1001'"), ({"tickets": 0}, "0")])
def test_queue_concurrency_outside_1_to_1000(queues: Any, found: str) -> None:
    assert error_of(queues=queues) == (
        f"EMBER_QUEUES: expected concurrency from 1 to 1000 for queue 'tickets', found {found}; "
        "fix: use 1 to 1000 (for more, run more worker processes)"
    )
    assert Settings(queues="tickets=1000").queues == {"tickets": 1000}


@pytest.mark.parametrize("key", ["", "   "])
def test_an_actor_signing_key_set_but_empty(key: str) -> None:
    assert error_of(actor_signing_key=key) == (
        "EMBER_ACTOR_SIGNING_KEY: expected a secret key, found an empty value; fix: set it to "
        "a long random secret shared by workers and clients, or unset it to leave actors "
        "unsigned"
    )


@pytest.mark.parametrize("bind", ["localhost:9464", "0.0.0.0", "0.0.0.0:99999", "[::1]:x"])
def test_metrics_bind_that_is_not_an_ip_and_port(bind: str) -> None:
    assert error_of(metrics_bind=bind) == (
        "EMBER_METRICS_BIND: expected an IP address and port to serve /metrics on, such as "
        f"0.0.0.0:9464 or [::]:9464, found {bind!r}; fix: use an IP address (host names are "
        "not resolved) and a port from 1 to 65535"
    )


@pytest.mark.parametrize("bind", ["0.0.0.0:9464", "127.0.0.1:1", "[::]:9464"])
def test_ip_and_port_metrics_binds_are_kept(bind: str) -> None:
    assert Settings(metrics_bind=bind).metrics_bind == bind
    assert Settings(metrics_bind="").metrics_bind is None


@pytest.mark.parametrize(
    "address", ["localhost", "http://localhost:7233", "localhost:0", "local host:7233", ":7233"]
)
def test_temporal_address_that_is_not_host_and_port(address: str) -> None:
    assert error_of(temporal_address=address) == (
        "EMBER_TEMPORAL_ADDRESS: expected host:port of a Temporal frontend such as "
        f"localhost:7233, found {address!r}; fix: give the host and port alone (no scheme or "
        "path)"
    )


@pytest.mark.parametrize(
    ("url", "found"),
    [
        (
            "mysql://ada:secret@db/app",
            "'mysql://ada:***@db/app'; fix: use the postgresql+psycopg driver",
        ),
        (
            "postgresql+psycopg://ada:secret@db:port/app",
            "'postgresql+psycopg://ada:***@db:port/app' (invalid literal for int() with base "
            "10: 'port'); fix: correct EMBER_DATABASE_URL / --database-url",
        ),
        (
            "postgresql+psycopg://ada:secret@db:70000/app",
            "'postgresql+psycopg://ada:***@db:70000/app' (port 70000); fix: correct "
            "EMBER_DATABASE_URL / --database-url",
        ),
        (
            "ada:secret@db/app",
            "'ada:***@db/app' (not a URL); fix: correct EMBER_DATABASE_URL / --database-url",
        ),
    ],
    ids=["driver", "port-text", "port-range", "no-scheme"],
)
def test_database_url_errors_never_show_the_password(url: str, found: str) -> None:
    message = error_of(database_url=url)
    assert message == (
        "EMBER_DATABASE_URL: expected a postgresql+psycopg://user:password@host:port/database "
        f"URL, found {found}"
    )
    assert "secret" not in message


def test_plain_postgresql_urls_use_psycopg() -> None:
    for scheme in ("postgresql", "postgres"):
        url = Settings(database_url=f"{scheme}://ada@db/app").database_url
        assert url == "postgresql+psycopg://ada@db/app"


def test_other_errors_name_the_variable_and_hide_secrets() -> None:
    assert error_of(database_pool_size=0) == (
        "EMBER_DATABASE_POOL_SIZE: expected greater than or equal to 1, found 0; fix: correct "
        "EMBER_DATABASE_POOL_SIZE / --database-pool-size"
    )
    assert "1234" not in error_of(temporal_api_key=1234)


def test_unknown_ember_variables_are_named_with_the_closest_setting() -> None:
    environ = {
        "EMBER_QUEUE": "tickets=5",
        "ember_lock_timout": "3",
        "EMBER_FLAVOUR": "mint",
        "EMBER_QUEUES": "tickets=5",
        "EMBER_TEST_DATABASE_URL": "postgresql+psycopg://test",
        "EMBER_TEST_ANYTHING": "tests' own",
        "PATH": "/usr/bin",
    }
    assert unknown_variable_warnings(environ) == [
        "EMBER_FLAVOUR is not an Ember setting and is ignored; see `worker.py --help` for "
        "the settings",
        "EMBER_QUEUE is not an Ember setting and is ignored; did you mean EMBER_QUEUES?",
        "ember_lock_timout is not an Ember setting and is ignored; did you mean "
        "EMBER_LOCK_TIMEOUT?",
    ]
