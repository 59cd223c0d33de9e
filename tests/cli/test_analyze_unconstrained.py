"""`analyze` against a pack without a constraint layer says so in its report.

Every parcel then came out available whole, 0 in conflict, exit 0 and no warning: a planner
could take "all available" for a checked answer (`check` warns for its sites the same way).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from packs import new_pack

from qzgeo.cli.main import cli


def _pack(tmp_path: Path, *, constrained: bool) -> Path:
    pack = new_pack(tmp_path / ("with" if constrained else "without"), "126.6,45.8")
    if not constrained:  # the control lines kept as a base layer: no red line to check
        cat = pack / "layers" / "catalog.toml"
        text = cat.read_text(encoding="utf-8")
        start = text.index('id = "control_lines"')
        head, tail = text[:start], text[start:]
        tail = tail.replace('role = "constraint"', 'role = "base"', 1)
        tail = "\n".join(ln for ln in tail.split("\n") if not ln.startswith("constraint_classes"))
        cat.write_text(head + tail, encoding="utf-8")
    return pack


def _analyze(pack: Path, tmp_path: Path) -> dict[str, object]:
    parcels = tmp_path / f"{pack.name}.gpkg"
    gpd.GeoDataFrame(
        {"地块编号": ["A", "B"]},
        geometry=[shapely.box(x, 45.80, x + 0.001, 45.801) for x in (126.60, 126.61)],
        crs="EPSG:4490",
    ).to_file(parcels)  # fmt: skip
    out = tmp_path / f"out-{pack.name}"
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(parcels), "--pack", str(pack),
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, (res.output, res.exception)
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    return {"report": report, "output": res.output}


def test_a_pack_without_red_lines_is_said_in_the_report(tmp_path: Path) -> None:
    got = _analyze(_pack(tmp_path, constrained=False), tmp_path)
    warnings = got["report"]["repairs"]["warnings"]  # type: ignore[index]
    said = [w for w in warnings if "no constraint layer" in w]
    assert len(said) == 1 and "catalog.toml" in said[0] and "生态保护红线" in said[0]
    assert "warning" in str(got["output"])


def test_a_pack_with_red_lines_has_no_such_warning(tmp_path: Path) -> None:
    got = _analyze(_pack(tmp_path, constrained=True), tmp_path)
    warnings = got["report"].get("repairs", {}).get("warnings", [])  # type: ignore[union-attr]
    assert not [w for w in warnings if "no constraint layer" in w]
