"""Render a published map in headless Chromium: screenshots and browser checks.

Uses Playwright's Python API with the *system* Chromium (Debian ``chromium``), never a
downloaded browser. Every run gets a fresh, throw-away profile and, by default, no network:
only ``file://`` and ``data:`` requests are allowed, everything else is aborted and recorded,
so a map that still needs the internet is caught instead of silently loading from a CDN.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qzgeo._errors import InputError, PublishError
from qzgeo.io.atomic import atomic_path, signals_held

__all__ = ["CHROMIUM", "RenderResult", "chromium_available", "render_html", "screenshot"]

CHROMIUM = os.environ.get("QZGEO_CHROMIUM", "/usr/bin/chromium")

# Fixed so that runs are reproducible and nothing phones home while we render.
_LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]

#: True once a Leaflet map is in the page and every qzgeo layer on it has drawn (layers
#: set ``window.__qzgeo_ready``; pages without qzgeo layers leave it undefined), and no
#: zoom animation is running.
DEFAULT_READY = (
    "document.querySelector('.leaflet-container') !== null"
    " && (window.__qzgeo_ready === undefined || window.__qzgeo_ready === true)"
    " && document.querySelector('.leaflet-zoom-anim') === null"
)

_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@dataclass
class RenderResult:
    """What happened while a page was rendered.

    Attributes
    ----------
    console_errors : list of str
        Text of every ``console.error`` message (including failed resource loads).
    page_errors : list of str
        Uncaught JavaScript exceptions.
    requests_blocked : list of str
        URLs aborted because the network was blocked.
    value : Any
        Result of the ``evaluate`` expression (``None`` if none was given).
    elapsed_s : float
        Seconds from navigation start until ``ready`` held and two animation frames passed.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests_blocked: list[str] = field(default_factory=list)
    value: Any = None
    elapsed_s: float = 0.0


def chromium_available() -> bool:
    """Return True if the Chromium executable at :data:`CHROMIUM` exists and is executable."""
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def render_html(
    html_path: str | os.PathLike[str],
    *,
    evaluate: str | None = None,
    ready: str = DEFAULT_READY,
    block_network: bool = True,
    width: int = 1280,
    height: int = 900,
    screenshot: str | os.PathLike[str] | None = None,
    timeout_s: float = 60,
) -> RenderResult:
    """Open an HTML file in headless Chromium, wait until it is ready, and report.

    Parameters
    ----------
    html_path : path
        The HTML file (opened as a ``file://`` URL).
    evaluate : str, optional
        JavaScript expression (or function source, possibly ``async``) evaluated once the
        page is ready; its JSON-serialisable result is returned as ``value``.
    ready : str
        JavaScript expression that is truthy once the page has finished drawing; see
        :data:`DEFAULT_READY`.
    block_network : bool
        Abort every request that is not ``file://`` or ``data:``.
    width, height : int
        Viewport size in CSS pixels.
    screenshot : path, optional
        Write a PNG of the viewport here (atomically) after ``evaluate``.
    timeout_s : float
        Give up (``PublishError``) if loading or ``ready`` takes longer.

    Examples
    --------
    >>> render_html("map.html", evaluate="document.title").page_errors  # doctest: +SKIP
    []
    """
    html = Path(html_path)
    if not html.is_file():
        msg = f"cannot render {str(html)!r}: no such file"
        raise InputError(msg)
    _require_chromium()
    from playwright.sync_api import Error as PlaywrightError

    result = RenderResult()
    try:
        with _browser() as (p, profile):
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=_LAUNCH_ARGS,
                env=_chromium_env(profile),
                viewport={"width": width, "height": height},
                device_scale_factor=1,
            )
            try:
                _drive(
                    context,
                    html,
                    result,
                    evaluate=evaluate,
                    ready=ready,
                    block_network=block_network,
                    screenshot=screenshot,
                    timeout_ms=timeout_s * 1000,
                )
            finally:
                context.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"headless Chromium failed on {str(html)!r}: {first}"
            f" (page errors so far: {result.page_errors[:3]!r})"
        )
        raise PublishError(msg) from exc
    return result


@contextlib.contextmanager
def _browser() -> Iterator[tuple[Any, str]]:
    """Playwright, started, and a throw-away Chromium profile folder.

    The profile goes last, once Playwright has stopped the browser: removed while a browser
    being stopped still writes to it, it failed with "Directory not empty", which hid the
    real error (or the Ctrl-C) and left the profile behind.

    Ctrl-C is held back until Playwright has returned: it reaches the whole process group,
    the Playwright driver dies of it at once, and the interrupt, raised somewhere in
    Playwright's event loop, was lost: the run ended as "headless Chromium failed" (exit 2)
    with asyncio errors logged.
    """
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="qzgeo-chromium-", ignore_cleanup_errors=True) as dir_,
        signals_held((signal.SIGINT,)) as pressed,
    ):
        try:
            with sync_playwright() as p:
                yield p, dir_
        finally:
            if pressed:  # the dead driver's pending futures would each be logged at exit
                logging.getLogger("asyncio").addFilter(_driver_gone)


#: What Chromium appends to $TMPDIR for its singleton socket; a Unix socket's path has at most
#: 103 bytes on macOS (107 on Linux).
_SOCKET_TAIL = len("/org.chromium.Chromium.XXXXXX/SingletonSocket")


def _chromium_env(profile: str) -> dict[str, str] | None:
    """Chromium's environment: its own temporaries (``org.chromium.Chromium.*``) in the profile
    folder, removed with it (in $TMPDIR, one stayed behind when a Ctrl-C stopped Chromium),
    unless the socket's path would then be too long; ``None``: this process's environment."""
    if len(os.fsencode(profile)) + _SOCKET_TAIL > 103:
        return None
    return {**os.environ, "TMPDIR": profile}


def _driver_gone(record: logging.LogRecord) -> bool:
    return "Connection closed while reading from the driver" not in record.getMessage()


def _wait_until(page: Any, ready: str, timeout_ms: float) -> None:
    """Poll ``ready`` from outside the page: ``wait_for_function`` evaluates it with ``eval``
    inside the page, which the page's Content-Security-Policy (no 'unsafe-eval') forbids."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.perf_counter() + timeout_ms / 1000
    while not page.evaluate(ready):
        if time.perf_counter() > deadline:
            msg = f"Timeout {timeout_ms:.0f}ms exceeded waiting for {ready[:60]!r}"
            raise PlaywrightTimeout(msg)
        page.wait_for_timeout(20)


def _drive(
    context: Any,
    html: Path,
    result: RenderResult,
    *,
    evaluate: str | None,
    ready: str,
    block_network: bool,
    screenshot: str | os.PathLike[str] | None,
    timeout_ms: float,
) -> None:
    """Load ``html`` in a browser context, wait until ``ready``, evaluate, screenshot."""
    if block_network:
        context.route("**/*", _network_guard(result.requests_blocked))
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(timeout_ms)
    page.on(
        "console",
        lambda m: result.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: result.page_errors.append(str(e)))
    start = time.perf_counter()
    page.goto(html.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    _wait_until(page, ready, timeout_ms)
    page.evaluate(_TWO_FRAMES)
    result.elapsed_s = time.perf_counter() - start
    if evaluate is not None:
        result.value = page.evaluate(evaluate)
    if screenshot is not None:
        with atomic_path(screenshot, suffix=".png") as tmp:
            page.screenshot(path=str(tmp), type="png")


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 900,
) -> Path:
    """Write a PNG of a published map as it appears in a browser (for ``qzgeo publish --png``).

    Waits until the map and every qzgeo layer have drawn, so title, legend and scale bar are
    in the picture exactly as the page shows them. The network is blocked: the map must be
    self-contained.

    Examples
    --------
    >>> screenshot("map.html", "map.png")  # doctest: +SKIP
    PosixPath('map.png')
    """
    render_html(html_path, screenshot=png_path, width=width, height=height)
    return Path(png_path)


def _require_chromium() -> None:
    if not chromium_available():
        msg = (
            f"headless Chromium is needed but {CHROMIUM!r} does not exist or is not executable;"
            " install it with `apt-get install chromium` or point QZGEO_CHROMIUM at a Chromium"
            " binary"
        )
        raise PublishError(msg)


def _network_guard(blocked: list[str]) -> Any:
    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    return handle
