"""Finding a trigger by its name: in a domain, or through the model of a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary, WeakSet

from ember.registry.declarations import Trigger
from ember.registry.errors import InvalidArgument

if TYPE_CHECKING:
    from ember.registry.domain import Domain

# The domains that declared a resource for each model (filled by Domain.resource); weak,
# so a domain a test dropped stops counting once it is collected.
_declaring: WeakKeyDictionary[type, WeakSet[Domain]] = WeakKeyDictionary()


def note_declared(domain: Domain, model: type[Any]) -> None:
    """Remember that ``domain`` declared a resource for ``model``."""
    _declaring.setdefault(model, WeakSet()).add(domain)


def record_model(record: Any) -> type[Any]:
    """The model class of ``record``: a model instance, or ``(Model, pk)``."""
    if isinstance(record, tuple) and len(record) == 2 and isinstance(record[0], type):
        return record[0]
    return type(record)


def declaring_domains(model: type[Any]) -> list[Domain]:
    """The live domains with a resource for ``model`` (or a base class of it), by name."""
    found = {domain for cls in model.__mro__ for domain in _declaring.get(cls, ())}
    return sorted(found, key=lambda domain: domain.name)


def named_trigger(triggers: Sequence[Trigger], name: str, model: type[Any] | None) -> Trigger:
    """The one trigger of ``triggers`` called ``name`` (``trigger`` or ``resource.trigger``).

    A name several triggers share picks the one whose resource is for ``model`` (the
    record's). No match, or still several, raises :class:`InvalidArgument` listing them.
    """
    resource_name, _, short = name.rpartition(".")
    matches = [
        t
        for t in triggers
        if t.name == short and (not resource_name or t.resource.name == resource_name)
    ]
    if len(matches) > 1 and model is not None:
        matches = [t for t in matches if issubclass(model, t.resource.model)] or matches
    if len(matches) == 1:
        return matches[0]
    domains = {t.domain_name for t in triggers}
    if not matches:
        known = ", ".join(_label(t, domains) for t in triggers) or "none"
        raise InvalidArgument(
            f"trigger: expected one of ({known}), found {name!r} (no such trigger); "
            "fix: use 'resource.trigger' or the Trigger object"
        )
    shared = {t.domain_name for t in matches}
    fix = "pass domain= or the Trigger object" if len(shared) > 1 else "use 'resource.trigger'"
    raise InvalidArgument(
        f"trigger: expected a name matching one trigger, found {name!r} matching "
        f"{len(matches)} ({', '.join(_label(t, domains) for t in matches)}); fix: {fix}"
    )


def _label(trigger: Trigger, domains: set[str]) -> str:
    label = f"{trigger.resource.name}.{trigger.name}"
    return label if len(domains) == 1 else f"{label} in domain {trigger.domain_name!r}"
