"""Building the ``ActionContext`` an action runs with: the one place for record, chunk,
bulk and scheduled runs alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ember.activities.actors import resolve_actor
from ember.activities.runtime import WorkerRuntime
from ember.activities.types import FailureInfo, RunSource
from ember.registry import Action, ActionContext, ErrorInfo, ScheduledAction, Trigger
from ember.registry.signing import Scope


async def action_context(
    runtime: WorkerRuntime,
    declaration: Trigger | ScheduledAction,
    action: Action,
    session: AsyncSession,
    *,
    actor: dict[str, Any] | None,
    scope: Scope,
    started_at: float | None,
    tenant: str | None,
    given_input: dict[str, Any] | None,
    source: RunSource,
    attempt: int,
    max_attempts: int,
    error: FailureInfo | None = None,
    **record: Any,
) -> ActionContext:
    """The context of one attempt: the actor restored from its sealed reference (checked
    for ``scope``), the input merged and validated, the attempt, the error (on_error
    runs) and, for record runs, ``record``'s fields (``metadata``, ``extra``, ``record_key``).

    Raises:
        ActorNotFound: the reference is refused or names nobody.
    """
    return ActionContext(
        session=session,
        actor=await resolve_actor(
            declaration, actor, runtime.config.signer, scope, session, started_at=started_at
        ),
        tenant=tenant,
        input=action.parse_input(declaration.input_for(given_input)),
        trigger=declaration.name,
        source=source,
        attempt=attempt,
        max_attempts=max_attempts,
        last_attempt=attempt >= max_attempts,
        error=None if error is None else ErrorInfo(error.type, error.message, error.attempt),
        shared=dict(declaration.resource.domain.shared_context),
        **record,
    )
