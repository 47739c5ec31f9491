"""The SQLAlchemy handle, shared column types and the id/timestamp mixin."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, Integer, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

# Stable constraint names so migrations read the same on SQLite and MariaDB.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (MySQL DATETIME has no zone), always hands back an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)


class TimestampMixin(IdMixin):
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # SQLite ignores foreign keys unless told; WAL lets the RQ worker read while the web process writes.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()
        dbapi_connection.create_function("hamming64", 2, _hamming64, deterministic=True)
        dbapi_connection.create_function("bit_count", 1, _bit_count, deterministic=True)  # MariaDB's BIT_COUNT


def _bit_count(a):
    return None if a is None else (a & 0xFFFFFFFFFFFFFFFF).bit_count()


def _hamming64(a, b):
    return None if a is None or b is None else ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


class hamming_distance(FunctionElement):  # noqa: N801 - used like a SQL function: hamming_distance(col, value)
    """Differing bits of two signed 64-bit integers, in SQL: BIT_COUNT(a ^ b) on MariaDB/MySQL, a registered
    function on SQLite (which has neither)."""

    type = Integer()
    inherit_cache = True
    name = "hamming_distance"


@compiles(hamming_distance)
def _hamming_sqlite(element, compiler, **kw):
    return f"hamming64({compiler.process(element.clauses, **kw)})"


@compiles(hamming_distance, "mysql")
def _hamming_mysql(element, compiler, **kw):
    a, b = list(element.clauses)
    return f"BIT_COUNT({compiler.process(a, **kw)} ^ {compiler.process(b, **kw)})"


def value_enum(cls):
    # Store the value (e.g. "county"), not the member name; a plain VARCHAR keeps migrations portable.
    return Enum(
        cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e], validate_strings=True
    )
