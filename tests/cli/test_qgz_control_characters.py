"""A pack title holding a control character (a TOML escape such as ``\\u000b``) gave a .qgz
whose project XML was not well-formed: QGIS would not open it, and publish said exit 0.

Found by out14a. The XML parser is the oracle; the real QGIS opens projects in
tests/publish/test_qgis_project.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_a_title_with_a_control_character_gives_a_project_qgis_can_parse(
    minipack: Path, tmp_path: Path
) -> None:
    catalog = minipack / "layers" / "catalog.toml"
    text = catalog.read_text("utf-8").replace(
        'title = "测试小包"', 'title = "测试\\u000b小\\u0000包"'
    )
    assert "\\u000b" in text
    catalog.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    assert res.exit_code == 0, res.output
    [qgz] = (out / "internal").glob("*.qgz")
    with zipfile.ZipFile(qgz) as zf:
        [name] = [n for n in zf.namelist() if n.endswith(".qgs")]
        body = zf.read(name).decode("utf-8")
    root = ET.fromstring(body.split("\n", 1)[1])  # after the DOCTYPE line
    assert root.get("projectname") == "测试小包"
    assert root.findtext("title") == "测试小包"
