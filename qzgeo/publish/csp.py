"""Content-Security-Policy of every page qzgeo writes: only what the page needs.

A map page runs its own inline scripts and styles, draws tiles from its basemaps' hosts
(none when ``basemap = "none"``) and, online, Leaflet from the CDN. A gallery runs no script
at all. No page may connect anywhere (``connect-src`` falls back to ``default-src 'none'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from qzgeo.publish.assets import LEAFLET_CDN
from qzgeo.publish.basemaps import Basemap

_CDN_HOST = "{0.scheme}://{0.netloc}".format(urlsplit(LEAFLET_CDN))


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


def map_page_csp(*, offline: bool, basemaps: Iterable[Basemap] = ()) -> str:
    """The CSP ``<meta>`` of a map page (site report and parcels map included)."""
    cdn = [] if offline else [_CDN_HOST]
    return _meta(
        [
            ("default-src", ["'none'"]),
            ("script-src", ["'unsafe-inline'", *cdn]),
            ("style-src", ["'unsafe-inline'", *cdn]),
            ("img-src", ["data:", "blob:", *cdn, *tile_hosts(basemaps)]),
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
