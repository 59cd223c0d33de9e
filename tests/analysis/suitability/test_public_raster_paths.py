"""Outsider a21: a public suitability output names a raster the user gave by its file name.

``qzgeo check`` names a site file in OUT/public by its name alone: the path as typed names
the user's home folders. ``qzgeo suitability --dem /home/zhang/机密/dem.tif`` wrote that path
into OUT/public/suitability/<model>/report.json (``rasters``) and, in a warning about the
DEM, into report.json and the public map.html. The internal copies keep the path.
"""

from __future__ import annotations

import json
from pathlib import Path


def test_public_outputs_name_the_dem_by_its_file_name(make_pack, h, tmp_path: Path) -> None:
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    home = tmp_path / "home" / "zhang" / "机密"
    home.mkdir(parents=True)
    dem = h.gk_plane(home / "dem.tif", 2.0)
    out = tmp_path / "out"
    # --height-range puts a warning naming the DEM into report.json and the map's notes
    args = ("--dem", str(dem), "--height-range", "-100", "900")
    code, said = h.run_suitability(pack, out, *args)
    assert code == 0, said
    folder = out / "public" / "suitability" / "slope"
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["rasters"]["dem"]["path"] == "dem.tif"
    assert any("dem.tif" in w for w in report["warnings"]), report["warnings"]
    for f in sorted(folder.iterdir()):
        assert "zhang" not in f.read_bytes().decode("utf-8", "replace"), f.name

    # internal (--internal): the path as given, for staff
    code, said = h.run_suitability(pack, out, *args, "--internal")
    assert code == 0, said
    folder = out / "internal" / "suitability" / "slope"
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["rasters"]["dem"]["path"] == str(dem)
