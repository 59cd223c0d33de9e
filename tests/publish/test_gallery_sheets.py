"""The gallery links the PDF sheets `qzgeo publish --pdf` made, and only those of its folder.

The public index listed each map's page but not its sheet: a reader of the posted folder had
no way to the PDF. Read with the standard library's HTML parser, not qzgeo's code.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.publish.gallery import Card, gallery_html

pytest.importorskip("matplotlib")


class _Links(HTMLParser):
    """Every ``<a href>`` of a page, with the ``class`` of the link."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append((a.get("class") or "", a["href"] or ""))


def _links(page: Path) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.links


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "out"
    res = CliRunner().invoke(cli, ["publish", "--pdf", "--out", str(out)])  # the bundled pack
    assert res.exit_code == 0, (res.output, res.exception)
    return out


def test_the_public_index_links_each_public_sheet(published: Path) -> None:
    public = published / "public"
    sheets = sorted(p.name for p in public.glob("*.pdf"))
    assert sheets, "publish --pdf wrote no public sheet"
    links = _links(public / "index.html")
    linked = sorted(h for c, h in links if h.endswith(".pdf"))
    assert linked == sheets
    # each sheet's link sits with its page's: one per card, same map id
    pages = sorted(h.removesuffix(".html") for c, h in links if h.endswith(".html"))
    assert pages == [s.removesuffix(".pdf") for s in sheets]


def test_the_public_index_reaches_nothing_outside_its_folder(published: Path) -> None:
    public = published / "public"
    internal_ids = {p.stem for p in (published / "internal").glob("*.pdf")}
    assert internal_ids  # the bundled pack has an internal map: the check means something
    text = (public / "index.html").read_text(encoding="utf-8")
    for _, href in _links(public / "index.html"):
        assert "/" not in href and (public / href).is_file(), href
    assert not any(f"{i}.pdf" in text or f"{i}.html" in text for i in internal_ids)


def test_the_internal_index_links_every_sheet(published: Path) -> None:
    internal = published / "internal"
    linked = {h for _, h in _links(internal / "index.html") if h.endswith(".pdf")}
    expect = {p.name for p in internal.glob("*.pdf")}
    expect |= {f"../public/{p.name}" for p in (published / "public").glob("*.pdf")}
    assert linked == expect
    assert all((internal / h).is_file() for h in linked)


def test_no_sheet_no_link() -> None:
    card = Card("m", "m.html", "图", None, "public", "", 1, thumbnail_svg="<svg></svg>")
    assert ".pdf" not in gallery_html("t", "n", [card])
    card.pdf = "m.pdf"
    assert 'href="m.pdf"' in gallery_html("t", "n", [card])
