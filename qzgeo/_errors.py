"""The small exception hierarchy of qzgeo.

Every error a user can cause derives from :class:`QzgeoError`; the CLI turns those into a
message and exit code 2, never a traceback. Each class also subclasses the matching built-in
(as osmnx does), so library callers can catch ``ValueError``, ``FileNotFoundError`` or
``OSError`` without knowing qzgeo's classes.

Examples
--------
>>> issubclass(InputError, ValueError), issubclass(MissingInputError, FileNotFoundError)
(True, True)
>>> issubclass(OutputError, OSError), issubclass(CRSError, QzgeoError)
(True, True)
>>> import pickle
>>> pickle.loads(pickle.dumps(PackError(["a bad layer"]))).problems
['a bad layer']
"""

from __future__ import annotations


class QzgeoError(Exception):
    """Base class for errors caused by input, configuration or the environment."""


class PackError(QzgeoError, ValueError):
    """A plan pack (catalog, styles, maps) is inconsistent.

    ``problems`` holds every problem found, so that a user can fix them all in one pass.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        msg = f"the plan pack has {len(self.problems)} problem(s):\n{lines}"
        super().__init__(msg)

    def __reduce__(self) -> tuple[type[PackError], tuple[list[str]]]:
        # Pickled by its problems, not its message: errors cross from worker processes.
        return (type(self), (self.problems,))


class InputError(QzgeoError, ValueError):
    """An input file or layer cannot be read as asked (format, encoding, missing layer...)."""


class MissingInputError(InputError, FileNotFoundError):
    """An input file does not exist."""


class CRSError(QzgeoError, ValueError):
    """A coordinate reference system is missing, wrong or inconsistent with the data."""


class GeometryError(QzgeoError, ValueError):
    """Geometry that cannot be repaired or used for the requested operation."""


class PublishError(QzgeoError, ValueError):
    """A map cannot be built as declared (e.g. an internal layer on a public map)."""


class OutputError(QzgeoError, OSError):
    """An output cannot be written (full disk, permissions...). The previous output survives."""


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM, SIGHUP) that the CLI turns into an exception,
    so that the cleanup of an interrupted run (Ctrl-C) runs for it too.

    A ``KeyboardInterrupt``: never caught as an error, treated as an interruption everywhere.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
