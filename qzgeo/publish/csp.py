"""Content-Security-Policy of every page qzgeo writes: only what the page needs.

A map page runs its own inline scripts and styles, draws tiles from its basemaps' hosts
(none when ``basemap = "none"``); Leaflet is inlined, never fetched. A gallery runs no script
at all. No page may connect anywhere (``connect-src`` falls back to ``default-src 'none'``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from qzgeo.publish.basemaps import Basemap

# An inline script the browser runs: no src, no type or a JavaScript one (not the JSON data).
_INLINE_SCRIPT = re.compile(
    r'<script(?:\s+type="text/javascript")?\s*>(.*?)</script>', re.DOTALL | re.IGNORECASE
)
_SCRIPT_SRC = "script-src 'unsafe-inline'"


def tile_hosts(basemaps: Iterable[Basemap]) -> list[str]:
    """``https://host`` of every tile URL, subdomain templates expanded (no wildcards)."""
    hosts: list[str] = []
    for b in basemaps:
        for url in b.urls:
            parts = urlsplit(url)
            names = (
                [parts.netloc.replace("{s}", s) for s in b.subdomains]
                if "{s}" in parts.netloc
                else [parts.netloc]
            )
            hosts.extend(f"{parts.scheme}://{n}" for n in names)
    return list(dict.fromkeys(hosts))


def _meta(directives: Sequence[tuple[str, Sequence[str]]]) -> str:
    policy = "; ".join(" ".join([name, *values]) for name, values in directives)
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}"/>'


def map_page_csp(*, basemaps: Iterable[Basemap] = ()) -> str:
    """The CSP ``<meta>`` of a map page (site report and parcels map included)."""
    return _meta(
        [
            ("default-src", ["'none'"]),
            ("script-src", ["'unsafe-inline'"]),
            ("style-src", ["'unsafe-inline'"]),
            ("img-src", ["data:", "blob:", *tile_hosts(basemaps)]),
            ("base-uri", ["'none'"]),
            ("form-action", ["'none'"]),
        ]
    )


def gallery_csp() -> str:
    """The CSP ``<meta>`` of a script-free gallery: inline styles, its own PNGs, SVG."""
    return _meta(
        [
            ("default-src", ["'none'"]),
            ("style-src", ["'unsafe-inline'"]),
            ("img-src", ["'self'", "data:"]),
            ("base-uri", ["'none'"]),
            ("form-action", ["'none'"]),
        ]
    )


def pin_inline_scripts(page: str) -> str:
    """Add the sha256 of each inline script of ``page`` to its policy's ``script-src``.

    A browser that knows hashes (CSP level 2, every current one) then ignores
    ``'unsafe-inline'`` and runs only these scripts: markup that an escaping bug let into
    the page (``<img onerror=...>``) would not run; an older one keeps ``'unsafe-inline'``.

    Examples
    --------
    >>> page = map_page_csp() + "<script>go()</script>"
    >>> "'sha256-" in pin_inline_scripts(page)
    True
    """
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(page)
    ]
    if not hashes or _SCRIPT_SRC not in page:
        return page
    pinned = " ".join([_SCRIPT_SRC, *dict.fromkeys(hashes)])
    return page.replace(_SCRIPT_SRC, pinned, 1)
