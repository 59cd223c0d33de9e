"""A phone in headless Chromium: touch, a small viewport, every request recorded.

``qzgeo.publish.browser.render_html`` opens pages as a desktop would; a resident opens them on
a touch screen, where Leaflet switches to its touch styles, and sometimes from the bureau's web
server, whose headers (a Content-Security-Policy) the page does not control. Requests to
anything but ``file:``, ``data:``, ``blob:`` or the loopback server of the test are aborted and
recorded.
"""

from __future__ import annotations

import contextlib
import http.server
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from qzgeo.publish.browser import CHROMIUM

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
# the qzgeo controls are built and the opening zoom (fitBounds) has finished: a popup opened
# during that animation is moved again when it ends
READY = (
    "() => !!(window.qzgeo && window.qzgeo.instances[0] && window.qzgeo.instances[0].ready)"
    " && document.querySelector('.leaflet-zoom-anim') === null"
)


@dataclass
class Visit:
    value: Any = None
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def visit(
    url: str | Path,
    fn: Callable[[Any], Any],
    *,
    width: int = 390,
    height: int = 844,
    mobile: bool = True,
    wait_ready: bool = True,
) -> Visit:
    """Open ``url`` (a path or an ``http://127.0.0.1`` URL) and return ``fn(page)``."""
    from playwright.sync_api import sync_playwright

    target = url.resolve().as_uri() if isinstance(url, Path) else url
    out = Visit()

    def guard(route: Any) -> None:
        u = route.request.url
        out.requests.append(u)
        if u.startswith(("file:", "data:", "blob:", "http://127.0.0.1:")):
            route.continue_()
        else:
            out.blocked.append(u)
            route.abort()

    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="qz-phone-") as profile:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            is_mobile=mobile,
            has_touch=mobile,
        )
        try:
            ctx.route("**/*", guard)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda e: out.page_errors.append(str(e)))
            page.goto(target, wait_until="load")
            if wait_ready:
                _poll(page)
            out.value = fn(page)
        finally:
            ctx.close()
    return out


def _poll(page: Any) -> None:
    # wait_for_function evals its text in the page, which the page's CSP (no unsafe-eval)
    # forbids: poll from outside instead
    for _ in range(600):
        if page.evaluate(READY):
            page.wait_for_timeout(100)
            return
        page.wait_for_timeout(50)
    msg = "the map never became ready"
    raise AssertionError(msg)


class _Handler(http.server.SimpleHTTPRequestHandler):
    headers_to_send: dict[str, str] = {}  # noqa: RUF012 - set per server below

    def end_headers(self) -> None:
        for k, v in self.headers_to_send.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (an ephemeral port) with extra ``headers``; yield its URL."""
    handler = type("H", (_Handler,), {"headers_to_send": dict(headers or {})})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SMALL_TARGETS = """
() => {
  const out = [];
  const seen = new Set();
  for (const e of document.querySelectorAll(
      "button, a[href], input, select, .leaflet-control a, .qz-row")) {
    // a checkbox or radio is tapped through its row label
    const t = e.matches("input[type=checkbox], input[type=radio]") ? e.closest("label") || e : e;
    if (seen.has(t)) { continue; }
    seen.add(t);
    const r = t.getBoundingClientRect();
    const cs = getComputedStyle(t);
    if (!r.width || !r.height || cs.visibility === "hidden") { continue; }
    if (t.closest(".leaflet-control-attribution")) { continue; }
    if (r.width < 40 || r.height < 40) {
      out.push([t.tagName, t.className, (t.textContent || t.getAttribute("aria-label") || "")
        .trim().slice(0, 16), Math.round(r.width), Math.round(r.height)]);
    }
  }
  return out;
}
"""
