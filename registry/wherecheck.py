"""Checks of a trigger's ``where``: a SQL boolean over the tables its read queries have."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Select, select
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import FromClause, Join

from ember.registry.errors import Problem

if TYPE_CHECKING:
    from ember.registry.declarations import Trigger


def where_problems(trigger: Trigger) -> Iterator[Problem]:
    """What is wrong with ``trigger``'s ``where``: not a SQL boolean, or reaching a table
    its read queries do not join (the rows would pair with every row of that table)."""
    where = trigger.options.where
    if where is None:
        return
    path = f"{trigger.path}.where"
    if not is_boolean_expression(where):
        yield Problem(
            path,
            "a SQLAlchemy boolean expression such as Ticket.status == 'open'",
            describe(where),
            "build the condition from the model's columns with ==, <, &, |, and_() ...",
        )
        return
    model = trigger.resource.model
    own = _tables(select(model).get_final_froms())
    reached = [t for t in _tables(select(model).where(where).get_final_froms()) if t not in own]
    if not reached:
        return
    for option, read in _read_queries(trigger):
        query = _read_query(read, model)
        if not isinstance(query, Select):
            yield Problem(
                f"{trigger.path}.{option}",
                "a callable returning a SQLAlchemy Select such as select(Ticket).join(...)",
                query if isinstance(query, str) else describe(query),
                f"make {option} return the Select the trigger reads",
            )
            continue
        joined = _tables(query.get_final_froms())
        reader = option if read is not None else f"the default select({model.__name__})"
        for table in (t for t in reached if t not in joined):
            name = _name(table)
            yield Problem(
                path,
                f"conditions on {trigger.resource.name}'s columns, or on tables {reader} joins",
                f"a condition on {name!r}, which {reader} does not join (each row would pair "
                f"with every row of {name}, and count once per pair)",
                f"join {name} in read_action (and worker_read_action), or test it in a "
                "correlated exists() / .has() / .any()",
            )


def _read_queries(trigger: Trigger) -> list[tuple[str, Callable[[], Any] | None]]:
    """The queries ``where`` is added to: the scan's, and the worker's re-read if its own."""
    options = trigger.options
    reads = [("read_action", options.read_action)]
    if options.worker_read_action is not None:
        reads.append(("worker_read_action", options.worker_read_action))
    return reads


def _read_query(read: Callable[[], Any] | None, model: Any) -> Any:
    """The Select ``read`` returns (the model's table without one); a failure as its text."""
    if read is None:
        return select(model)
    try:
        return read()
    except Exception as error:
        return f"it raising {type(error).__name__}: {error}"


def _tables(froms: Iterable[FromClause]) -> list[FromClause]:
    """The tables (and aliases) of ``froms``, joins opened up, in order."""
    found: list[FromClause] = []
    for clause in froms:
        parts = _tables([clause.left, clause.right]) if isinstance(clause, Join) else [clause]
        found += [part for part in parts if part not in found]
    return found


def _name(table: FromClause) -> str:
    original = getattr(table, "original", table)
    return str(getattr(original, "name", None) or table)


def sql_element(value: Any) -> Any:
    """A mapped attribute (``Ticket.escalated``) as its column; anything else unchanged."""
    unwrap = getattr(value, "__clause_element__", None)
    return unwrap() if callable(unwrap) else value


def is_boolean_expression(where: Any) -> bool:
    """Whether ``where`` is a SQL expression of boolean type."""
    element = sql_element(where)
    return isinstance(element, ColumnElement) and isinstance(element.type, Boolean)


def describe(value: Any) -> str:
    """``value`` for a message: SQL as SQL (with its type), anything else as its repr."""
    element = sql_element(value)
    if isinstance(element, ClauseElement):
        try:
            sql = str(element)
        except Exception:  # a construct the generic compiler cannot render
            sql = type(element).__name__
        kind = f" of type {element.type}" if isinstance(element, ColumnElement) else ""
        return f"the SQL {sql!r}{kind}"
    return f"{type(value).__name__} {value!r}"
