"""A pack layer saved while ``qzgeo check`` builds its siting context is not cached as the old one.

The context's key is made of the pack's files before they are read; a file replaced between
that and the read (a GIS saving the layer, a ``git checkout`` in the pack) gave a context of
the new file saved under the key of the old one: back at the old file (the checkout undone),
a later check got the new file's zones. The oracle is the old file's zone names, read by
pyogrio (not qzgeo).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from support import get_path

from qzgeo.analysis import siting
from qzgeo.analysis.siting import SitingContext
from qzgeo.analysis.siting_cache import context_key, load_context
from qzgeo.pack.catalog import load_pack


def test_a_layer_saved_while_the_context_is_built_is_not_kept_under_the_old_key(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack_dir)
    gpkg = pack_dir / "layers" / "mini.gpkg"
    old_names = sorted(pyogrio.read_dataframe(gpkg, layer="zones")["名称"])
    pack = load_pack(pack_dir)
    wanted = [s.id for s in pack.zone_layers()] + [d.layer for d in pack.distances]
    wanted += [s.id for s in pack.constraint_layers()]
    old_key = context_key(pack, wanted)
    assert old_key is not None

    real = siting.prepare_pack

    def saved_meanwhile(*args: object, **kw: object) -> object:
        zones = gpd.read_file(gpkg, layer="zones")
        zones["名称"] = [f"新{n}" for n in zones["名称"]]
        zones.to_file(gpkg, layer="zones", driver="GPKG")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(siting, "prepare_pack", saved_meanwhile)
    ctx = SitingContext.from_pack(pack)
    assert sorted(ctx.zone_names) == sorted(f"新{n}" for n in old_names)  # read the new file
    kept = load_context(old_key)
    # nothing under the old files' key, or what the old files give
    assert kept is None or sorted(kept.zone_names) == old_names
