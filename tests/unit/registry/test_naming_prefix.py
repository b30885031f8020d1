"""The task queue prefix in every id: environments on one namespace never share an id."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ember.registry import ActionContext, Domain, naming
from examples.helpdesk.models import Ticket

NAME = st.text(alphabet="ab1_-", min_size=1, max_size=6)  # domain names: no '.', '/' or '@'
PREFIX = st.one_of(st.just(""), st.text(alphabet="ab1_-.", min_size=1, max_size=6))


def test_without_a_prefix_ids_are_those_of_earlier_versions() -> None:
    assert naming.domain_prefix("billing") == "ember/billing/"
    assert naming.record_workflow_id("billing", "invoices", "remind", None, "42") == (
        "ember/billing/invoices/remind/-/42"
    )


def test_a_prefix_goes_into_every_schedule_and_workflow_id() -> None:
    names = ("billing", "invoices", "remind")
    expected_base = "ember@staging/billing/invoices/remind"
    assert naming.domain_prefix("billing", "staging") == "ember@staging/billing/"
    assert naming.schedule_id(*names, prefix="staging") == expected_base
    assert naming.record_workflow_id(*names, "acme", "42", prefix="staging") == (
        f"{expected_base}/acme/42"
    )
    assert naming.chunk_workflow_id(*names, None, "1", "9", prefix="staging") == (
        f"{expected_base}/-/chunk/1..9"
    )
    assert naming.scan_workflow_id(*names, "acme", prefix="staging") == f"{expected_base}/acme/scan"
    assert naming.scheduled_action_workflow_id(*names, None, prefix="staging") == (
        f"{expected_base}/-/run"
    )


def test_a_declaration_s_ids_follow_the_prefix_it_is_given() -> None:
    tickets = Domain("helpdesk").resource(Ticket)

    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        """A record action."""

    tickets.action(escalate)
    trigger = tickets.trigger("escalate", action=escalate, scheduler_cron=None)
    assert trigger.schedule_id == trigger.schedule_id_for("") == "ember/helpdesk/tickets/escalate"
    assert trigger.schedule_id_for("blue") == "ember@blue/helpdesk/tickets/escalate"
    assert trigger.workflow_id("acme", "7", "blue") == "ember@blue/helpdesk/tickets/escalate/acme/7"


@given(first=st.tuples(PREFIX, NAME), second=st.tuples(PREFIX, NAME))
def test_two_environments_or_domains_never_share_an_id_prefix(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    """No id of one (prefix, domain) starts with another's: sync, status and teardown
    (which select by id prefix) only ever see their own."""
    if first == second:
        return
    ours = naming.domain_prefix(first[1], first[0])
    theirs = naming.domain_prefix(second[1], second[0])
    assert not theirs.startswith(ours)
    assert not naming.schedule_id(second[1], "r", "t", prefix=second[0]).startswith(ours)


def test_a_domain_named_like_a_prefix_does_not_alias_it() -> None:
    # ``ember/<prefix>/<domain>/`` would make these two the same schedule.
    unprefixed = naming.schedule_id("staging", "billing", "remind")
    prefixed = naming.schedule_id("billing", "remind", "x", prefix="staging")
    assert not prefixed.startswith(naming.domain_prefix("staging"))
    assert not unprefixed.startswith(naming.domain_prefix("billing", "staging"))


@pytest.mark.parametrize("prefix", ["", "staging", "team.staging", "blue-2", "q_a"])
def test_valid_prefixes_are_kept(prefix: str) -> None:
    assert naming.check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["a/b", "it's", "a@b", "two words"])
def test_a_prefix_that_could_run_into_an_id_s_other_parts_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="EMBER_TASK_QUEUE_PREFIX: expected letters") as error:
        naming.check_prefix(prefix)
    assert repr(prefix) in str(error.value)
