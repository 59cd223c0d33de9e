"""The QGIS project colours a layer classed by a decimal column (REAL 1.0, 2.0, 3.0) by class.

With style keys "1.0", "2.0", "3.0" the categorized renderer of the project (and of the
GeoPackage's default style) put every zone into 「其他」: QGIS writes a REAL 1.0 as "1". Here the
categories are read from the project's XML with :mod:`xml.etree`, and the real QGIS
(``qgis_class_probe.py`` under Debian's ``/usr/bin/python3``) says which category and colour
each feature gets. Without python3-qgis the QGIS part skips, unless ``QZGEO_REQUIRE_QGIS=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
from decimal_class_pack import COLOURS, SPELLINGS, decimal_pack, run

QGIS_PYTHON = "/usr/bin/python3"
PROBE = Path(__file__).with_name("qgis_class_probe.py")


def _qgis_env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}


@pytest.fixture(scope="module", params=sorted(SPELLINGS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    pack = decimal_pack(folder / "pack", request.param)
    res = run("publish", "--pack", pack, "--out", folder / "out")
    assert res.exit_code == 0, res.output
    (qgz,) = (folder / "out" / "internal").glob("*.qgz")
    return qgz


def test_the_categories_are_the_values_qgis_shows(project: Path) -> None:
    with zipfile.ZipFile(project) as zf:
        (name,) = zf.namelist()
        qgs = zf.read(name).decode("utf-8")
    root = ET.fromstring(qgs.split("\n", 1)[1])
    layer = next(
        m for m in root.iter("maplayer") if (m.findtext("datasource") or "").endswith("=zones")
    )
    renderer = layer.find("renderer-v2")
    assert renderer is not None and renderer.get("attr") == "代码"
    values = [c.get("value") for c in renderer.iter("category")]
    # QGIS writes a REAL 1.0 as "1" (QVariant(1.0).toString()); "" is 「其他」
    assert values == ["1", "2", "3", ""]


def _probe(qgz: Path) -> dict[str, Any]:
    try:
        ok = subprocess.run(
            [QGIS_PYTHON, "-c", "import qgis.core"], env=_qgis_env(), timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        ok = None
    if ok is None or ok.returncode != 0:
        msg = f"{QGIS_PYTHON} cannot import qgis: apt-get install python3-qgis qgis-providers"
        if os.environ.get("QZGEO_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    out = qgz.with_name("classes.json")
    done = subprocess.run(
        [QGIS_PYTHON, str(PROBE), str(qgz), "zones", "代码", str(out)],
        env=_qgis_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def test_qgis_draws_each_zone_in_its_class_colour(project: Path) -> None:
    report = _probe(project)
    assert report["read"] is True
    for how in ("project", "direct"):  # the project, and the GeoPackage's default style
        seen = report[how]
        assert seen["valid"] and seen["renderer"] == "categorizedSymbol", seen
        rows = seen["features"]
        assert sorted(r["value"] for r in rows) == [1.0, 2.0, 3.0]
        assert {r["type"] for r in rows} == {"float"}  # a REAL column, as ArcGIS exports
        for r in rows:
            code = round(r["value"])
            assert r["category"] == f"代码{code}", (how, r)
            assert r["fill"].upper() == COLOURS[code], (how, r)
