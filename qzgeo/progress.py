"""Progress bars on stderr that leave no thread behind.

tqdm (4.70) starts a monitor thread (``tqdm_monitor``) with its first bar and keeps it for the
life of the process. A process with that thread alive is not safe to fork
(:func:`qzgeo.analysis.processes.fork_safe`): after one ``analyze --progress`` in a notebook
or a test session, every later run started its workers from a forkserver instead. qzgeo's
bars update once per chunk, so they need no monitor to refresh a slowed bar: ``miniters=1``
prints every update (throttled by ``mininterval``), which is what the monitor forces.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

__all__ = ["progress_bar"]


class _Bar(tqdm):
    """A tqdm bar without the monitor thread."""

    monitor_interval = 0


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str,
    disable: bool | None = False,
) -> Any:
    """A bar on stderr over ``iterable`` (or updated by hand up to ``total``).

    ``disable=None`` shows it only on a terminal, as tqdm does.

    Examples
    --------
    >>> import io, contextlib
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     bar = progress_bar(total=3, desc="parcels", unit="parcel")
    ...     bar.update(3); bar.close()
    >>> import threading; [t.name for t in threading.enumerate() if t.name == "tqdm_monitor"]
    []
    """
    return _Bar(
        iterable, total=total, desc=desc, unit=unit, file=sys.stderr, miniters=1, disable=disable
    )
