"""Entry point of the ``qzgeo`` command: a click group that loads one module per command."""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click

from qzgeo._errors import QzgeoError, Stopped
from qzgeo.io.atomic import signals_held

# command name -> module under qzgeo.cli; each module defines a click command named `command`.
COMMANDS = {
    "validate": "validate",
    "publish": "publish",
    "analyze": "analyze",
    "check": "check",
    "convert": "convert",
    "new-pack": "new_pack",
    "suitability": "suitability",
}


class QzgeoGroup(click.Group):
    """Loads commands lazily and turns every qzgeo error into a message and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        # Ctrl-C lands after the import, where click ends the run with one line: inside it,
        # numpy turns the KeyboardInterrupt into an ImportError (a traceback).
        with _imports_without_gc(), signals_held((signal.SIGINT,)):
            command: click.Command = importlib.import_module(f"qzgeo.cli.{module}").command
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["qzgeo.args"] = list(args)  # as typed, for the hint of _dash_file
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _stoppable():
                return super().invoke(ctx)
        except click.NoSuchOption as exc:
            raise _dash_file(exc, ctx.meta.get("qzgeo.args", [])) or exc from None
        except Stopped as exc:
            name = signal.Signals(exc.signum).name
            click.echo(
                f"Error: stopped by {name}; no half-written output is left (the outputs are "
                "the previous run's, or this run's if it had finished writing them)",
                err=True,
            )
            sys.exit(128 + exc.signum)
        except QzgeoError as exc:
            from qzgeo.cli.options import printable

            click.echo(f"Error: {printable(exc)}", err=True)  # no raw terminal escapes
            sys.exit(2)
        except (MemoryError, KeyboardInterrupt):
            raise
        except OSError as exc:
            # Files that vanish or cannot be opened are the user's to fix, not a crash.
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)


def _dash_file(exc: click.NoSuchOption, args: list[str]) -> click.UsageError | None:
    """A file named like an option (``-宗地.txt``) that click took for one: say so, and the
    two ways to give it, instead of "No such option '-s'"."""
    command = exc.ctx.info_name if exc.ctx is not None else "check"
    for arg in args[: args.index("--")] if "--" in args else args:
        if arg.startswith(exc.option_name) and arg.startswith("-") and os.path.lexists(arg):
            msg = (
                f"{arg} is a file whose name starts with '-', read as an option; give it as "
                f"./{arg}, or put -- before the file names (e.g. qzgeo {command} -- {arg})"
            )
            return click.UsageError(msg, exc.ctx)
    return None


#: Set by :func:`main` (the console script, whose process ends with the command).
_CONSOLE = False


@contextlib.contextmanager
def _imports_without_gc() -> Iterator[None]:
    """Python's cyclic collector runs every ~700 new objects; importing a command's modules
    (geopandas, pandas, pyproj...) makes millions, none of them garbage, and the passes over
    them cost ~0.06 s of a one-site check (~1 s). Off while they load; then what they made is
    frozen out of later passes. Only in the console script: a process that calls :func:`cli`
    and goes on (a test, a notebook) keeps its collector as it was."""
    if not _CONSOLE or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


#: Signals that end a run the way Ctrl-C does (cleanup runs), instead of killing it outright.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def _stop(signum: int, frame: object) -> None:
    # A second one while cleaning up would cut the cleanup short: wait for it to finish.
    signal.signal(signum, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """SIGTERM (``kill``, a scheduler, ``timeout``) and SIGHUP (the terminal closed) raise
    :class:`Stopped` while a command runs, so that its outputs, worker processes and shared
    memory are cleaned up as after Ctrl-C (by default they kill the process at once, leaving
    half-written files and orphan workers). Only signals left at their default are taken (a
    SIGHUP ignored by ``nohup`` stays ignored); the handlers are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, _stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.group(cls=QzgeoGroup)
@click.version_option(package_name="qzgeo")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """qzgeo: plan packs, overlay analysis, siting checks and offline maps for any city.

    The plan pack is chosen by --pack, else $QZGEO_PACK, else `pack = "DIR"` in ./qzgeo.toml,
    else the bundled pack; every command prints which one it used. Start a new city with
    `qzgeo new-pack DIR`.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """The ``qzgeo`` command (the console script): :func:`cli`, then a quick exit.

    Python's last garbage collections at exit walk every object the run left (the modules
    of pandas, GDAL, numpy...): ~0.1 s of a command that takes 2 s, for a process that is
    ending. They are frozen first (``gc.freeze``), out of those passes; nothing else
    changes (exit code, ``atexit`` handlers, buffers flushed). Only here, not in :func:`cli`,
    which tests and scripts call in processes that go on.
    """
    global _CONSOLE
    _CONSOLE = True
    try:
        cli(prog_name="qzgeo")
    finally:
        gc.freeze()
