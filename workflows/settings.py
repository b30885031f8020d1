"""Process settings: ``EMBER_*`` environment variables, each also a worker.py option."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import ipaddress
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ember.registry import ConfigurationError, naming
from ember.registry.signing import DEFAULT_MAX_AGE

DEFAULT_CONCURRENCY = 10
# Runs one worker process takes on per queue: beyond this, run more worker processes.
MAX_CONCURRENCY = 1000
# PostgreSQL's lock_timeout is an int of milliseconds; its 0 means "wait forever", so
# Ember sends its shortest real wait instead (EMBER_LOCK_TIMEOUT=0: do not wait).
MAX_LOCK_TIMEOUT = timedelta(milliseconds=2_147_483_647)
SHORTEST_LOCK_WAIT = timedelta(milliseconds=1)
# Left to tests (the pytest plugin reads EMBER_TEST_DATABASE_URL ...): never warned about.
TEST_PREFIX = "EMBER_TEST_"
# Runs a worker keeps in memory between their tasks, per queue: Temporal's default, and a
# budget in records for queues whose triggers run chunks (a cached chunk run holds all its
# records: about 0.6 KB each, as measured with the bench's 1M-row scan).
DEFAULT_WORKFLOW_CACHE_SIZE = 1000
CHUNK_CACHE_RECORDS = 50_000
MIN_WORKFLOW_CACHE_SIZE = 10


class SettingsError(ConfigurationError):
    """Settings that do not validate; the message names each variable to fix, on one line."""


def parse_queues(value: Any) -> dict[str, int]:
    """``"tickets=10,default=5"`` (or a dict) to ``{"tickets": 10, "default": 5}``."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, str):
        items = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, count = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(
                    "expected name=concurrency pairs such as 'tickets=10,default=5', "
                    f"found {part!r}"
                )
            items.append((name.strip(), count.strip()))
    else:
        raise ValueError(f"expected 'name=concurrency,...', found {value!r}")
    queues: dict[str, int] = {}
    for name, count in items:
        try:
            queues[str(name)] = int(count)
        except (TypeError, ValueError):
            raise ValueError(
                f"expected a whole number of concurrent runs for queue {name!r}, found {count!r}"
            ) from None
        if not 1 <= queues[str(name)] <= MAX_CONCURRENCY:
            raise ValueError(
                f"expected concurrency from 1 to {MAX_CONCURRENCY} for queue {name!r}, found "
                f"{count!r}; fix: use 1 to {MAX_CONCURRENCY} (for more, run more worker "
                "processes)"
            )
    return queues


class Settings(BaseSettings):
    """Everything the worker and client need to reach PostgreSQL and Temporal.

    Each field is read from ``EMBER_<FIELD>`` (e.g. ``EMBER_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="EMBER_", extra="forbid", frozen=True)

    app: str | None = Field(default=None, description="module:attribute of the Domain")
    database_url: str | None = Field(default=None, description="postgresql+psycopg://...")
    temporal_address: str = Field(default="localhost:7233", description="Temporal frontend")
    temporal_namespace: str = Field(default="default", description="Temporal namespace")
    temporal_tls: bool | None = Field(
        default=None, description="TLS on/off (default: on with a certificate, CA or API key)"
    )
    temporal_tls_server_ca: str | None = Field(
        default=None, description="CA the server certificate is checked against (PEM path)"
    )
    temporal_tls_cert: str | None = Field(default=None, description="client certificate (PEM path)")
    temporal_tls_key: str | None = Field(default=None, description="client key (PEM path)")
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key")
    queues: dict[str, int] | None = Field(
        default=None, description="queue=concurrency,... (every registry queue, 10 each)"
    )
    require_all_queues: bool = Field(
        default=True,
        description="true: this worker runs every queue of the registry; false: EMBER_QUEUES "
        "may name some (other workers run the rest)",
    )
    metrics_bind: str | None = Field(default=None, description="host:port of /metrics")
    task_queue_prefix: str = Field(
        default="", description="environment prefix of every task queue, workflow and schedule id"
    )
    actor_signing_key: SecretStr | None = Field(
        default=None, description="HMAC key signing actor references"
    )
    actor_max_age: timedelta = Field(
        default=DEFAULT_MAX_AGE,
        gt=timedelta(0),
        description="refuse an actor reference signed longer than this before its run started",
    )
    lock_timeout: timedelta = Field(
        default=timedelta(seconds=10), description="wait for a row lock before retrying"
    )
    database_pool_size: int = Field(default=10, ge=1, description="connections per worker")
    workflow_cache_size: int | None = Field(
        default=None,
        ge=0,
        description="runs kept in memory per queue (default: 1000, fewer for chunk queues)",
    )
    log_json: bool = Field(default=False, description="one JSON object per log line")

    @field_validator("queues", mode="before")
    @classmethod
    def _parse_queues(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_queues(value)

    @field_validator("task_queue_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        return naming.check_prefix(value)

    @field_validator("lock_timeout", "actor_max_age", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """``"3"`` or ``"2.5"`` (an environment variable or option) is seconds."""
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return value

    @field_validator("lock_timeout")
    @classmethod
    def _check_lock_timeout(cls, value: timedelta) -> timedelta:
        """0 to PostgreSQL's limit; 0 (and less than 1 ms) becomes 1 ms: do not wait."""
        if not timedelta(0) <= value <= MAX_LOCK_TIMEOUT:
            limit = MAX_LOCK_TIMEOUT.total_seconds()
            raise ValueError(
                f"expected 0 (do not wait) to {limit:.3f} seconds (PostgreSQL's lock_timeout "
                f"limit), found {value.total_seconds():g} seconds; fix: give the seconds a "
                "row lock may be waited for, such as 10"
            )
        return max(value, SHORTEST_LOCK_WAIT)

    @field_validator("actor_signing_key")
    @classmethod
    def _check_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "expected a secret key, found an empty value; fix: set it to a long random "
                "secret shared by workers and clients, or unset it to leave actors unsigned"
            )
        return value

    @field_validator("metrics_bind")
    @classmethod
    def _check_metrics_bind(cls, value: str | None) -> str | None:
        if not value:
            return None
        host, _, port = value.rpartition(":")
        try:
            ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
            valid = _is_port(port)
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(
                f"expected an IP address and port to serve /metrics on, such as 0.0.0.0:9464 "
                f"or [::]:9464, found {value!r}; fix: use an IP address (host names are not "
                "resolved) and a port from 1 to 65535"
            )
        return value

    @field_validator("temporal_address")
    @classmethod
    def _check_temporal_address(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or "/" in value or any(c.isspace() for c in value) or not _is_port(port):
            raise ValueError(
                f"expected host:port of a Temporal frontend such as localhost:7233, found "
                f"{value!r}; fix: give the host and port alone (no scheme or path)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        expected = "expected a postgresql+psycopg://user:password@host:port/database URL"
        fix = "fix: correct EMBER_DATABASE_URL / --database-url"
        try:
            url = make_url(value)
            port = url.port
        except (ArgumentError, ValueError) as error:
            reason = "not a URL" if isinstance(error, ArgumentError) else str(error)
            found = f"{_without_password(value)!r} ({reason})"
            raise ValueError(f"{expected}, found {found}; {fix}") from None
        shown = url.render_as_string(hide_password=True)
        if url.drivername not in ("postgresql+psycopg", "postgresql", "postgres"):
            raise ValueError(f"{expected}, found {shown!r}; fix: use the postgresql+psycopg driver")
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"{expected}, found {shown!r} (port {port}); {fix}")
        if url.drivername != "postgresql+psycopg":
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    def queue_concurrency(self, registry_queues: set[str]) -> dict[str, int]:
        """The queues to run: the configured ones, or every registry queue at the default."""
        if self.queues is not None:
            return dict(self.queues)
        return {queue: DEFAULT_CONCURRENCY for queue in sorted(registry_queues)}

    def workflow_cache(self, largest_chunk: int | None) -> int:
        """Runs cached per queue: the setting, else ``DEFAULT_WORKFLOW_CACHE_SIZE`` runs, or
        about ``CHUNK_CACHE_RECORDS`` records when the queue's largest ``chunk_size`` is
        ``largest_chunk`` (a chunk run holds all its records, so memory stays bounded).
        """
        if self.workflow_cache_size is not None:
            return self.workflow_cache_size
        if largest_chunk is None:
            return DEFAULT_WORKFLOW_CACHE_SIZE
        by_records = CHUNK_CACHE_RECORDS // largest_chunk
        return max(MIN_WORKFLOW_CACHE_SIZE, min(DEFAULT_WORKFLOW_CACHE_SIZE, by_records))

    def signing_key(self) -> bytes | None:
        """The actor signing key as bytes, or None when references are not signed."""
        key = self.actor_signing_key
        return key.get_secret_value().encode() if key else None

    def require_database_url(self) -> str:
        """The database URL, or a ConfigurationError naming the variable to set."""
        if not self.database_url:
            raise ConfigurationError(
                "EMBER_DATABASE_URL: expected a postgresql+psycopg://... URL, found nothing; "
                "fix: set EMBER_DATABASE_URL or pass --database-url"
            )
        return self.database_url


def _is_port(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 65535


def _without_password(url: str) -> str:
    """``url`` with the password between ``user:`` and ``@`` masked."""
    return re.sub(r"(^|://)([^:/@]*):[^@/]*@", r"\1\2:***@", url)


def unknown_variable_warnings(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``EMBER_*`` variable that is no setting, with the closest name
    (``EMBER_TEST_*`` belong to tests)."""
    known = [f"EMBER_{name.upper()}" for name in Settings.model_fields]
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("EMBER_") or upper.startswith(TEST_PREFIX) or upper in known:
            continue
        bare = [variable.removeprefix("EMBER_") for variable in known]  # the prefix all share
        close = difflib.get_close_matches(upper.removeprefix("EMBER_"), bare, n=1)
        hint = "see `worker.py --help` for the settings"
        if close:
            hint = f"did you mean EMBER_{close[0]}?"
        warnings.append(f"{name} is not an Ember setting and is ignored; {hint}")
    return warnings


def describe_errors(error: ValidationError) -> str:
    """The settings errors of ``error``, each naming its variable, on one line."""
    lines = []
    for item in error.errors():
        variable = f"EMBER_{'_'.join(str(p) for p in item['loc']).upper()}"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] != "value_error":
            secret = variable in ("EMBER_ACTOR_SIGNING_KEY", "EMBER_TEMPORAL_API_KEY")
            found = "the value given" if secret else repr(item.get("input"))
            expected = (message[:1].lower() + message[1:]).removeprefix("input should be ")
            option = "--" + variable.removeprefix("EMBER_").lower().replace("_", "-")
            message = f"expected {expected}, found {found}; fix: correct {variable} / {option}"
        lines.append(f"{variable}: {message}")
    return "; ".join(lines)


SETTING_OPTIONS = {
    name: f"{field.description} (EMBER_{name.upper()})"
    for name, field in Settings.model_fields.items()
}
"""Every setting as a command-line ``--option``, with the description the model gives it."""


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the options given.

    Raises:
        SettingsError: a value is wrong; the message names each variable to fix.
    """
    given = {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name, None)}
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from error


def add_setting_options(parser: argparse.ArgumentParser, *, shown: bool) -> None:
    """Every setting as ``--option``, and ``--debug``, on ``parser``.

    On the top-level parser they are ``shown`` with their help and default to None; on
    each (nested) subcommand they are accepted too, hidden, and default to SUPPRESS, so
    a value given before the subcommand is not overwritten by the subcommand's default.
    """
    default = None if shown else argparse.SUPPRESS
    for name, help_text in SETTING_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=default,
            help=help_text if shown else argparse.SUPPRESS,
        )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if shown else argparse.SUPPRESS,
        help="show tracebacks and debug logs" if shown else argparse.SUPPRESS,
    )
