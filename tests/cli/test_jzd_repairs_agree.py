"""``analyze`` and ``check`` file a 界址点 ring closed on read alike: as a repair.

``check`` listed "ring 1 of parcel 'A' does not repeat its first point; closed it" under the
site's repairs, while ``analyze --parcels`` filed it under warnings in parcels_report.json
and printed "0 feature(s) repaired"; ``check`` printed it on stderr as a "warning:". The
oracle is the hand-made file: parcel A's ring is open, parcel B's closed.
"""

from __future__ import annotations

import json
from pathlib import Path

from packs import all_output, assert_no_traceback, run_cli
from pyproj import Transformer

TO_GK = Transformer.from_crs(4490, 4524, always_xy=True)  # CGCS2000 3-degree zone 36
CLOSED = "ring 1 of parcel 'A' does not repeat its first point; closed it"


def _jzd(tmp_path: Path) -> Path:
    lines = ["[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "带号=36", "[地块坐标]"]
    for code, lon, closed in (("A", 108.600, False), ("B", 108.610, True)):
        corners = [(lon, 21.7), (lon + 0.002, 21.7), (lon + 0.002, 21.702), (lon, 21.702)]
        ring = [TO_GK.transform(x, y) for x, y in corners]
        ring += ring[:1] if closed else []
        lines.append(f"{len(ring)},,{code},{code}地块,面,,,,@")
        lines += [f"J{i},1,{n:.4f},{e:.4f}" for i, (e, n) in enumerate(ring, start=1)]
    path = tmp_path / "地块.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_analyze_counts_and_lists_a_ring_closed_on_read_as_a_repair(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_cli("analyze", "--parcels", _jzd(tmp_path), "--out", out)
    assert_no_traceback(res)
    assert res.exit_code == 0, all_output(res)
    assert "1 feature(s) repaired" in all_output(res)
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    [rec] = report["repairs"]["repairs"]
    assert CLOSED in rec["reason"] and rec["feature_id"] == "0" and rec["action"] == "repaired"
    assert not [w for w in report["repairs"]["warnings"] if CLOSED in w]


def test_check_prints_it_as_a_repair_and_lists_it_with_the_site(tmp_path: Path) -> None:
    res = run_cli("check", _jzd(tmp_path), "--format", "json")
    assert_no_traceback(res)
    assert res.exit_code in (0, 1), all_output(res)
    said = [ln for ln in res.stderr.splitlines() if CLOSED in ln]
    assert len(said) == 1 and said[0].startswith("repair: "), res.stderr
    a, b = json.loads(res.stdout)
    assert [r for r in a["repairs"] if CLOSED in r] and not b["repairs"]
    assert not [w for w in a["warnings"] + b["warnings"] if CLOSED in w]
