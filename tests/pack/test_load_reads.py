"""Pack layers read once per process: an edited file is read again, whatever its times say."""

from __future__ import annotations

import os
from pathlib import Path

from support import copy_bundled_pack

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import read_pack_layer


def test_an_edit_that_keeps_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    dst = copy_bundled_pack(tmp_path / "pack")
    pack = load_pack(dst)
    spec = pack.layers["control_lines"]
    assert "13.24 km²" in read_pack_layer(pack, spec).loc[1, "来源"]

    gpkg = dst / "layers" / "qinzhou.gpkg"
    st = gpkg.stat()
    data = gpkg.read_bytes()
    old, new = "康熙岭 13.24 km²".encode(), "康熙岭 13.25 km²".encode()
    assert data.count(old) == 1
    gpkg.write_bytes(data.replace(old, new))
    os.utime(gpkg, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (gpkg.stat().st_size, gpkg.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)

    assert "13.25 km²" in read_pack_layer(pack, spec).loc[1, "来源"]
