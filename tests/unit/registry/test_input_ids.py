"""Run ids and inputs: a run with input of its own has an id of its own (AshOban's uniqueness)."""

from __future__ import annotations

from ember.registry import ActionContext, Domain, Trigger, naming
from examples.helpdesk.models import Ticket


def trigger_with_input() -> Trigger:
    tickets = Domain("ids").resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        pass

    return tickets.trigger("escalate", action=escalate, action_input={"reason": "stale"})


def test_the_input_digest_is_of_canonical_json() -> None:
    assert naming.input_digest({"a": 1, "b": [1, 2]}) == naming.input_digest({"b": [1, 2], "a": 1})
    assert naming.input_digest({"a": 1}) != naming.input_digest({"a": 2})
    assert len(naming.input_digest({"a": 1})) == naming.INPUT_DIGEST_LENGTH


def test_ash_oban_uniqueness_includes_the_input() -> None:
    trigger = trigger_with_input()
    plain = trigger.workflow_id(None, "7")
    assert plain == "ember/ids/tickets/escalate/-/7"
    own = trigger.workflow_id(None, "7", action_input={"reason": "vip"})
    digest = naming.input_digest({"reason": "vip"})
    assert own == f"{plain}/input-{digest}"
    for same_as_declared in (None, {}, {"reason": "stale"}):
        assert trigger.workflow_id(None, "7", action_input=same_as_declared) == plain


def test_ash_oban_merges_action_input_under_the_calls_arguments() -> None:
    trigger = trigger_with_input()
    assert trigger.input_for({"level": 2}) == {"reason": "stale", "level": 2}
    assert trigger.input_for({"reason": "vip"}) == {"reason": "vip"}
    assert trigger.input_for(None) == {"reason": "stale"}
