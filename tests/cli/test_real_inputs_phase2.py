"""Issue 9, phase 2: the cases the outsider's tests left open.

- ``--towgs84``: Xian 1980 data moved by 7 parameters, and the result says so;
- option values checked once at the CLI boundary (``--encoding``, ``--towgs84``);
- a pack layer partly outside the extent is a warning in ``report.json``;
- the notices' one channel: JSON-ready, per feature, whole-source notices reach every site.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _cli import MINIPACK, assert_exit2, check_json, qzgeo, warnings_of
from pyproj import Geod
from real_shaped import (
    ESRI_XIAN80_CM108,
    JzdParcel,
    edit_catalog,
    gk_rect,
    jzd_text,
    rect,
    shapefile_with_prj,
    write_text,
)

from qzgeo.notices import Notice, Notices, attach_notices, notices_of

FIX = "--assume-datum-shift-negligible"


def _xian_shp(tmp: Path) -> Path:
    ring = rect(564_400, 2_399_100, 564_900, 2_399_600)
    return shapefile_with_prj(tmp / "xian.shp", [ring], ESRI_XIAN80_CM108, crs="EPSG:2381")


def test_towgs84_moves_old_datum_data_and_says_so(tmp_path: Path) -> None:
    shp = _xian_shp(tmp_path)
    _, [assumed] = check_json(shp, "--pack", MINIPACK, FIX)
    _, [moved] = check_json(shp, "--pack", MINIPACK, "--towgs84", "100,0,0,0,0,0,0")
    assert re.search(r"7-parameter.*towgs84=100,0,0,0,0,0,0", warnings_of([moved]))
    assert FIX not in warnings_of([moved])
    # dx = 100 m (geocentric X points to lon 0): at 108.6E, 21.7N the ground moves by about
    # 100 m × the X axis' horizontal component, i.e. 90..100 m — never 0, never tens of km.
    _, _, d = Geod(ellps="GRS80").inv(*assumed["centroid"], *moved["centroid"])
    assert 85 < d < 101, d
    assert moved["area_m2"] == pytest.approx(assumed["area_m2"], rel=1e-4)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--encoding", "no-such-codec"], "--encoding"),
        (["--towgs84", "1,2,3"], "--towgs84"),
        (["--towgs84", "1,2,3,4,5,6,nan"], "--towgs84"),
        (["--crs", "EPSG:99999999"], "--crs"),
    ],
)
def test_option_values_checked_at_the_cli(tmp_path: Path, args: list[str], needle: str) -> None:
    p = JzdParcel(rings=[gk_rect(400, 100, 900, 600)])
    path = write_text(tmp_path / "a.txt", jzd_text([p]), "utf-8")
    for cmd in (["check", path, "--pack", MINIPACK], ["convert", path, tmp_path / "o.gpkg"]):
        assert_exit2(qzgeo(*cmd, *args), needle)


def test_pack_layer_partly_outside_extent_is_a_warning_in_report_json(
    tmp_path: Path, minipack: Path
) -> None:
    # An extent that cuts the data in two: loading goes on, report.json says so.
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    w, s = t.transform(36_564_000 - 5000, 2_399_000 - 5000)
    e, n = t.transform(36_564_000 + 1000, 2_399_000 + 5000)
    edit_catalog(minipack, pack_lines=f"extent = [{w:.6f}, {s:.6f}, {e:.6f}, {n:.6f}]")
    out = tmp_path / "out"
    res = qzgeo("publish", "--pack", minipack, "--out", out, "--no-maps")
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert any("partly outside the pack extent" in w for w in report["warnings"]), report


def test_whole_file_notice_reaches_every_site_feature_notice_only_its_own(
    tmp_path: Path,
) -> None:
    """Two parcels in one GBK file: the encoding note on both, the area warning on one."""
    a = JzdParcel(rings=[gk_rect(400, 100, 900, 600)], code="A", name="甲地块")
    b = JzdParcel(rings=[gk_rect(1000, 100, 1200, 300)], code="B", name="乙地块", declared="99")
    path = write_text(tmp_path / "two.txt", jzd_text([a, b]), "gbk")
    _, sites = check_json(path, "--pack", MINIPACK)
    by_name = {s["site"]: s["warnings"] for s in sites}
    assert all(any("GBK" in w for w in ws) for ws in by_name.values()), by_name
    assert any("declares 99 公顷" in w for w in by_name["乙地块"])
    assert not any("declares" in w for w in by_name["甲地块"])


def test_notices_are_json_ready_and_round_trip() -> None:
    import numpy as np
    import pandas as pd

    notes = Notices()
    notes.add("a.txt: read as GBK", kind="note", source="a.txt")
    notes.add("a.txt line 5: ring closed", kind="repair", source="a.txt", feature=np.int64(3))
    notes.add("a.txt line 5: ring closed", kind="repair", source="a.txt", feature=3)  # same
    df = pd.DataFrame({"x": [1]})
    attach_notices(df, notes)
    json.dumps(df.attrs)
    back = notices_of(df)
    assert len(back) == 2
    assert [n.message for n in back.for_feature("a.txt", 3)] == [
        "a.txt: read as GBK",
        "a.txt line 5: ring closed",
    ]
    assert back.for_feature("a.txt", 4) == [Notice("a.txt: read as GBK", "note", "a.txt")]
    with pytest.raises(ValueError, match="kind"):
        Notice("x", kind="oops")  # type: ignore[arg-type]
    assert [(d["kind"], d.get("feature")) for d in back.to_list()] == [
        ("note", None),
        ("repair", 3),
    ]
