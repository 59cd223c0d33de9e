"""The plan pack as data: layer specs, styles, map products and the pack itself.

Plain dataclasses and the vocabularies of the pack files (roles, sensitivities, basemaps...);
:mod:`qzgeo.pack.catalog` reads them from TOML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qzgeo.io.postgis_uri import is_postgis_uri
from qzgeo.pack.class_values import class_text

#: Who may see a layer (``sensitivity``) or a map (``audience`` in ``maps/*.toml``): a public
#: map or folder holds nothing derived from an internal layer.
Sensitivity = Literal["public", "internal"]
SENSITIVITIES: tuple[Sensitivity, ...] = ("public", "internal")
ROLES = ("zone", "constraint", "corridor", "base")
CONSTRAINT_MODES = ("exclusion", "boundary")
PRECISIONS = ("real", "OSM", "calibrated-schematic", "schematic", "survey")
BASEMAPS = ("osm", "tianditu_vec", "tianditu_img", "amap", "none")
ANALYSIS_OUTPUTS = ("available_land", "conflicts")
PAPERS = ("A4", "A3", "A1")  # PDF sheets
ORIENTATIONS = ("landscape", "portrait")
SYMBOL_KEYS = frozenset(
    {
        "fill",
        "fill_opacity",
        "stroke",
        "weight",
        "opacity",
        "dash",
        "pattern",
        "pattern_color",
        "pattern_angle",
        "legend",
        "radius",
    }
)


@dataclass(frozen=True)
class LayerSpec:
    """One catalog entry."""

    id: str
    title: str
    role: str
    path: str
    layer: str | None = None
    crs: str | None = None
    datum: str | None = None
    sensitivity: Sensitivity = "internal"
    class_field: str | None = None
    name_field: str | None = None
    publish_fields: tuple[str, ...] = ()
    constraint: str | None = None
    constraint_classes: dict[str, str] = field(default_factory=dict)
    source: str = ""
    licence: str = ""
    precision: str = ""
    title_en: str | None = None

    @property
    def is_constraint(self) -> bool:
        """True if any class of this layer constrains the zones."""
        return self.constraint is not None or bool(self.constraint_classes)

    @property
    def is_public(self) -> bool:
        return self.sensitivity == "public"

    def constraint_mode(self, cls: object) -> str | None:
        """Mode (exclusion/boundary) of class value ``cls``; ``None`` if it does not constrain."""
        key = class_text(cls)
        if key is not None and key in self.constraint_classes:
            return self.constraint_classes[key]
        return self.constraint


@dataclass(frozen=True)
class Symbol:
    """How one layer or class is drawn."""

    fill: str | None = None
    fill_opacity: float = 0.4
    stroke: str = "#333333"
    weight: float = 1.5
    opacity: float = 1.0
    dash: str | None = None
    pattern: str | None = None  # "stripe" for hatch fills
    pattern_color: str | None = None
    pattern_angle: float = 45.0
    legend: str | None = None
    radius: float = 5.0


@dataclass(frozen=True)
class LayerStyle:
    """Symbology of one layer: a default symbol and one per class value."""

    layer_id: str
    default: Symbol
    classes: dict[str, Symbol] = field(default_factory=dict)
    class_field: str | None = None
    label_field: str | None = None
    legend_title: str | None = None
    source_file: str = ""

    def symbol_for(self, cls: object) -> Symbol:
        """The symbol of class value ``cls`` (1.0 is the class "1"), else the default one."""
        key = class_text(cls)
        if key is not None and key in self.classes:
            return self.classes[key]
        return self.default


@dataclass(frozen=True)
class MapSpec:
    """One map product (one ``maps/*.toml``)."""

    id: str
    title: str
    #: The map's ``audience`` key: who may see it.
    sensitivity: Sensitivity
    layers: tuple[str, ...]
    analysis: tuple[str, ...] = ()
    basemap: str = "none"  # no tile host asked unless the pack names one
    basemaps: tuple[str, ...] = ()
    title_en: str | None = None
    description: str = ""
    source_file: str = ""
    paper: str | None = None  # PDF sheet: A4, A3 or A1
    orientation: str | None = None  # PDF sheet: landscape or portrait


@dataclass(frozen=True)
class DistanceSpec:
    """A ``[[distances]]`` entry: a site report measures the distance to this layer."""

    layer: str
    label: str  # Chinese, e.g. "距交通走廊"
    label_en: str = ""  # e.g. "Distance to the transport corridor"


@dataclass
class Pack:
    """A loaded plan pack. ``problems`` lists everything found wrong while reading it."""

    root: Path
    name: str
    title: str
    layers: dict[str, LayerSpec]
    styles: dict[str, LayerStyle]
    maps: dict[str, MapSpec]
    storage_crs: str = "EPSG:4490"
    planar_crs: str | None = None
    extent: tuple[float, float, float, float] | None = None
    #: A polygon layer (the districts): its union within ``extent`` is the land the pack's
    #: data cover; parcels and sites outside it are 未核查 (:mod:`qzgeo.geo.coverage`).
    coverage_layer: str | None = None
    notice: str = ""
    attribution: str = ""
    tianditu_key: str | None = None
    # A trusted layer (e.g. the coastline) that real-data layers are checked against for an
    # undeclared GCJ-02 offset.
    reference_layer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: What site reports measure distances to (``[[distances]]`` in the catalog), in order.
    distances: tuple[DistanceSpec, ...] = ()
    #: How the pack was chosen: "--pack", "QZGEO_PACK", "qzgeo.toml" or "bundled".
    selected_by: str = ""
    problems: list[str] = field(default_factory=list)
    organisation_name: str | None = None  # [pack] organisation (编制单位)

    @property
    def organisation(self) -> str:
        """编制单位 of the pack's sheets: ``[pack] organisation``, else derived from the title."""
        if self.organisation_name:
            return self.organisation_name
        return re.sub(r"[（(][^）)]*[）)]\s*$", "", self.title).strip() + "编制组"

    @property
    def catalog_path(self) -> Path:
        return self.root / "layers" / "catalog.toml"

    def layer_path(self, spec: LayerSpec) -> str:
        """Absolute path (or URI) of a layer's data source."""
        if is_postgis_uri(spec.path):
            return spec.path
        return str((self.root / "layers" / spec.path).resolve())

    def constraint_layers(self) -> list[LayerSpec]:
        return [s for s in self.layers.values() if s.is_constraint]

    def zone_layers(self) -> list[LayerSpec]:
        return [s for s in self.layers.values() if s.role == "zone"]

    def analysis_inputs(self) -> list[LayerSpec]:
        """The layers available land and conflicts derive from: every zone and constraint
        layer (the outputs are internal if any of them is)."""
        return [s for s in self.layers.values() if s.role == "zone" or s.is_constraint]

    def parcel_layers(self) -> list[LayerSpec]:
        """The layers a parcel analysis derives from besides the constraints: the zones, and
        the coverage layer, whose outline decides each parcel's 未核查 part."""
        cover = [self.layers[self.coverage_layer]] if self.coverage_layer in self.layers else []
        return [*self.zone_layers(), *cover]


def pack_tomls(folder: Path) -> list[Path]:
    """The ``*.toml`` files of a pack folder (``styles/``, ``maps/``...), in name order.

    Hidden names are not the author's: an editor's lock (Emacs ``.#overview.toml``, a dangling
    symlink while the file is open) or macOS resource forks (``._overview.toml``, binary,
    left by a copy to a USB stick or a network share) made the whole pack invalid.
    """
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))
