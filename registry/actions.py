"""Actions: the functions triggers and scheduled actions run."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ember.registry.context import ActionContext

Policy = Callable[[Any, Any, ActionContext], bool | Awaitable[bool]]
ActionFunction = Callable[..., Any]


@dataclass(frozen=True)
class Action:
    """A registered action.

    Attributes:
        name: the function's name, unique within its resource.
        function: ``(record, ctx)`` for a record action, ``(ctx)`` for a
            generic one; ``async def`` or plain ``def``.
        takes_record: record action (True) or generic action (False).
        input_model: pydantic model validating the action input, if any.
        policy: ``(actor, record, ctx) -> bool``, plain or ``async def``
            (awaited; it may query ``ctx.session``); a false result denies the run.
        bulk: a bulk action ``(records, ctx)``, called once per chunk with the
            chunk's locked, still-matching records (``@resource.action(bulk=True)``).
    """

    name: str
    function: ActionFunction
    takes_record: bool
    input_model: type[BaseModel] | None = None
    policy: Policy | None = None
    bulk: bool = False

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function."""
        return inspect.iscoroutinefunction(self.function)

    @property
    def kind(self) -> str:
        """``"bulk"``, ``"record"`` or ``"generic"``, for messages."""
        if self.bulk:
            return "bulk"
        return "record" if self.takes_record else "generic"

    def parse_input(self, raw: dict[str, Any]) -> Any:
        """Validate ``raw`` against the input model (a dict passes through without one)."""
        if self.input_model is None:
            return dict(raw)
        return self.input_model.model_validate(raw)


def positional_arity(function: ActionFunction) -> int:
    """How many positional parameters ``function`` takes (``*args`` counts as many)."""
    parameters = inspect.signature(function).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 99
    return sum(1 for p in parameters if p.kind in kinds)


def accepts(function: ActionFunction, count: int) -> bool:
    """Whether ``function`` can be called with exactly ``count`` positional arguments."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (some builtins): let it run
        return True
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def parameters_text(function: ActionFunction) -> str:
    """``function``'s parameters by name only, for messages: ``(ticket, ctx, *, flag)``."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return "(...)"
    kinds = inspect.Parameter
    stars = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}
    parts: list[str] = []
    starred = False
    for parameter in parameters:
        if parameter.kind is kinds.KEYWORD_ONLY and not starred:
            parts.append("*")
        starred = starred or parameter.kind in (kinds.VAR_POSITIONAL, kinds.KEYWORD_ONLY)
        default = "" if parameter.default is kinds.empty else "=..."
        parts.append(f"{stars.get(parameter.kind.name, '')}{parameter.name}{default}")
    return f"({', '.join(parts)})"


def action_name(action: str | ActionFunction) -> str:
    """The name an action is referred to by: the string itself or the function's name."""
    return action if isinstance(action, str) else getattr(action, "__name__", repr(action))
