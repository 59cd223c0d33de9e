"""PostGIS table URIs: parsing, checking and redacting them, before any connection is made.

A table is named by a URI::

    postgresql://user:password@host:port/dbname?table=schema.name[&geom=geom_col]

``table`` is required (``schema.`` defaults to ``public``); ``geom`` picks the geometry column
when a table has several, and names it when writing. ``sslmode``, ``connect_timeout`` and
``client_encoding`` (the encoding of a ``SQL_ASCII`` database's text) pass through to libpq;
nothing else is accepted, in particular no SQL. Identifiers are matched exactly (they are
always quoted), so ``table=Parcels`` is not ``parcels``. Leave the password out and use
``PGPASSWORD`` or ``~/.pgpass`` to keep it out of catalogs and shell history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from qzgeo._errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "PostgisSource",
    "check_identifier",
    "is_postgis_uri",
    "parse_postgis_uri",
    "redact_uri",
    "require_postgis_extras",
    "split_table",
    "with_table",
]

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_PASSTHROUGH = ("sslmode", "connect_timeout", "client_encoding")
#: PostgreSQL silently truncates longer names (NAMEDATALEN - 1).
MAX_IDENTIFIER_BYTES = 63


@dataclass(frozen=True)
class PostgisSource:
    """A PostGIS table named by a ``postgresql://`` URI, split into checked parts."""

    host: str | None
    port: int | None
    database: str
    user: str | None
    password: str | None = field(repr=False)
    schema: str
    table: str
    geom: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> URL:
        """SQLAlchemy URL with the psycopg 3 driver."""
        sa = require_postgis_extras()
        return sa.engine.URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
            query=dict(self.options),
        )

    @property
    def server(self) -> str:
        """``user@host:port/db`` for messages; never contains the password."""
        user = f"{self.user}@" if self.user else ""
        host = self.host or "local socket"
        port = f":{self.port}" if self.port else ""
        return f"{user}{host}{port}/{self.database}"

    @property
    def qualified(self) -> str:
        """``schema.table`` for messages."""
        return f"{self.schema}.{self.table}"


def is_postgis_uri(s: object) -> bool:
    """Whether ``s`` is a ``postgresql://`` (or ``postgres://``) URI.

    Examples
    --------
    >>> is_postgis_uri("postgresql://u@db/gis?table=zones"), is_postgis_uri("zones.gpkg")
    (True, False)
    """
    return isinstance(s, str) and s.split("://", 1)[0].lower() in _SCHEMES and "://" in s


def parse_postgis_uri(uri: str) -> PostgisSource:
    """Split and validate a PostGIS table URI; no connection is made.

    Raises :class:`~qzgeo._errors.InputError` naming the bad part, before any SQL can run.

    Examples
    --------
    >>> src = parse_postgis_uri("postgresql://gis:s3cret@db:5432/plan?table=zoning.地块")
    >>> src.schema, src.table, src.server
    ('zoning', '地块', 'gis@db:5432/plan')
    """
    if not is_postgis_uri(uri):
        msg = (
            f"not a PostGIS URI: {redact_uri(uri)!r}; use postgresql://user@host:port/db?table=name"
        )
        raise InputError(msg)
    parts = urlsplit(uri)
    shown = redact_uri(uri)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        msg = f"{shown}: the database name is missing; use postgresql://host:port/DBNAME?table=..."
        raise InputError(msg)
    try:
        port = parts.port
    except ValueError:
        msg = f"{shown}: the port is not a number"
        raise InputError(msg) from None

    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in params:
            msg = f"{shown}: parameter {key!r} is given twice"
            raise InputError(msg)
        if key.lower() == "password":
            msg = (
                f"{shown}: a password is not taken from the URI's query; set PGPASSWORD or "
                "put it in ~/.pgpass (or user:password@host, which shows in shell history)"
            )
            raise InputError(msg)
        if key not in ("table", "geom", *_PASSTHROUGH):
            allowed = ", ".join(("table", "geom", *_PASSTHROUGH))
            msg = f"{shown}: unknown parameter {key!r}; only {allowed} are allowed (no SQL in URIs)"
            raise InputError(msg)
        params[key] = value
    if not params.get("table"):
        msg = f"{shown}: `table` is missing; add ?table=schema.name (schema defaults to public)"
        raise InputError(msg)
    schema, table = split_table(params["table"], what=shown)
    geom = params.get("geom") or None
    if geom is not None:
        view = f"SELECT <columns>, {{}} AS geom FROM {params.get('table') or '...'}"
        check_identifier(geom, what=f"{shown}: geometry column", view=view)
    return PostgisSource(
        host=parts.hostname,
        port=port,
        database=database,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        schema=schema,
        table=table,
        geom=geom,
        options=tuple((k, params[k]) for k in _PASSTHROUGH if k in params),
    )


def with_table(uri: str, table: str) -> str:
    """The URI of ``table`` in the same database (and schema, unless ``table`` names one).

    Examples
    --------
    >>> with_table("postgresql://u@db/plan?table=out.zones", "摘要")
    'postgresql://u@db/plan?table=out.%E6%91%98%E8%A6%81'
    """
    src = parse_postgis_uri(uri)
    schema, name = split_table(table, what="table", default_schema=src.schema)
    parts = urlsplit(uri)
    query = [("table", f"{schema}.{name}")]
    query += [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "table"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def require_postgis_extras() -> Any:
    """Import the ``qzgeo[postgis]`` extras; return :mod:`sqlalchemy`, or raise InputError."""
    try:
        import geoalchemy2  # noqa: F401  (registers the Geometry type used by to_postgis)
        import psycopg  # noqa: F401
        import sqlalchemy
        import sqlalchemy.exc
    except ImportError as exc:
        msg = f"PostGIS support needs {exc.name}: pip install 'qzgeo[postgis]'"
        raise InputError(msg) from None
    return sqlalchemy


def redact_uri(uri: str) -> str:
    """``uri`` with its password replaced by ``***``, for messages.

    The password is everything between the first ``:`` after ``scheme://`` and the last
    ``@``, so that one pasted unencoded (with ``/``, ``?``, ``#``, ``@`` or a space, which
    break the URI) is hidden as well; a URI with no ``@`` has no password.

    Examples
    --------
    >>> redact_uri("postgresql://gis:s3cret@db/plan?table=t")
    'postgresql://gis:***@db/plan?table=t'
    >>> redact_uri("postgresql://gis:a/b?c@db/plan?table=t")
    'postgresql://gis:***@db/plan?table=t'
    >>> redact_uri("postgresql://gis@db/plan?table=t&password=a@b")
    'postgresql://gis@db/plan?table=t&password=***'
    """
    uri = _QUERY_PASSWORD.sub(r"\1***", uri)  # libpq's ?password=, before the "@" search
    scheme, sep, rest = uri.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return uri
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


# The password runs to the last "@" before the end of the line or the next URI.
_URI_PASSWORD = re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*):(?:(?!://)[^\n])*@")
# libpq also takes it as a query parameter: ?password=... up to the next parameter.
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s]*", re.IGNORECASE)


def redact_text(text: str) -> str:
    """``text`` with the password of every PostGIS URI in it replaced by ``***``.

    Examples
    --------
    >>> redact_text("cannot read postgresql://gis:s3cret@db/plan?table=t: no table")
    'cannot read postgresql://gis:***@db/plan?table=t: no table'
    """
    return _URI_PASSWORD.sub(r"\1:***@", _QUERY_PASSWORD.sub(r"\1***", text))


def check_identifier(name: str, *, what: str, view: str = "SELECT * FROM {}") -> None:
    """Refuse a schema, table or column name that is not a plain identifier of <= 63 bytes;
    ``view``: the query of a view that reads it under a plain name, ``{}`` the name quoted."""
    if not name.isidentifier():
        quoted = '"{}"'.format(name.replace('"', '""'))
        msg = (
            f"{what} {name!r} is not a plain identifier; use letters (Chinese allowed), digits "
            "and _, not starting with a digit (one so named in the database: read a view of it "
            f"with a plain name, CREATE VIEW v AS {view.format(quoted)}, or rename it)"
        )
        raise InputError(msg)
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        msg = f"{what} {name!r} is longer than PostgreSQL's 63 bytes; use a shorter name"
        raise InputError(msg)


def split_table(value: str, *, what: str, default_schema: str = "public") -> tuple[str, str]:
    """``(schema, table)`` of ``schema.table`` or ``table``, both checked identifiers."""
    pieces = value.split(".")
    if len(pieces) > 2:
        msg = f"{what}: table {value!r} has more than one '.'; use table=schema.name"
        raise InputError(msg)
    schema, table = pieces if len(pieces) == 2 else (default_schema, pieces[0])
    check_identifier(table, what=f"{what}: table")  # first: it goes into the schema's view
    check_identifier(schema, what=f"{what}: schema", view=f"SELECT * FROM {{}}.{table}")
    return schema, table
