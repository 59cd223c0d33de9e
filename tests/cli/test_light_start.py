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


def test_cli_and_pack_choice_import_no_geospatial_module(tmp_path: object) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=str(tmp_path),
    )
    loaded = set(json.loads(res.stdout))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
