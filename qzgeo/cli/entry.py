"""The ``qzgeo`` console script: Ctrl-C while the command line loads ends it in one line.

Python's own handler turns Ctrl-C into a ``KeyboardInterrupt`` from its start; click's
handling (``Aborted!``, exit 1) only begins once click and qzgeo's command line are imported
(~0.1 s, longer on a busy machine): Ctrl-C in between printed a traceback of whatever was
loading. Importing this module (it imports only ``os``, ``signal`` and ``sys``) answers Ctrl-C
as click does, at once, until :func:`main` has loaded the command line and hands Ctrl-C back
to Python and click; the console script's own code between the two (pip's wrapper compiles
a regular expression) is covered too. Left before it: the interpreter's start, the wrapper's
``import re`` and the light packages ``qzgeo`` and ``qzgeo.cli``.

Import it only to run the command (the console script, ``python -m qzgeo``).
"""

import os
import signal
import sys


def _aborted(signum: int, frame: object) -> None:
    # Exactly click's end of a run on Ctrl-C; at once and uncatchable: an exception raised
    # inside an import can be turned into another one (numpy makes it an ImportError, a
    # traceback), and nothing is written yet that would need cleaning up.
    sys.stderr.write("\nAborted!\n")
    sys.stderr.flush()
    os._exit(1)


# Only Python's default handler is replaced: Ctrl-C ignored (a background job, nohup) stays
# ignored. Set on import, not in main(): the console script runs its own code in between.
_HELD = signal.getsignal(signal.SIGINT) is signal.default_int_handler
if _HELD:
    try:
        signal.signal(signal.SIGINT, _aborted)
    except ValueError:  # not the main thread: no handler can be set
        _HELD = False


def main() -> None:
    """Load :mod:`qzgeo.cli.main`, give Ctrl-C back to Python, run :func:`qzgeo.cli.main.main`."""
    from qzgeo.cli import main as command_line

    if _HELD and signal.getsignal(signal.SIGINT) is _aborted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        command_line.main()
    except SystemExit:
        _ended()
        raise


def _ended() -> None:
    """The command has ended, its exit code chosen: Ctrl-C from here on changes nothing.

    Its outputs are in place (or cleaned up after a Ctrl-C); what is left is Python's exit.
    A Ctrl-C there printed a ``KeyboardInterrupt`` from an exit handler or, once Python had
    put back SIGINT's default, ended the process by SIGINT (status 130, no message) after a
    complete run. Ignored instead (only where it has Python's handler: ours to change).
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except KeyboardInterrupt:  # pressed just before: raised as the handler is changed
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    _forget_interrupts()


def _forget_interrupts() -> None:
    """Keep the exit code click chose for ``python -m qzgeo``.

    CPython marks a KeyboardInterrupt that ends code run from source text (``exec`` or
    ``eval`` of a string: dataclasses and namedtuple make their methods so) as unhandled,
    even when a caller catches it; under ``python -m``, once the interpreter has finished,
    it then ends the process by SIGINT (status 130, after click's "Aborted!" and exit 1).
    A Ctrl-C landing in such an ``exec`` did that (1 run in ~15 stopped in their first
    second). Every run of source text clears the mark first: one that cannot fail, here,
    once the command has ended (click has handled any Ctrl-C by then).
    """
    exec("None")
