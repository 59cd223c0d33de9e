"""The one channel for notices: what a reader assumed, repaired or warns of travels with the data.

Readers attach a :class:`Notices` collector to what they return (``gdf.attrs["notices"]``,
see :func:`notices_of`); the stages after them pass it on, and the reports (a site's JSON
``warnings``/``repairs``, the text and HTML reports, ``report.json``) print every notice.
Nothing the user must know about travels only on stderr or in a log.

A notice names its ``source`` (the file or layer), and where it applies to one feature only,
that feature's id (``feature``) and the line in a text file (``line``). A notice without a
feature applies to every feature of its source (an encoding guess, a datum assumption).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["KINDS", "Notice", "Notices", "attach_notices", "counted", "notices_of"]

Kind = Literal["warning", "repair", "note"]
#: ``warning``: something may be wrong with the input or the answer; ``repair``: the data were
#: changed (a ring closed, a geometry fixed); ``note``: an assumption the user may want to see.
KINDS: tuple[str, ...] = ("warning", "repair", "note")
ATTR = "notices"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in the number ``n`` asks for, for the lines a user reads ("1 parcel",
    not "1 parcels"); ``plural`` where the English rule below is wrong.

    Examples
    --------
    >>> counted(1, "parcel"), counted(0, "zone"), counted(2, "overlay retry")
    ('1 parcel', '0 zones', '2 overlay retries')
    >>> counted(3, "conflict patch"), counted(2, "process"), counted(2, "day")
    ('3 conflict patches', '2 processes', '2 days')
    """
    if n == 1:
        return f"{n} {noun}"
    if plural is None and noun.endswith(("s", "x", "ch", "sh")):
        plural = noun + "es"
    elif plural is None and noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        plural = noun[:-1] + "ies"
    return f"{n} {plural or noun + 's'}"


@dataclass(frozen=True)
class Notice:
    """One notice: its kind, its message, and the source (and feature) it is about.

    Examples
    --------
    >>> n = Notice("a.txt line 3: ring 1 closed", kind="repair", source="a.txt", feature=0)
    >>> str(n), n.kind
    ('a.txt line 3: ring 1 closed', 'repair')
    """

    message: str
    kind: Kind = "warning"
    source: str | None = None
    feature: Hashable | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"notice kind must be one of {', '.join(KINDS)}, got {self.kind!r}"
            raise ValueError(msg)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``None`` fields left out)."""
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.source is not None:
            out["source"] = self.source
        if self.feature is not None:
            f = self.feature.item() if hasattr(self.feature, "item") else self.feature
            out["feature"] = f if isinstance(f, int | str) else str(f)
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass
class Notices:
    """An ordered collector of :class:`Notice` (duplicates are kept once).

    Examples
    --------
    >>> ns = Notices()
    >>> _ = ns.add("read as GBK", kind="note", source="a.txt")
    >>> _ = ns.add("ring closed", kind="repair", source="a.txt", feature=0)
    >>> [str(n) for n in ns.for_feature("a.txt", 0)]
    ['read as GBK', 'ring closed']
    >>> ns.messages(kind="repair")
    ['ring closed']
    """

    items: list[Notice] = field(default_factory=list)

    def add(
        self,
        message: str,
        *,
        kind: Kind = "warning",
        source: str | None = None,
        feature: Hashable | None = None,
        line: int | None = None,
    ) -> Notice:
        """Record a notice and return it."""
        notice = Notice(message, kind=kind, source=source, feature=feature, line=line)
        self.append(notice)
        return notice

    def append(self, notice: Notice) -> None:
        if notice not in self.items:
            self.items.append(notice)

    def extend(self, notices: Iterable[Notice]) -> None:
        for n in notices:
            self.append(n)

    def __iter__(self) -> Iterator[Notice]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def with_source(self, source: str) -> Notices:
        """The same notices with ``source`` set (e.g. the argument a file was given as)."""
        return Notices([replace(n, source=source) for n in self.items])

    def for_feature(self, source: str | None, feature: Hashable | None) -> list[Notice]:
        """Notices about one feature of ``source``: its own, and those about the whole source."""
        return [
            n
            for n in self.items
            if n.source == source and (n.feature is None or n.feature == feature)
        ]

    def messages(self, *, kind: str | None = None) -> list[str]:
        """The messages, in order (only those of ``kind`` if given)."""
        return [n.message for n in self.items if kind is None or n.kind == kind]

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready list of every notice."""
        return [n.to_dict() for n in self.items]


def notices_of(obj: Any) -> Notices:
    """The notices attached to a (Geo)DataFrame by a reader (an empty collector if none).

    They are kept in ``attrs["notices"]`` as plain dicts (:meth:`Notice.to_dict`), so that
    pandas can copy them and writers (GeoParquet keeps ``attrs``) can serialise them.
    """
    attrs = getattr(obj, "attrs", None)
    found = attrs.get(ATTR) if isinstance(attrs, dict) else None
    out = Notices()
    for d in found if isinstance(found, list) else []:
        if isinstance(d, dict) and "message" in d:
            kind = d.get("kind", "warning")
            out.add(
                str(d["message"]),
                kind=kind if kind in KINDS else "warning",
                source=d.get("source"),
                feature=d.get("feature"),
                line=d.get("line"),
            )
    return out


def attach_notices(obj: Any, notices: Notices) -> None:
    """Attach ``notices`` to a (Geo)DataFrame's ``attrs`` (replacing any there)."""
    obj.attrs[ATTR] = notices.to_list()
