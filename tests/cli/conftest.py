"""Fixtures for the outsider CLI tests (issue 10): packs built at test time, PostGIS reused."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))

_PG = Path(__file__).resolve().parents[1] / "postgis" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_qzgeo_pg_fixtures", _PG)
assert _spec is not None and _spec.loader is not None
_pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pg)
pg_uri = _pg.pg_uri
pg_schema = _pg.pg_schema
pg_sql = _pg.pg_sql


@pytest.fixture(autouse=True)
def _no_tianditu_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QZGEO_TIANDITU_KEY", raising=False)


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A private copy of tests/data/minipack."""
    from packs import copy_minipack

    return copy_minipack(tmp_path / "pack")
