"""The Leaflet layer of sites and conflict patches in a siting report's HTML page.

Apart from :mod:`qzgeo.publish.site_report` so that text and JSON reports (``qzgeo check``)
never import branca: only the HTML format pays for it.
"""

from __future__ import annotations

from typing import Any

from branca.element import Figure, MacroElement

__all__ = ["PATCH_STYLES", "SITE_STYLE", "SitesLayer"]

SITE_STYLE = {"color": "#1f4e9c", "weight": 2, "fillOpacity": 0.05}
# Exclusion overlaps in red, the part outside a boundary (城镇开发边界外) in purple.
PATCH_STYLES = {
    "exclusion": {"color": "#b30000", "weight": 1, "fillColor": "#ff3300", "fillOpacity": 0.5},
    "boundary": {"color": "#5b2a7a", "weight": 1, "fillColor": "#7b3fa0", "fillOpacity": 0.45},
}


class SitesLayer(MacroElement):
    """Sites and conflict patches as plain Leaflet GeoJSON; tooltips set with textContent."""

    def __init__(self, sites: dict[str, Any], patches: dict[str, Any]) -> None:
        super().__init__()
        self._name = "SitesLayer"
        self.sites, self.patches = sites, patches

    def render(self, **kwargs: Any) -> str:
        from qzgeo.publish.assets import RawElement, script_json

        figure, parent = self.get_root(), self._parent
        assert isinstance(figure, Figure) and parent is not None
        js = (
            "(function (map) {\n"
            "  function tip(layer) { var d = document.createElement('div');"
            " d.textContent = layer.feature.properties.label; return d; }\n"
            f"  var siteStyle = {script_json(SITE_STYLE)};\n"
            f"  var patchStyles = {script_json(PATCH_STYLES)};\n"
            f"  var sites = L.geoJSON({script_json(self.sites)},"
            " {style: function () { return siteStyle; }}).bindTooltip(tip).addTo(map);\n"
            f"  var patches = L.geoJSON({script_json(self.patches)},"
            " {style: function (f) { return patchStyles[f.properties.mode]; }})"
            ".bindTooltip(tip).addTo(map);\n"
            '  L.control.layers(null, {"选址 Sites": sites, "冲突 Conflicts": patches})'
            ".addTo(map);\n"
            # as on the published maps: metres only, and no link out of an offline page
            '  L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);\n'
            '  map.attributionControl.setPrefix("Leaflet");\n'
            f"}})({parent.get_name()});\n"
        )
        figure.script.add_child(RawElement(js), name=self.get_name())
        return ""
