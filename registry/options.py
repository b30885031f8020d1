"""Trigger and scheduled-action options: frozen pydantic models, misspellings rejected,
and their validation errors as located problems."""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import ColumnClause

from ember.registry.actors import ActorPersister
from ember.registry.errors import Problem

State = Literal["active", "paused", "deleted"]
TenantList = Sequence[str] | Callable[..., Any]
FixedBackoff = Annotated[timedelta, Field(gt=timedelta(0))]
FixedTimeout = Annotated[timedelta, Field(gt=timedelta(0))]
AttemptDuration = Callable[[int], timedelta]
"""A function of the attempt number (1-based): a retry's delay, or an attempt's time limit."""
MAX_TAG_LENGTH = 100
Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH)]


class Backoff(BaseModel):
    """Exponential retry spacing: ``initial * coefficient ** (n - 1)``, at most ``maximum``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial: timedelta = Field(default=timedelta(seconds=15), gt=timedelta(0))
    coefficient: float = Field(default=2.0, ge=1.0)
    maximum: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))


def _name_of(value: Any) -> Any:
    """Accept an action given as the function itself; keep its name."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "__name__", value)


def _time_zone(value: Any) -> Any:
    """Accept an IANA time zone name that zoneinfo knows; leave other types to pydantic."""
    if isinstance(value, str):
        try:
            zoneinfo.ZoneInfo(value)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValueError("an IANA time zone name such as 'Europe/Paris' or 'UTC'") from None
    return value


TimeZone = Annotated[str, BeforeValidator(_time_zone)]
DEFAULT_TIME_ZONE = "UTC"  # Temporal's, for a schedule without a time zone


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class TriggerOptions(_Options):
    """Options of ``resource.trigger(name, ...)``; see the README's DSL reference."""

    action: str = Field(
        description="action to run on each record: (record, ctx), or generic (ctx) given "
        "ctx.record_key"
    )
    where: Any = Field(default=None, description="SQLAlchemy condition, re-checked under the lock")
    scheduler_cron: str | None = Field(
        default="* * * * *", description="scan schedule; None = only run_trigger"
    )
    # The cron's time zone (Temporal's ScheduleSpec.time_zone_name).
    timezone: TimeZone = Field(
        default=DEFAULT_TIME_ZONE, description="IANA time zone scheduler_cron is read in"
    )
    queue: str | None = Field(default=None, description="queue of record runs (resource name)")
    scheduler_queue: str | None = Field(default=None, description="queue of scans (queue)")
    max_attempts: int = Field(default=1, ge=1, description="attempts of the action")
    max_scheduler_attempts: int = Field(default=1, ge=1, description="attempts of each scan page")
    backoff: FixedBackoff | Backoff | AttemptDuration = Field(
        default_factory=Backoff,
        description="retry spacing: fixed timedelta, Backoff, or attempt -> timedelta "
        "(the delay after that attempt failed)",
    )
    timeout: FixedTimeout | AttemptDuration = Field(
        default=timedelta(minutes=5), description="one attempt's time limit, or attempt -> it"
    )
    on_error: str | None = Field(default=None, description="action run after the last failure")
    on_error_fails_job: bool = Field(
        default=False, description="report failed even when on_error succeeds"
    )
    lock_for_update: bool = Field(default=True, description="SELECT ... FOR UPDATE the row")
    trigger_once: bool = Field(default=False, description="never run again once succeeded")
    read_action: Callable[[], Any] | None = Field(
        default=None, description="callable returning the Select to scan"
    )
    worker_read_action: Callable[[], Any] | None = Field(
        default=None, description="callable returning the Select to re-read with"
    )
    sort: tuple[str, ...] | None = Field(
        default=None, description="scan order: column names, '-name' descending (primary key)"
    )
    record_limit: int | None = Field(default=None, ge=1, description="at most this many per scan")
    stream_batch_size: int = Field(default=500, ge=1, description="rows per scan page")
    read_metadata: Callable[[Any], dict[str, Any]] | None = Field(
        default=None, description="record -> dict given as ctx.metadata"
    )
    action_input: dict[str, Any] = Field(default_factory=dict, description="the action's input")
    extra_args: dict[str, Any] | Callable[[Any], dict[str, Any]] = Field(
        default_factory=dict, description="ctx.extra of every run: a dict, or record -> dict"
    )
    tags: tuple[Tag, ...] = Field(
        default=(), description="labels of every run, searchable as EmberTags = 'tag'"
    )
    list_tenants: TenantList | None = Field(default=None, description="tenants (resource's)")
    use_tenant_from_record: bool = Field(
        default=True,
        description="global scope (no list_tenants): each run under its record's tenant "
        "column; False: with no tenant",
    )
    state: State = Field(default="active", description="active, paused or deleted")
    worker_priority: int = Field(default=2, ge=0, le=3, description="0 (highest) to 3")
    scheduler_priority: int = Field(default=2, ge=0, le=3, description="0 (highest) to 3")
    debug: bool = Field(default=False, description="log every step, and failures' tracebacks")
    log_errors: bool = Field(default=True, description="log each failed attempt")
    log_final_error: bool = Field(default=True, description="log the final failure")
    chunk_size: int | None = Field(
        default=None, ge=1, description="records per workflow instead of one each"
    )
    local_activity: bool = Field(
        default=False, description="run the action as a local activity (short actions)"
    )
    actor_persister: ActorPersister | None = Field(
        default=None, description="turns actors into references and back (resource's)"
    )
    default_actor: Any = Field(default=None, description="actor of runs without one (domain's)")

    _normalise_action = field_validator("action", "on_error", mode="before")(_name_of)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        """Only a list or tuple: a string or SQL column would be taken apart."""
        if not isinstance(value, list | tuple):
            raise ValueError("a list of tags such as ['billing', 'urgent']")
        return value

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_names(cls, value: Any) -> Any:
        """Accept a name, or a list of names or mapped columns; leave the rest to pydantic."""
        if isinstance(value, str | QueryableAttribute | ClauseElement):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(_sort_name(v) for v in value)
        return value


def _sort_name(value: Any) -> Any:
    """A mapped attribute or column as its name; other SQL is not a column name."""
    if isinstance(value, QueryableAttribute | ColumnClause):
        return value.key
    if isinstance(value, ClauseElement):
        raise ValueError("column names such as ['-created_at'], not a SQL expression")
    return value


class ScheduleOptions(_Options):
    """Options of ``resource.schedule(name, ...)``, a cron-run generic action."""

    cron: str = Field(description="when to run")
    # The cron's time zone (Temporal's ScheduleSpec.time_zone_name).
    timezone: TimeZone = Field(
        default=DEFAULT_TIME_ZONE, description="IANA time zone cron is read in"
    )
    action: str = Field(description="generic action to run (the function or its name)")
    action_input: dict[str, Any] = Field(default_factory=dict, description="the action's input")
    queue: str | None = Field(default=None, description="queue (resource name)")
    max_attempts: int = Field(default=1, ge=1, description="attempts of the action")
    backoff: FixedBackoff | Backoff | AttemptDuration = Field(
        default_factory=Backoff, description="retry spacing (as a trigger's)"
    )
    timeout: FixedTimeout | AttemptDuration = Field(
        default=timedelta(minutes=5), description="one attempt's limit (as a trigger's)"
    )
    priority: int = Field(default=2, ge=0, le=3, description="0 (highest) to 3")
    state: State = Field(default="active", description="active, paused or deleted")
    tenants: TenantList | None = Field(default=None, description="tenants (resource's)")
    actor_persister: ActorPersister | None = Field(
        default=None, description="turns actors into references and back (resource's)"
    )
    default_actor: Any = Field(default=None, description="actor of runs without one (domain's)")

    _normalise_action = field_validator("action", mode="before")(_name_of)


def option_problems(path: str, error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn a pydantic error on declared options into located problems.

    A value no member of a union option accepts (``backoff``, ``list_tenants``)
    is one problem at the option, listing what each member expected.
    """
    problems: dict[str, Problem] = {}
    known = sorted(model.model_fields)
    for item in error.errors():
        loc = _option_loc(model, item["loc"])
        option = dotted(loc) or "options"
        found = repr(item.get("input"))
        if item["type"] == "extra_forbidden" and len(loc) > 1:  # inside Backoff(...)
            hint = f"remove {loc[-1]!r} from {loc[0]}"
            problem = Problem(f"{path}.{option}", "a known field", "unknown field", hint)
        elif item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(option, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(known)}"
            problem = Problem(f"{path}.{option}", "a known option", "unknown option", hint)
        elif item["type"] == "missing":
            problem = Problem(f"{path}.{option}", "a value", "nothing", f"pass {option}=...")
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
            expected = message.removeprefix("input should be ").removeprefix("value error, ")
            earlier = problems.get(f"{path}.{option}")
            if earlier is not None:
                expected = f"{earlier.expected} or {expected}"
            problem = Problem(f"{path}.{option}", expected, found, f"change {option}")
        problems[problem.path] = problem
    # A value that got inside one union member (backoff={"initial": -1}) is located there;
    # the other members' "not my type" errors at the option itself are noise.
    return [
        problem
        for problem in problems.values()
        if not any(other.startswith(f"{problem.path}.") for other in problems)
    ]


def _option_loc(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` without the member labels pydantic inserts after a union option's name."""
    field = model.model_fields.get(str(loc[0])) if loc else None
    union = field is not None and get_origin(field.annotation) in (Union, UnionType)
    if union and len(loc) > 1 and isinstance(loc[1], str):
        return (loc[0], *loc[2:])
    return loc


def dotted(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a path; a key that is not printable (``"\\n"``) as its repr."""
    return ".".join(str(p) if str(p).isprintable() else repr(p) for p in loc)
