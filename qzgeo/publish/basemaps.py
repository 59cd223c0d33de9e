"""Tile basemaps of published maps: OpenStreetMap, 天地图 (vector, imagery), 高德 (AMap)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

TIANDITU_ENV = "QZGEO_TIANDITU_KEY"
# Shown to the map's readers (residents), who cannot set a key: what is missing and why; the
# publisher gets the instructions in the build warnings.
TIANDITU_NOTE = "天地图底图未启用：发布时没有配置天地图密钥。"

_TDT = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass(frozen=True)
class Basemap:
    """One tile basemap: a stack of tile URL templates drawn together."""

    id: str
    title: str
    urls: tuple[str, ...]
    attribution: str
    datum: str  # "wgs84" or "gcj02": the datum the overlays must be in to sit right
    subdomains: str = "abc"
    max_zoom: int = 18

    def to_config(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "urls": list(self.urls),
            "attribution": self.attribution,
            "subdomains": self.subdomains,
            "max_zoom": self.max_zoom,
        }


OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
TIANDITU_ATTRIBUTION = "© 国家地理信息公共服务平台 天地图"
AMAP_ATTRIBUTION = "© 高德地图 AutoNavi"


def resolve_tianditu_key(explicit: str | None, pack_key: str | None) -> str | None:
    """The 天地图 key: the argument, else ``$QZGEO_TIANDITU_KEY``, else the pack's."""
    for key in (explicit, os.environ.get(TIANDITU_ENV), pack_key):
        if key and key.strip():
            return key.strip()
    return None


def basemap(name: str, *, tianditu_key: str | None) -> Basemap | None:
    """The basemap called ``name``; ``None`` for ``"none"`` or a 天地图 map without a key."""
    if name == "osm":
        return Basemap(
            "osm",
            "OpenStreetMap",
            ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",),
            OSM_ATTRIBUTION,
            "wgs84",
            subdomains="abc",
            max_zoom=19,
        )
    if name in ("tianditu_vec", "tianditu_img"):
        if not tianditu_key:
            return None
        key = quote(tianditu_key, safe="")
        base, notes = ("vec", "cva") if name == "tianditu_vec" else ("img", "cia")
        title = "天地图 矢量" if name == "tianditu_vec" else "天地图 影像"
        return Basemap(
            name,
            title,
            (_TDT.format(layer=base, key=key), _TDT.format(layer=notes, key=key)),
            TIANDITU_ATTRIBUTION,
            "wgs84",
            subdomains="01234567",
            max_zoom=18,
        )
    if name == "amap":
        return Basemap(
            "amap",
            "高德地图",
            (
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                "&style=8&x={x}&y={y}&z={z}",
            ),
            AMAP_ATTRIBUTION,
            "gcj02",
            subdomains="1234",
            max_zoom=18,
        )
    return None
