"""A database of encoding SQL_ASCII (older 国土 databases keep GBK text so): its text is bytes
PostgreSQL cannot convert. Reading one was a traceback from SQLAlchemy (``cannot use a string
pattern on a bytes-like object``, as psycopg returns such text as bytes); now it is exit 2
naming the database and the fix, ``&client_encoding=GBK``, which reads it right."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer
from qzgeo.io.postgis_uri import parse_postgis_uri

pytestmark = pytest.mark.postgis


def _connect(uri: str, dbname: str) -> Any:
    import psycopg

    src = parse_postgis_uri(f"{uri}?table=x")
    return psycopg.connect(
        host=src.host,
        port=src.port,
        user=src.user,
        password=src.password,
        dbname=dbname,
        autocommit=True,
    )


@pytest.fixture
def ascii_db(pg_uri: str) -> Iterator[str]:
    """URI of a fresh SQL_ASCII database holding ``public.parcels``, one 名称 written in GBK."""
    name = f"ascii_{uuid.uuid4().hex[:12]}"
    home = parse_postgis_uri(f"{pg_uri}?table=x").database
    with _connect(pg_uri, home) as admin:
        admin.execute(
            f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
        )
    try:
        with _connect(pg_uri, name) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute(
                "CREATE TABLE parcels (id integer PRIMARY KEY, mc text, "
                "geom geometry(MultiPolygon, 4490))"
            )
            # Bytes as they are: the GBK of 工业用地, as an old client wrote it.
            conn.execute(
                b"INSERT INTO parcels VALUES (1, '"
                + "工业用地".encode("gbk")
                + b"', ST_Multi(ST_MakeEnvelope(108.6, 21.9, 108.61, 21.91, 4490)))"
            )
        yield urlunsplit(urlsplit(pg_uri)._replace(path=f"/{name}"))
    finally:
        with _connect(pg_uri, home) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_sql_ascii_database_is_refused_with_the_fix(ascii_db: str) -> None:
    with pytest.raises(InputError) as info:
        read_postgis_layer(f"{ascii_db}?table=public.parcels")
    msg = str(info.value)
    assert "SQL_ASCII" in msg and "&client_encoding=GBK" in msg
    assert parse_postgis_uri(f"{ascii_db}?table=x").server in msg


def test_client_encoding_reads_the_text(ascii_db: str) -> None:
    gdf = read_postgis_layer(f"{ascii_db}?table=public.parcels&client_encoding=GBK")
    assert gdf["mc"].tolist() == ["工业用地"]
    assert gdf.crs.to_epsg() == 4490


def test_cli_says_it_without_a_traceback(ascii_db: str, tmp_path: Path) -> None:
    args = ["convert", f"{ascii_db}?table=public.parcels", str(tmp_path / "out.gpkg")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "client_encoding=GBK" in result.output and "Traceback" not in result.output
