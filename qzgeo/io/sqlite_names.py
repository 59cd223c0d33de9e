"""SQLite identifiers quoted for SQL text (table, column and index names from user files)."""

from __future__ import annotations

__all__ = ["sql_ident"]


def sql_ident(name: str) -> str:
    """``name`` as an SQLite identifier (double quotes, doubled inside).

    Examples
    --------
    >>> print(sql_ident('宗地 a"b'))
    "宗地 a""b"
    """
    return '"' + name.replace('"', '""') + '"'
