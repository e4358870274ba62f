"""Opening a database: SQLite pragmas, PostgreSQL pool, and running work in threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from agentdeck.store.types import json_serializer

T = TypeVar("T")
# A pooled PostgreSQL connection back in the pool for less than this is used as it is; an
# older one is pinged before use (a restarted server or a dropped link closed it meanwhile).
PING_IDLE_AFTER_S = 1.0
_RETURNED_AT = "agentdeck_returned_at"


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# SQLite's OperationalError also means a wrong statement ("no such table"); only these
# words mean the database was unavailable for a moment.
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")


def is_connection_error(error: BaseException) -> bool:
    """True when `error` is the database's fault (gone, restarting, locked), not the statement's.

    Such an error says nothing about the work: the same transaction, on a fresh
    connection, may well commit. A PostgreSQL deadlock or serialization failure
    (an OperationalError too) is likewise worth running again.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return any(word in str(error.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


class Database:
    """One engine plus the rules for using it from asyncio.

    All SQL runs in a thread pool: one thread hop per unit of work, never per
    statement. On SQLite, writers in this process queue on a lock instead of
    spinning in SQLite's busy handler; `BEGIN IMMEDIATE` takes the write lock
    up front so a read-then-write transaction can never deadlock.
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self.engine = self._create_engine(sqlite_synchronous)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="agentdeck-db")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _create_engine(self, synchronous: str) -> Engine:
        if not self.is_sqlite:
            engine = create_engine(
                self.url, pool_size=10, max_overflow=20, json_serializer=json_serializer
            )
            _ping_idle_connections(engine)
            return engine
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.url, connect_args={"timeout": 30}, json_serializer=json_serializer
        )
        _configure_sqlite(engine, synchronous)
        return engine

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A connection inside a write transaction, committed on exit."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.write_connection() as conn:
            return fn(conn)

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.read_connection() as conn:
            return fn(conn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in one write transaction, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.write_sync, fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.read_sync, fn)

    def dispose(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle PING_IDLE_AFTER_S or more.

    `pool_pre_ping` would cost a round trip on every checkout, one of the few a submit
    makes; a connection used a moment ago is alive. One that fails its ping is replaced
    (the pool retries the checkout on DisconnectionError).
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is None or time.monotonic() - returned < PING_IDLE_AFTER_S:
            return  # just opened, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            message = f"an idle pooled connection failed its ping: {error}"
            raise exc.DisconnectionError(message) from error


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    """Set every pragma in one place, and take over BEGIN from the sqlite3 module."""
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(
            f"sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous}"
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
