"""XML for QGIS (project, QML and SLD styles) that QGIS can always parse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["xml_text"]

#: Characters XML 1.0 cannot hold, even escaped (C0 controls but tab, LF, CR; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(root: ET.Element, *, space: str = " ") -> str:
    r"""``root`` serialised, without the characters XML 1.0 cannot hold.

    ElementTree writes a ``\x0b`` or ``\x00`` of a title or class name as it is, and QGIS
    then refuses the whole project or style ("not well-formed"). Such characters come only
    from escapes in a catalog or from stray bytes in data, and draw nothing: they are left out.
    """
    ET.indent(root, space=space)
    return _NOT_XML.sub("", ET.tostring(root, encoding="unicode"))
