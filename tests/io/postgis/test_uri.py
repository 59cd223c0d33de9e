"""URI parsing and validation: no server needed, nothing here may reach a database."""

from __future__ import annotations

import sys

import pytest

from qzgeo._errors import InputError
from qzgeo.io.postgis import read_postgis_layer
from qzgeo.io.postgis_uri import is_postgis_uri, parse_postgis_uri, with_table

# Port 1 on loopback: if validation ever let a bad name through, the error would be
# "cannot connect" instead of the name check asserted below.
BASE = "postgresql://gis:hunter2pw@127.0.0.1:1/plan"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://u@h/db?table=t", True),
        ("postgres://u@h/db?table=t", True),
        ("postgresql+psycopg://u@h/db?table=t", True),
        ("PostgreSQL://u@h/db?table=t", True),
        ("zones.gpkg", False),
        ("sqlite:///x.db", False),
        ("/data/postgresql/zones.shp", False),
    ],
)
def test_is_postgis_uri(uri: str, expected: bool) -> None:
    assert is_postgis_uri(uri) is expected


def test_parse_full_uri() -> None:
    src = parse_postgis_uri(f"{BASE}?table=规划.地块&geom=shape&sslmode=require")
    assert (src.host, src.port, src.database, src.user) == ("127.0.0.1", 1, "plan", "gis")
    assert (src.schema, src.table, src.geom) == ("规划", "地块", "shape")
    assert src.url.drivername == "postgresql+psycopg"
    assert src.url.query == {"sslmode": "require"}
    assert "hunter2pw" not in repr(src)
    assert "hunter2pw" not in src.server


def test_schema_defaults_to_public() -> None:
    src = parse_postgis_uri(f"{BASE}?table=zones")
    assert (src.schema, src.table, src.geom) == ("public", "zones", None)


@pytest.mark.parametrize(
    "table",
    [
        "x; drop table y",
        "x;drop table y",
        'x"; drop table y; --',
        "a.b.c",
        "1zones",
        "zones--",
        "public.x y",
        "sch-ema.t",
        "t" * 64,
        "地" * 22,  # 66 bytes in UTF-8: PostgreSQL would truncate it
    ],
)
def test_bad_table_names_rejected_before_any_sql(table: str) -> None:
    from urllib.parse import quote

    uri = f"{BASE}?table={quote(table)}"
    with pytest.raises(InputError, match="table") as info:
        parse_postgis_uri(uri)
    with pytest.raises(InputError) as info:
        read_postgis_layer(uri)
    assert "cannot connect" not in str(info.value)
    assert "hunter2pw" not in str(info.value)


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("", "`table` is missing"),
        ("?geom=g", "`table` is missing"),
        ("?table=t&where=1=1", "unknown parameter 'where'"),
        ("?table=t&table=u", "given twice"),
        ("?table=t&geom=g;drop", "geometry column"),
    ],
)
def test_bad_query_rejected(query: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        parse_postgis_uri(BASE + query)
    assert "hunter2pw" not in str(info.value)
    assert "***" in str(info.value)


def test_missing_database_name() -> None:
    with pytest.raises(InputError, match="database name is missing"):
        parse_postgis_uri("postgresql://u@h:5432/?table=t")


def test_with_table_keeps_server_schema_and_options() -> None:
    uri = f"{BASE}?table=out.zones&sslmode=require"
    other = parse_postgis_uri(with_table(uri, "摘要"))
    assert (other.schema, other.table) == ("out", "摘要")
    assert other.password == "hunter2pw"
    assert other.options == (("sslmode", "require"),)
    moved = parse_postgis_uri(with_table(uri, "archive.zones_2024"))
    assert (moved.schema, moved.table) == ("archive", "zones_2024")
    with pytest.raises(InputError, match="not a plain identifier"):
        with_table(uri, "zones; drop table x")


def test_missing_extras_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "geoalchemy2", None)
    with pytest.raises(InputError, match=r"pip install 'qzgeo\[postgis\]'"):
        read_postgis_layer(f"{BASE}?table=t")


@pytest.mark.parametrize("password", ["pa/ss", "pa?ss", "pa#ss", "p@ss", "pa ss", "p:a;ss"])
def test_unencoded_password_never_shown(password: str) -> None:
    """Users paste passwords with /, ?, #, @ unencoded: the URI is then broken, but the
    message that says so must still hide the password."""
    from click.testing import CliRunner

    from qzgeo.cli.main import cli
    from qzgeo.io.postgis_uri import redact_text, redact_uri

    uri = f"postgresql://gis:{password}@127.0.0.1:1/plan?table=zones"
    assert password not in redact_uri(uri)
    assert password not in redact_text(f"cannot read {uri}: no such table")
    try:
        parse_postgis_uri(uri)
    except InputError as exc:
        assert password not in str(exc)
    res = CliRunner().invoke(cli, ["check", uri, "--no-pack", "--constraint", uri])
    assert res.exit_code == 2, res.output
    assert password not in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("query", ["table=zones&password=Qz@pw9", "password=Qz@pw9&table=zones"])
def test_password_parameter_never_shown(query: str) -> None:
    """libpq takes ``?password=`` too; qzgeo refuses it (keep it out of URIs), and the
    refusal printed it: 'postgresql://gis@h/plan?table=zones&password=Qz@pw9: unknown
    parameter'. It is hidden, and the refusal says where a password goes."""
    from click.testing import CliRunner

    from qzgeo.cli.main import cli
    from qzgeo.io.postgis_uri import redact_text, redact_uri

    uri = f"postgresql://gis@127.0.0.1:1/plan?{query}"
    for shown in (redact_uri(uri), redact_text(f"cannot read {uri}: no such table")):
        assert "Qz" not in shown and "pw9" not in shown, shown
        assert "127.0.0.1:1/plan" in shown and "zones" in shown, shown
    with pytest.raises(InputError, match="PGPASSWORD") as info:
        parse_postgis_uri(uri)
    assert "pw9" not in str(info.value)
    res = CliRunner().invoke(cli, ["check", uri, "--no-pack", "--constraint", uri])
    assert res.exit_code == 2, res.output
    assert "pw9" not in res.output and "Qz" not in res.output


@pytest.mark.parametrize("table", ["规划.宗地 2023", "规划.parcels-2023", "Parcels 2023"])
def test_refused_name_offers_a_view(table: str) -> None:
    """A table that exists under such a name (QGIS imports keep a layer's name) can only be
    read through a view; the refusal said only 'use letters ... digits and _'."""
    from urllib.parse import quote

    with pytest.raises(InputError, match="CREATE VIEW") as info:
        parse_postgis_uri(f"{BASE}?table={quote(table)}")
    assert f'"{table.rsplit(".", 1)[-1]}"' in str(info.value)


def test_offered_view_quotes_a_quote() -> None:
    """The view offered for a name with a double quote in it was SQL that does not run:
    FROM "a"b" instead of FROM "a""b"."""
    from urllib.parse import quote

    table = quote('s.a"b')
    with pytest.raises(InputError) as info:
        parse_postgis_uri(f"{BASE}?table={table}")
    assert 'SELECT * FROM "a""b",' in str(info.value)


@pytest.mark.parametrize(
    ("query", "offered"),
    [
        ("table=规划-2023.宗地", 'SELECT * FROM "规划-2023".宗地,'),
        ("table=s.t&geom=Shape-1", 'SELECT <columns>, "Shape-1" AS geom FROM s.t,'),
    ],
)
def test_offered_view_fits_a_schema_or_a_column(query: str, offered: str) -> None:
    """A schema or geometry column of such a name was offered a view of a table so named:
    FROM "规划-2023" (no such table), FROM "Shape-1" (a column)."""
    with pytest.raises(InputError) as info:
        parse_postgis_uri(f"{BASE}?{query}")
    assert offered in str(info.value)
