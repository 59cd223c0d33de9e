"""Fixtures for the outsider CLI tests.

Issue 9: helpers in _cli.py, files from tests/data/real_shaped. Issue 10: packs built at test
time (tests/data/packs.py), PostGIS fixtures reused.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# pytest runs with --import-mode=importlib: make the helper modules importable.
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "data" / "real_shaped"))
sys.path.insert(0, str(HERE.parent / "data"))

_PG = HERE.parent / "io" / "postgis" / "conftest.py"
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
