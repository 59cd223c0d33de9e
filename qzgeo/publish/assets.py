"""Scripts and stylesheets of a published map, inlined from pinned packages.

Leaflet comes from the ``xstatic-leaflet`` wheel (1.9.3, byte-identical to the npm release).
Every page carries its own copy: it opens from a USB stick, behind a firewall and where foreign
CDNs are slow or blocked. The qzgeo controls live in ``js/`` next to this module.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from importlib import resources
from pathlib import Path

from branca.element import Element

from qzgeo._errors import PublishError

LEAFLET_VERSION = "1.9.3"

_SOURCEMAP_RE = re.compile(r"\n//# sourceMappingURL=\S+\s*$")
_CSS_URL_RE = re.compile(r"url\((images/[a-z0-9-]+\.png)\)")
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)


def leaflet_dir() -> Path:
    """Folder of the pinned Leaflet files."""
    try:
        import xstatic.pkg.leaflet as xs
    except ImportError as exc:  # pragma: no cover - a declared dependency
        msg = "xstatic-leaflet is not installed; pip install 'xstatic-leaflet==1.9.3.0'"
        raise PublishError(msg) from exc
    if xs.VERSION != LEAFLET_VERSION:
        msg = f"xstatic-leaflet provides Leaflet {xs.VERSION}; qzgeo pins {LEAFLET_VERSION}"
        raise PublishError(msg)
    return Path(xs.BASE_DIR)


@functools.cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _own(name: str) -> str:
    return (resources.files("qzgeo.publish") / "js" / name).read_text(encoding="utf-8")


def _safe_script(code: str, what: str) -> str:
    # Inline code must not be able to close its own <script>/<style> element.
    low = code.lower()
    if "</script" in low or "<!--" in low or "</style" in low:
        msg = f"{what} contains '</script', '</style' or '<!--' and cannot be inlined safely"
        raise PublishError(msg)
    return code


def leaflet_css_inline() -> str:
    """Leaflet's CSS with its images turned into data URIs."""
    base = leaflet_dir()
    # Comments go (one links to a bug tracker), line ends become \n; the rules stay as shipped.
    css = _read(base / "leaflet.css").decode("utf-8").replace("\r\n", "\n")
    css = _CSS_COMMENT_RE.sub("", css)

    def _data_uri(m: re.Match[str]) -> str:
        png = _read(base / m.group(1))
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    return _safe_script(_CSS_URL_RE.sub(_data_uri, css), "leaflet.css")


def leaflet_js_inline() -> str:
    """Leaflet's minified JS, without the source-map comment (the map file is not shipped)."""
    js = _read(leaflet_dir() / "leaflet.js").decode("utf-8")
    return _safe_script(_SOURCEMAP_RE.sub("\n", js), "leaflet.js")


def own_js() -> str:
    """The qzgeo controls (legend, layers, search, measure, fullscreen, notice)."""
    return _safe_script(_own("qzgeo.js"), "qzgeo.js")


def own_css() -> str:
    return _safe_script(_own("qzgeo.css"), "qzgeo.css")


def head_html() -> str:
    """The ``<style>``/``<script>`` elements of the page head: Leaflet's, then qzgeo's."""
    parts = [f"<style>{leaflet_css_inline()}</style>", f"<script>{leaflet_js_inline()}</script>"]
    parts.append(f"<style>{own_css()}</style>")
    parts.append(f"<script>{own_js()}</script>")
    return "\n".join(parts)


_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def script_json(value: object, *, sort_keys: bool = False) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>``, ``&`` or line separators survive.

    Jinja openers (``{{``, ``{%``, ``{#``) are escaped too, in case the text ever passes
    through a folium template; JSON itself never puts these after a structural brace.

    Examples
    --------
    >>> script_json({"a": "</script>&"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False
    )
    for char, escape in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)
    return _JINJA_OPEN.sub(r"\\u007b", text)


class RawElement(Element):
    """Text put into the page verbatim.

    branca's ``Element`` and folium's ``MacroElement`` parse their rendered text as a Jinja
    template (unsandboxed), so data must never go through them: a value ``{{ 7*7 }}`` would
    come out as ``49``. Everything qzgeo derives from data is emitted through this class.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "raw"
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text
