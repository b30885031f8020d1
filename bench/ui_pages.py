"""What each Temporal UI page ``bench.ui_check`` renders must show (else CheckFailed)."""

from __future__ import annotations

import html
from urllib.parse import unquote

from bench.chromium import Page
from ember.registry import naming
from examples.helpdesk.app import helpdesk
from examples.helpdesk.models import User

RESOURCE = "tickets"
TRIGGER = "escalate_stale"


class CheckFailed(Exception):
    """The UI did not show what it should (exit status 1)."""


def record_id_prefix() -> str:
    """What every ``escalate_stale`` record workflow id starts with."""
    return naming.schedule_id(helpdesk.name, RESOURCE, TRIGGER) + "/"


def check_list(page: Page) -> int:
    """How many record workflow ids the list page shows.

    Raises:
        CheckFailed: it shows no record workflow.
    """
    prefix = record_id_prefix()
    ids = page.dom.count(prefix)
    types = page.dom.count(naming.RECORD_WORKFLOW)
    if not ids or not types:
        raise CheckFailed(
            f"expected the workflow list at {page.url} to show {TRIGGER} record workflows "
            f"(ids starting {prefix!r}, type {naming.RECORD_WORKFLOW!r}), found {ids} ids and "
            f"{types} type names; see {page.screenshot} and {page.keep_dom()}"
        )
    return ids


def require(page: Page, texts: list[str], what: str, shown: str | None = None) -> None:
    """CheckFailed naming ``what`` unless each of ``texts`` is in the page (or ``shown``)."""
    missing = [text for text in texts if text not in (page.dom if shown is None else shown)]
    if missing:
        raise CheckFailed(
            f"expected {what} at {page.url}, found {missing} missing; "
            f"see {page.screenshot} and {page.keep_dom()}"
        )


def check_not_succeeded(page: Page, workflow_id: str) -> None:
    """The list of runs that did not succeed must show ``workflow_id`` with status Failed."""
    texts = [workflow_id, "Failed", naming.RECORD_WORKFLOW]
    require(page, texts, f"the list of runs that did not succeed to show {workflow_id} Failed")


def check_search_attributes(page: Page, workflow_id: str) -> None:
    """The page must show ``workflow_id``, Ember's search attributes and the trigger."""
    expected = [workflow_id, *naming.SEARCH_ATTRIBUTES, TRIGGER, RESOURCE]
    require(page, expected, f"the search attributes tab to show {expected}")


def check_user_metadata(page: Page, workflow_id: str, summary: str) -> None:
    """The page must show ``workflow_id`` and its summary line (trigger, record, tenant)."""
    # The UI renders the summary in an iframe whose address carries it, URL-encoded.
    shown = unquote(html.unescape(page.dom)) if "user-metadata-summary" in page.dom else ""
    what = f"the user metadata tab to show the summary {summary!r}"
    require(page, [workflow_id, summary], what, shown)


def check_memo(page: Page, workflow_id: str, admin: int) -> None:
    """The page must show ``workflow_id`` and the actor reference in its memo."""
    reference = f'{{"ref": {{"type": "{User.__tablename__}", "id": {admin}}}}}'
    expected = [workflow_id, "actor", "ref", User.__tablename__, str(admin)]
    require(page, expected, f"the memo tab to show the actor reference {reference}")
