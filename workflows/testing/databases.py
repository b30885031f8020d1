"""Databases for the pytest plugin: the servers it makes test databases on, and their templates.

:class:`ember.workflows.testing.servers.LocalPostgres` (a throwaway server) and
:class:`ExistingPostgres` (one the tests do not own) both satisfy :class:`DatabaseServer`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import MetaData


class DatabaseServer(Protocol):
    """What the database fixtures need of a PostgreSQL server."""

    async def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (a copy of ``template`` if given) and return its URL."""
        ...

    async def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, closing its connections."""
        ...


class ExistingPostgres:
    """A PostgreSQL server the tests do not own, reached through one database's URL.

    Args:
        url: ``postgresql+psycopg://user:password@host:port/database``; the user
            creates and drops the test databases from ``database``.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self._url = make_url(url).set(drivername="postgresql+psycopg")

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return self._url.set(database=database).render_as_string(hide_password=False)

    async def _execute(self, statement: Any) -> None:
        import psycopg

        conninfo = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
            await connection.execute(statement)

    async def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (a copy of ``template`` if given) and return its URL."""
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        await self._execute(statement)
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, closing its connections."""
        from psycopg import sql

        await self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def create_tables(url: str, tables: Sequence[MetaData]) -> None:
    """Create ``tables`` in the database at ``url``, leaving no connection open."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for metadata in tables:
                await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()  # a template must have no open connections


class TemplateDatabases:
    """One template database per distinct ``ember_tables``, made on first use.

    Keyed by the tables rather than made once per session, so suites whose
    directories override ``ember_tables`` differently each get their own.
    """

    def __init__(self, server: DatabaseServer) -> None:
        self.server = server
        self._made: dict[tuple[int, ...], tuple[str, list[MetaData]]] = {}

    async def template_for(self, tables: Sequence[MetaData]) -> str:
        """The name of a template database holding ``tables``."""
        key = tuple(id(metadata) for metadata in tables)
        if key not in self._made:
            name = f"ember_template_{uuid.uuid4().hex[:12]}"
            await create_tables(await self.server.create_database(name), tables)
            self._made[key] = (name, list(tables))  # the MetaData kept alive: ids stay unique
        return self._made[key][0]

    async def drop_all(self) -> None:
        """Drop every template made."""
        for name, _ in self._made.values():
            await self.server.drop_database(name)
        self._made.clear()
