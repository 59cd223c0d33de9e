"""A layer of Measured (M) geometries, as ArcGIS writes an M-aware feature class.

GDAL reads it as 2D, and pyogrio said so in a UserWarning on stderr at each open
(``pyogrio/core.py:320: UserWarning: Measured (M) geometry types are not supported``): a
library's traceback-like line, and nothing in the result. The reader now says it once, as a
notice in the report, and stderr holds no UserWarning.

The Shapefile is written byte by byte here (pyogrio cannot write M; the format is public:
ESRI Shapefile Technical Description, 1998), so the test shares no code with the reader.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli

# a 0.5 km box on the 钦州港 shore, clockwise (a Shapefile's outer ring), with measures
RING = [(108.600, 21.700), (108.600, 21.705), (108.605, 21.705), (108.605, 21.700)]
CGCS2000 = (
    'GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",'
    'SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]]'
)


def _polygon_m_shapefile(path: Path) -> None:
    pts = [*RING, RING[0]]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    box = (min(xs), min(ys), max(xs), max(ys))
    ms = [float(i) for i in range(len(pts))]
    content = struct.pack("<i4d2i", 25, *box, 1, len(pts)) + struct.pack("<i", 0)
    content += b"".join(struct.pack("<2d", *p) for p in pts)
    content += struct.pack("<2d", min(ms), max(ms)) + struct.pack(f"<{len(ms)}d", *ms)
    record = struct.pack(">2i", 1, len(content) // 2) + content

    def header(words: int) -> bytes:
        return (
            struct.pack(">7i", 9994, 0, 0, 0, 0, 0, words)
            + struct.pack("<2i", 1000, 25)
            + struct.pack("<8d", *box, 0.0, 0.0, min(ms), max(ms))
        )

    path.write_bytes(header((100 + len(record)) // 2) + record)
    path.with_suffix(".shx").write_bytes(
        header((100 + 8) // 2) + struct.pack(">2i", 50, len(content) // 2)
    )
    name = "甲".encode()
    field = b"NAME".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([10, 0]) + b"\0" * 14
    dbf = struct.pack("<4BIHH20x", 3, 126, 11, 30, 1, 32 + 32 + 1, 1 + 10) + field + b"\r"
    dbf += b" " + name.ljust(10, b" ") + b"\x1a"
    path.with_suffix(".dbf").write_bytes(dbf)
    path.with_suffix(".cpg").write_text("UTF-8")
    path.with_suffix(".prj").write_text(CGCS2000)


def test_a_measured_site_is_checked_with_a_notice_and_no_user_warning(tmp_path: Path) -> None:
    site = tmp_path / "site.shp"
    _polygon_m_shapefile(site)
    res = CliRunner().invoke(cli, ["check", str(site), "--format", "json"])
    assert res.exit_code == 0, res.output
    [report] = json.loads(res.stdout)
    assert report["site"] == "甲"
    assert 286_000 < report["area_m2"] < 287_000  # 0.005° × 0.005° at 21.7°N
    assert any("Measured (M)" in w and "areas unchanged" in w for w in report["warnings"])
    assert "UserWarning" not in res.stderr


def test_a_measured_parcel_layer_is_analyzed_with_the_notice_in_its_report(
    tmp_path: Path,
) -> None:
    parcels = tmp_path / "宗地.shp"
    _polygon_m_shapefile(parcels)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(parcels), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "UserWarning" not in res.stderr
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    assert any("Measured (M)" in w for w in report["repairs"]["warnings"])


def test_the_checked_site_has_no_measures_left(tmp_path: Path) -> None:
    """GDAL's Arrow reader keeps the M values; the site loses them with a repair note (as a
    Z does), and the geometry written to check.gpkg is 2D."""
    import pyogrio
    import shapely

    site = tmp_path / "site.shp"
    _polygon_m_shapefile(site)
    res = CliRunner().invoke(cli, ["check", str(site), "--format", "json"])
    [report] = json.loads(res.stdout)
    assert report["repairs"] == ["Z/M coordinates removed (2D check)"]
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["check", str(site), "--format", "gpkg", "--out", str(out)])
    assert res.exit_code == 0, res.output
    _, _, wkb, _ = pyogrio.raw.read(out / "internal" / "check.gpkg", layer="sites")
    assert not shapely.has_m(shapely.from_wkb(wkb)).any()
