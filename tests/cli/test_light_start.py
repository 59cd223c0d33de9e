"""``qzgeo --help`` and the choice of pack start without the geospatial stack.

Resolving the pack folder (every command does it first) once pulled in GDAL's guard module and
with it geopandas: 0.05 s → 0.6 s before any output, for ``--help`` and typos too. A fresh
interpreter is the oracle: which modules importing the CLI and resolving a pack leaves behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import ROOT

HEAVY = ("geopandas", "pandas", "shapely", "pyogrio", "pyproj", "pyarrow", "folium", "numpy")

PROBE = """
import json, sys
from qzgeo.cli.main import cli
from qzgeo.pack.catalog import resolve_pack_dir
resolve_pack_dir(sys.argv[1])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _run(probe: str, arg: object, folder: object, **env: str) -> subprocess.CompletedProcess:
    """``probe`` in a new interpreter, from ``folder``, with this checkout first on the path."""
    return subprocess.run(
        [sys.executable, "-c", probe, str(arg)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=str(folder),
    )


def test_cli_and_pack_choice_import_no_geospatial_module(tmp_path: object) -> None:
    loaded = set(json.loads(_run(PROBE, tmp_path, tmp_path).stdout))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


CHECK_PROBE = """
import json, sys
from qzgeo.cli.main import main
sys.argv = ["qzgeo", "check", sys.argv[1], "--format", "json"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("qzgeo."))), file=sys.stderr)
"""

#: The parcels path (`analyze`): a cold `check` has no use for it (~25 ms of imports).
PARCELS_PATH = (
    "qzgeo.analysis.chunk_pool",
    "qzgeo.analysis.parcels",
    "qzgeo.analysis.parcel_overlaps",
    "qzgeo.publish.parcel_stream",
    "qzgeo.publish.parcel_tables",
)


def test_a_check_imports_no_module_of_the_parcels_path(tmp_path) -> None:
    from data.packs import minipack_site
    from support import MINIPACK

    site = minipack_site(tmp_path / "site.geojson")
    res = _run(CHECK_PROBE, site, tmp_path, QZGEO_PACK=str(MINIPACK))
    loaded = set(json.loads(res.stderr.strip().splitlines()[-1]))
    assert "qzgeo.analysis.site_check" in loaded  # it did check
    assert loaded.isdisjoint(PARCELS_PATH), sorted(loaded & set(PARCELS_PATH))
