"""Ember's search attributes as typed keys, and the ones a run starts with.

The names are made in ``ember.registry.naming``; the worker registers them when missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from ember.activities.types import DeclarationRef
from ember.registry import naming

TRIGGER_KEY = SearchAttributeKey.for_keyword(naming.TRIGGER_ATTRIBUTE)
RESOURCE_KEY = SearchAttributeKey.for_keyword(naming.RESOURCE_ATTRIBUTE)
TENANT_KEY = SearchAttributeKey.for_keyword(naming.TENANT_ATTRIBUTE)
RECORD_KEY = SearchAttributeKey.for_keyword(naming.RECORD_ATTRIBUTE)
OUTCOME_KEY = SearchAttributeKey.for_keyword(naming.OUTCOME_ATTRIBUTE)
TAGS_KEY = SearchAttributeKey.for_keyword_list(naming.TAGS_ATTRIBUTE)


def run_attributes(
    declaration: DeclarationRef, tenant: str | None, record: str, tags: Sequence[str] = ()
) -> TypedSearchAttributes:
    """The attributes that make a run findable in the Temporal UI (``EmberTags`` when
    the trigger has ``tags``)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(TRIGGER_KEY, declaration.name),
        SearchAttributePair(RESOURCE_KEY, declaration.resource),
        SearchAttributePair(TENANT_KEY, naming.tenant_part(tenant)),
        SearchAttributePair(RECORD_KEY, record),
    ]
    if tags:
        pairs.append(SearchAttributePair(TAGS_KEY, list(tags)))
    return TypedSearchAttributes(pairs)
