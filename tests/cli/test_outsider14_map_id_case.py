"""Round 14, outsider: map ids that are one file name on a case-insensitive disk.

On Windows, macOS and the web servers on them, ``Index.html`` *is* ``index.html``: a map file
``maps/Index.toml`` wrote a page that replaced the gallery once the folder was copied there,
and ``Overview.toml`` beside ``overview.toml`` gave two pages of one name. The oracle is
``str.casefold`` on the file names (two names one file on such a disk), not qzgeo's code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packs import all_output, assert_no_traceback, run_cli, write_map


@pytest.mark.parametrize("name", ["Index", "CHECK", "Zones"])
def test_map_ids_one_file_apart_only_by_case_are_refused(mini: Path, name: str) -> None:
    write_map(mini, name, title="同名图", audience="public", layers=["zones"])
    names = [p.stem for p in (mini / "maps").glob("*.toml")]
    pages = {*names, "index", "check", "parcels"}
    assert len({p.casefold() for p in pages}) < len(pages)  # the oracle: a clash exists
    result = run_cli("validate", "--pack", mini)
    assert_no_traceback(result)
    assert result.exit_code == 2, all_output(result)
    assert f"maps/{name}.toml" in all_output(result)
