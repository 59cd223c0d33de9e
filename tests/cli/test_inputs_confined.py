"""Issue 10: pack paths stay inside the pack; GDAL opens only allow-listed drivers; PostGIS
passwords are never shown or stored."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from packs import (
    CLOSED_PORT_URI,
    SECRET_PW,
    all_output,
    assert_no_traceback,
    edit_catalog,
    grep_tree,
    layer,
    run_cli,
)
from shapely.geometry import box

SITE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"名称": "试验地块"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [108.60, 21.68],
                        [108.61, 21.68],
                        [108.61, 21.69],
                        [108.60, 21.69],
                        [108.60, 21.68],
                    ]
                ],
            },
        }
    ],
}


def _site(path: Path) -> Path:
    path.write_text(json.dumps(SITE, ensure_ascii=False), encoding="utf-8")
    return path


def _outside_copy(mini: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return Path(shutil.copy(mini / "layers" / "mini.gpkg", outside / "mini.gpkg"))


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_catalog_path_leaving_the_pack_is_refused(mini: Path, tmp_path: Path, how: str) -> None:
    target = _outside_copy(mini, tmp_path)
    if how == "absolute":
        path = str(target)
    elif how == "dotdot":
        path = "../../elsewhere/mini.gpkg"
    else:
        os.symlink(target, mini / "layers" / "linked.gpkg")
        path = "linked.gpkg"
    edit_catalog(mini, lambda doc: layer(doc, "zones").update(path=path))
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert path in text or "linked.gpkg" in text, text
    assert "pack" in text.lower(), text  # says it must stay inside the pack
    assert not out.exists() or grep_tree(out, "甲区") == []


def test_validate_refuses_path_leaving_the_pack(mini: Path, tmp_path: Path) -> None:
    _outside_copy(mini, tmp_path)
    edit_catalog(mini, lambda doc: layer(doc, "zones").update(path="../../elsewhere/mini.gpkg"))
    result = run_cli("validate", "--pack", mini)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "../../elsewhere/mini.gpkg" in all_output(result)


def test_manifests_hold_no_absolute_path(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, result.output
    manifests = sorted(out.rglob("manifest.json"))
    assert {p.parent.name for p in manifests} == {"public", "internal"}
    for m in manifests:
        text = m.read_text(encoding="utf-8")
        assert str(tmp_path) not in text and str(Path.home()) + "/" not in text, m

        for v in _strings(json.loads(text)):
            assert not v.startswith("/") and ":\\" not in v, (m, v)


def _strings(v: object) -> list[str]:
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in (*_strings(k), *_strings(x))]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    return [v] if isinstance(v, str) else []


def _passwd_vrt(path: Path) -> Path:
    path.write_text(
        """<OGRVRTDataSource>
  <OGRVRTLayer name="evil">
    <SrcDataSource>CSV:/etc/passwd</SrcDataSource>
    <GeometryType>wkbPolygon</GeometryType>
    <LayerSRS>EPSG:4490</LayerSRS>
  </OGRVRTLayer>
</OGRVRTDataSource>
""",
        encoding="utf-8",
    )
    return path


def _assert_driver_refused(result, name: str) -> None:
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert name in text, text
    low = text.lower()
    assert "driver" in low or "allow" in low or "not accepted" in low, text
    assert "root:x:0:0" not in text


def test_vrt_in_pack_is_refused(mini: Path, tmp_path: Path) -> None:
    _passwd_vrt(mini / "layers" / "evil.vrt")
    edit_catalog(mini, lambda doc: layer(doc, "zones").update(path="evil.vrt", layer="evil"))
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    _assert_driver_refused(result, "evil.vrt")
    assert not out.exists() or grep_tree(out, "root:x:0:0") == []


def test_site_vrt_with_vsicurl_is_refused(tmp_path: Path) -> None:
    vrt = tmp_path / "site.vrt"
    vrt.write_text(
        """<OGRVRTDataSource>
  <OGRVRTLayer name="site">
    <SrcDataSource>/vsicurl/http://127.0.0.1:1/site.geojson</SrcDataSource>
  </OGRVRTLayer>
</OGRVRTDataSource>
""",
        encoding="utf-8",
    )
    result = run_cli("check", vrt, "--format", "json")
    _assert_driver_refused(result, "site.vrt")


@pytest.mark.parametrize(
    "arg", ["/vsicurl/http://127.0.0.1:1/site.geojson", "CSV:/etc/passwd", "/vsizip//etc/x.zip"]
)
def test_vsi_and_prefixed_sources_are_refused(tmp_path: Path, arg: str) -> None:
    """Guard (passes today: these are taken as missing files); must stay refused."""
    result = run_cli("check", arg, "--format", "json")
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "root:x:0:0" not in all_output(result)


def test_convert_refuses_vrt(tmp_path: Path) -> None:
    vrt = _passwd_vrt(tmp_path / "evil.vrt")
    result = run_cli("convert", vrt, tmp_path / "out.geojson", "--crs", "EPSG:4490")
    _assert_driver_refused(result, "evil.vrt")
    assert not (tmp_path / "out.geojson").exists()


# --- PostGIS passwords -------------------------------------------------------------------


def _no_secret(result, *roots: Path) -> None:
    assert_no_traceback(result)
    assert SECRET_PW not in all_output(result), all_output(result)
    for root in roots:
        if root.exists():
            assert grep_tree(root, SECRET_PW) == []


@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_password_of_site_uri_not_shown(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    result = run_cli("check", CLOSED_PORT_URI, "--format", fmt, "--out", out)
    assert result.exit_code == 2
    _no_secret(result, out)


def test_password_of_constraint_uri_not_shown(tmp_path: Path) -> None:
    site = _site(tmp_path / "site.geojson")
    result = run_cli("check", site, "--constraint", CLOSED_PORT_URI, "--format", "json")
    assert result.exit_code == 2
    _no_secret(result)


def test_password_of_catalog_uri_not_shown(mini: Path, tmp_path: Path) -> None:
    edit_catalog(mini, lambda doc: layer(doc, "control_lines").update(path=CLOSED_PORT_URI))
    out = tmp_path / "out"
    _no_secret(run_cli("validate", "--pack", mini), out)  # validate does not connect
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 2, result.output
    _no_secret(result, out)


def test_password_of_to_postgis_uri_not_shown(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out, "--to-postgis", CLOSED_PORT_URI)
    assert result.exit_code == 2
    _no_secret(result, out)


def _with_password(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    userinfo, host = rest.split("@", 1) if "@" in rest else ("postgres", rest)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:{SECRET_PW}@{host}"


@pytest.mark.postgis
@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_password_not_in_site_source_or_report(
    tmp_path: Path, pg_uri: str, pg_schema: str, fmt: str
) -> None:
    from sqlalchemy import create_engine

    x0, y0 = 108.60, 21.68
    sites = gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[box(x0, y0, x0 + 0.01, y0 + 0.01)], crs="EPSG:4490"
    )
    engine = create_engine(pg_uri.replace("postgresql://", "postgresql+psycopg://", 1))
    sites.to_postgis("sites", engine, schema=pg_schema)
    engine.dispose()
    uri = _with_password(pg_uri) + f"?table={pg_schema}.sites"
    out = tmp_path / "out"
    result = run_cli("check", uri, "--format", fmt, "--out", out)
    assert result.exit_code in (0, 1), all_output(result)
    _no_secret(result, out)
    assert list(out.rglob("check.*")), "the report was written"


@pytest.mark.postgis
def test_password_not_in_crs_error(tmp_path: Path, pg_uri: str, pg_schema: str, pg_sql) -> None:
    pg_sql(f"CREATE TABLE {pg_schema}.nosrid (id int, geom geometry(Polygon, 0))")
    pg_sql(
        f"INSERT INTO {pg_schema}.nosrid VALUES "
        "(1, ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))', 0))"
    )
    uri = _with_password(pg_uri) + f"?table={pg_schema}.nosrid"
    result = run_cli("check", uri, "--format", "json")
    assert result.exit_code == 2
    assert "crs" in all_output(result).lower()
    _no_secret(result)
    result = run_cli("check", uri, "--format", "json", "--crs", "EPSG:4524")
    assert result.exit_code == 2  # coordinates do not fit EPSG:4524
    _no_secret(result)
