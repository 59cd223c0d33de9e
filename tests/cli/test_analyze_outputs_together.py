"""The outputs of one `qzgeo analyze` are put in place together, and none of an earlier run's
outputs that this one did not replace is left beside them.

They used to be written straight into the folder, each replacing its predecessor as it was
finished: a run stopped after ``parcels.gpkg`` (with ``--map``, seconds before
``parcels.html``) left the new parcels beside the previous run's summary, report and map,
which describe other parcels. And a run without ``--map`` left the previous run's
``parcels.html`` beside its new results.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from packs import all_output, run_cli
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0


def _parcels(path: Path, n: int) -> Path:
    boxes = [box(X0 + 400 * i, Y0 + 100, X0 + 400 * i + 300, Y0 + 400) for i in range(n)]
    gdf = gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(n)]}, geometry=boxes, crs="EPSG:4524"
    )
    gdf.to_file(path, driver="GPKG")
    return path


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_stopped_run_replaces_none_of_the_previous_outputs(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = run_cli("analyze", "--parcels", _parcels(tmp_path / "a.gpkg", 2), "--pack", mini,
                    "--out", out, "--map")  # fmt: skip
    assert first.exit_code == 0, all_output(first)
    before = _files(out)
    assert any(name.endswith("parcels.html") for name in before)

    from qzgeo.publish import parcels_map

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the map is made: the rest is written

    monkeypatch.setattr(parcels_map, "write_parcels_map", ctrl_c)
    second = run_cli("analyze", "--parcels", _parcels(tmp_path / "b.gpkg", 5), "--pack", mini,
                     "--out", out, "--map")  # fmt: skip
    assert second.exit_code == 1 and "Aborted" in all_output(second)
    assert _files(out) == before  # nothing replaced, nothing half-written left


def test_a_run_without_the_map_removes_the_previous_map(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    parcels = _parcels(tmp_path / "a.gpkg", 2)
    args = ("analyze", "--parcels", parcels, "--pack", mini, "--out", out)
    assert run_cli(*args, "--map").exit_code == 0
    (page,) = out.glob("*/parcels.html")
    again = run_cli("analyze", "--parcels", _parcels(tmp_path / "b.gpkg", 5), "--pack", mini,
                    "--out", out)  # fmt: skip
    assert again.exit_code == 0, all_output(again)
    assert not page.exists()  # it showed the parcels of a.gpkg
    assert (page.parent / "parcels.gpkg").is_file()
    own = (".qzgeo", ".qzgeo.lock", ".qzgeo.files")  # marker, lock, record
    assert [p.name for p in out.rglob(".*") if p.name not in own] == []
