"""Issue 9 (5, 6): every encoding Windows exporters write; check has the reading options.

UTF-16LE with a BOM reads like UTF-8; ``几度分带=3度`` is read; 面积 with its unit (公顷, 平方米,
亩) is parsed; ``qzgeo check`` takes ``--encoding`` and ``--swap-xy/--no-swap-xy`` like convert.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _cli import MINIPACK, assert_exit2, check_json, qzgeo, warnings_of
from oracles import projected_polygon_m2
from real_shaped import GK36, JzdParcel, gk_rect, jzd_text, write_text

RING = gk_rect(400, 100, 900, 600)  # 25 公顷 in GK, inside 甲区 and the 城镇开发边界
MISMATCH = re.compile(r"declares|申报")


def oracle_m2() -> float:
    return projected_polygon_m2(RING, crs=GK36)


def parcel(**kw: object) -> JzdParcel:
    return JzdParcel(rings=[RING], name="钦州港地块", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16le-bom"])
def test_every_encoding_reads_alike(tmp_path: Path, encoding: str) -> None:
    path = write_text(tmp_path / f"{encoding}.txt", jzd_text([parcel()]), encoding)
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(oracle_m2(), abs=0.011)
    assert site["site"] == "钦州港地块"


def test_width_with_unit(tmp_path: Path) -> None:
    path = write_text(tmp_path / "w.txt", jzd_text([parcel()], width="3度"), "gbk")
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(oracle_m2(), abs=0.011)


@pytest.mark.parametrize(
    ("unit", "factor", "fmt"),
    [("公顷", 1e-4, "{:.4f}"), ("平方米", 1.0, "{:.1f}"), ("亩", 15e-4, "{:.2f}")],
)
def test_area_with_unit_is_parsed(tmp_path: Path, unit: str, factor: float, fmt: str) -> None:
    good = fmt.format(oracle_m2() * factor) + unit
    path = write_text(tmp_path / "ok.txt", jzd_text([parcel(declared=good)]), "gbk")
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert not MISMATCH.search(warnings_of(site and [site])), site["warnings"]
    # The unit is read, not ignored: a value 20 % off in that unit is reported.
    bad = fmt.format(oracle_m2() * factor * 1.2) + unit
    path = write_text(tmp_path / "bad.txt", jzd_text([parcel(declared=bad)]), "gbk")
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert MISMATCH.search(warnings_of([site])), site["warnings"]


def test_check_encoding_option(tmp_path: Path) -> None:
    path = write_text(tmp_path / "gbk.txt", jzd_text([parcel()]), "gbk")
    _, [site] = check_json(path, "--pack", MINIPACK, "--encoding", "gbk")
    assert site["site"] == "钦州港地块"
    res = qzgeo("check", path, "--pack", MINIPACK, "--encoding", "utf-8")
    assert_exit2(res, "gbk.txt", "utf-8")


def test_check_swap_xy_options(tmp_path: Path) -> None:
    path = write_text(tmp_path / "swapped.txt", jzd_text([parcel(swap=True)]), "gbk")
    # Auto-detected: right area, and the swap is a warning in the JSON.
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(oracle_m2(), abs=0.011)
    assert re.search(r"swap", warnings_of([site]), re.IGNORECASE), site["warnings"]
    # Forced: the same area without a guess.
    _, [site] = check_json(path, "--pack", MINIPACK, "--swap-xy")
    assert site["area_m2"] == pytest.approx(oracle_m2(), abs=0.011)
    # Forbidden: the coordinates do not fit, exit 2 naming the fix.
    res = qzgeo("check", path, "--pack", MINIPACK, "--no-swap-xy")
    assert_exit2(res, "swapped.txt")


def test_utf16_without_bom_is_refused_with_advice(tmp_path: Path) -> None:
    """No BOM, UTF-16: not silently mojibake; exit 2 suggesting --encoding."""
    path = tmp_path / "u16.txt"
    path.write_bytes(jzd_text([parcel()]).encode("utf-16-le"))
    res = qzgeo("check", path, "--pack", MINIPACK)
    assert_exit2(res, "u16.txt", "--encoding")
