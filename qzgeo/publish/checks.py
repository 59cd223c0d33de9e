"""Checks run on every map of a pack before any file is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from qzgeo._errors import PublishError
from qzgeo.pack.model import LayerStyle, MapSpec, Pack, Symbol
from qzgeo.publish.colors import css_rgba

ANALYSIS_FIELDS: dict[str, tuple[str, ...]] = {
    "available_land": ("名称", "area_ha", "area_mu"),
    "conflicts": ("名称", "类别", "area_ha", "area_mu"),
}

_NUMBER = r"([0-9]+\.?[0-9]*|\.[0-9]+)"
_DASH_RE = re.compile(rf"^{_NUMBER}([ ,]+{_NUMBER})*$")


def zone_names_published(pack: Pack) -> bool:
    """Whether every zone layer publishes its ``name_field`` (the analysis ``名称`` column).

    A layer without ``name_field`` is named by its ``名称`` column when it has one (see
    :func:`qzgeo.pack.overlaps.zone_name`), so it must publish ``名称``.
    """
    return all((s.name_field or "名称") in s.publish_fields for s in pack.zone_layers())


def constraint_classes_published(pack: Pack) -> bool:
    """Whether every constraint layer with a ``class_field`` publishes it (the ``类别`` of
    冲突图斑; a layer without one gives its title, which every map shows anyway)."""
    return all(
        s.class_field is None or s.class_field in s.publish_fields for s in pack.constraint_layers()
    )


def published_analysis_fields(pack: Pack, name: str) -> tuple[str, ...]:
    """The columns of analysis output ``name`` a public map may embed: those of
    :data:`ANALYSIS_FIELDS` whose source fields the pack's layers publish."""
    hidden = set()
    if not zone_names_published(pack):
        hidden.add("名称")
    if not constraint_classes_published(pack):
        hidden.add("类别")
    return tuple(f for f in ANALYSIS_FIELDS.get(name, ()) if f not in hidden)


def shown_name_field(pack: Pack, layer_id: str, *, public: bool) -> str | None:
    """A zone layer's ``name_field`` where it may be shown: internal, or published."""
    spec = pack.layers[layer_id]
    if public and spec.name_field not in spec.publish_fields:
        return None
    return spec.name_field


def style_fields(style: LayerStyle | None, class_field: str | None) -> list[str]:
    """Columns a style reads (class and label field), in a stable order."""
    out = []
    for f in (class_field, style.label_field if style else None):
        if f and f not in out:
            out.append(f)
    return out


def layer_class_field(pack: Pack, layer_id: str) -> str | None:
    style = pack.styles.get(layer_id)
    if style is not None and style.class_field:
        return style.class_field
    spec = pack.layers.get(layer_id)
    return spec.class_field if spec is not None else None


def analysis_class_field(pack: Pack, name: str) -> str | None:
    style = pack.styles.get(name)
    if style is not None and style.class_field:
        return style.class_field
    if name == "conflicts" and style is not None and style.classes:
        return "类别"
    return None


def _symbol_problems(sym: Symbol, where: str) -> Iterable[str]:
    for key in ("fill", "stroke", "pattern_color"):
        value = getattr(sym, key)
        try:
            _ = value is None or css_rgba(value)
        except PublishError as exc:  # it says why and the fix
            yield f"{where}: `{key}` = {exc}"
    if sym.dash is not None and not (isinstance(sym.dash, str) and _DASH_RE.match(sym.dash)):
        yield f"{where}: `dash` = {sym.dash!r} must be dash lengths like '6 4'"


def style_problems(pack: Pack, ids: Iterable[str]) -> list[str]:
    """Colours and dash patterns that cannot be drawn safely."""
    problems: list[str] = []
    for lid in ids:
        style = pack.styles.get(lid)
        if style is None:
            continue
        where = f"styles/{style.source_file} [{lid}]"
        problems.extend(_symbol_problems(style.default, where))
        for cls, sym in style.classes.items():
            problems.extend(_symbol_problems(sym, f"{where} class {cls!r}"))
    return problems


def map_problems(pack: Pack, mspec: MapSpec, analysis_sensitivity: Mapping[str, str]) -> list[str]:
    """Everything that stops ``mspec`` from being published, each with its fix."""
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    public = mspec.sensitivity == "public"
    problems: list[str] = []
    for lid in mspec.layers:
        spec = pack.layers.get(lid)
        if spec is None:
            problems.append(
                f"{where}: layer {lid!r} is not in layers/catalog.toml; "
                "add it to the catalog or remove it from `layers`"
            )
        elif public and not spec.is_public:
            problems.append(
                f"{where}: public map names internal layer {lid!r} "
                f"(sensitivity = {spec.sensitivity!r}); remove {lid!r} from `layers` "
                "or set audience = 'internal'"
            )
    for name in mspec.analysis:
        sens = analysis_sensitivity.get(name, "internal")
        if public and sens != "public":
            problems.append(
                f"{where}: public map shows analysis output {name!r}, which is derived from "
                f"internal data (sensitivity = {sens!r}); remove {name!r} from `analysis` "
                "or set audience = 'internal'"
            )
    return problems + published_field_problems(pack, mspec, analysis_sensitivity)


def published_field_problems(
    pack: Pack, mspec: MapSpec, analysis_sensitivity: Mapping[str, str]
) -> list[str]:
    """Fields the styles of a public map read that its layers do not publish.

    ``qzgeo validate`` runs these with :func:`style_problems`: its own checks hold no
    counterpart, and a pack it calls OK must not be refused by ``publish``.
    """
    if mspec.sensitivity != "public":
        return []
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    problems: list[str] = []
    for lid in mspec.layers:
        spec = pack.layers.get(lid)
        if spec is None or not spec.is_public:
            continue  # map_problems and validate report these
        for f in style_fields(pack.styles.get(lid), layer_class_field(pack, lid)):
            if f not in spec.publish_fields:
                problems.append(
                    f"{where}: layer {lid!r} is styled by field {f!r}, which is not in its "
                    f"publish_fields {list(spec.publish_fields)}; add {f!r} to "
                    "publish_fields in layers/catalog.toml (it will be public)"
                )
    for name in mspec.analysis:
        if analysis_sensitivity.get(name, "internal") != "public":
            continue
        published = published_analysis_fields(pack, name)
        for f in style_fields(pack.styles.get(name), analysis_class_field(pack, name)):
            if f not in published:
                problems.append(
                    f"{where}: analysis {name!r} is styled by field {f!r}, which is not "
                    f"published (fields {list(published)}{_source_hint(f)}); "
                    "style it by one of those"
                )
    return problems


def _source_hint(field: str) -> str:
    if field == "名称":
        return "; 名称 is published when every zone layer lists its name_field in publish_fields"
    if field == "类别":
        return (
            "; 类别 is published when every constraint layer with a class_field lists it "
            "in publish_fields"
        )
    return ""
