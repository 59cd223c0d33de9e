"""Output folders that qzgeo owns: checked, locked, built aside and swapped in whole.

Every command that writes files (``publish``, ``analyze``, ``check --out``) goes through
:func:`check_out_dir` before any work and :func:`output_build` to write:

- the folder must be new, empty, or marked by an earlier qzgeo run (the ``.qzgeo`` marker
  file); a website or home folder is never written into;
- it must not be, or lie inside, the plan pack, and no input may lie inside it;
- a lock (``.qzgeo.lock``, ``flock``) refuses a second run into the same folder;
- the parts (``public/``, ``internal/``) are built in a hidden ``.qzgeo-build-*`` folder
  inside OUT, on the same file system, and renamed into place at the end: a crash or Ctrl-C
  leaves the previous build, and a map removed from the pack leaves no stale page;
- what a killed run left (hidden ``.qzgeo-*`` temporary files and folders) is removed by the
  next run, under the lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qzgeo._errors import InputError, OutputError
from qzgeo.io.atomic import TEMP_PREFIX, signals_held
from qzgeo.io.out_record import (
    MARKER_OPENING,
    RECORD,
    part_files,
    refuse_foreign,
    update_record,
    write_record,
)
from qzgeo.io.paths import refuse_undecodable

MARKER = ".qzgeo"
LOCK = ".qzgeo.lock"
_BUILD_PREFIX = TEMP_PREFIX + "build-"
PARTS = ("public", "internal")
PACK_FOLDERS = ("layers", "styles", "maps", "suitability")
#: Outputs of other commands (analyze, check, suitability) that a whole build (publish) into
#: the same folder carries over instead of dropping as stale.
CARRIED = (
    "suitability",
    "parcels.gpkg",
    "parcels_summary.csv",
    "parcels_summary.csvt",
    "parcels_summary.xlsx",
    "parcels.html",
    "parcels_report.json",
    "check.json",
    "check.txt",
    "check.html",
    "check.gpkg",
)
_MARKER_TEXT = (
    f"{MARKER_OPENING} Post public/ as it is; internal/ is for staff only.\n"
    "qzgeo replaces public/ and internal/ on every run: keep your own files outside them\n"
    "(publish refuses to run while they hold a file qzgeo did not write; see .qzgeo.files).\n"
)


def _own_entry(name: str) -> bool:
    return name.startswith(MARKER)


def _local(path: str | os.PathLike[str]) -> Path | None:
    text = os.fspath(path)
    if "://" in text:
        return None
    return Path(text).expanduser().resolve()


def check_out_dir(
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    pack: str | os.PathLike[str] | None = None,
) -> Path:
    """Refuse an output folder qzgeo must not write into; return it resolved.

    Parameters
    ----------
    out
        The output folder.
    inputs
        Input files of the run (PostGIS URIs are skipped): none may lie inside ``out``.
    pack
        The plan pack folder: ``out`` may not be it, hold it, or lie inside its
        ``layers/``, ``styles/``, ``maps/`` or ``suitability/``.

    Raises
    ------
    OutputError
        Naming the folder, the reason and the fix.
    """
    target = Path(out).expanduser().resolve()
    try:  # resolved: a relative --out under a non-UTF-8 working folder fails the same way
        refuse_undecodable(target, what="--out folder")
    except InputError as exc:
        raise OutputError(str(exc)) from None
    if pack is not None:
        root = Path(pack).resolve()
        data = [root / d for d in PACK_FOLDERS]
        if root.is_relative_to(target) or any(target.is_relative_to(d) for d in data):
            msg = (
                f"--out {out} would write into the plan pack at {root}; choose an output "
                "folder outside the pack (qzgeo never writes into its inputs)"
            )
            raise OutputError(msg)
    for src in inputs:
        path = _local(src)
        if path is not None and (path == target or path.is_relative_to(target)):
            msg = (
                f"--out {out} holds the input {src}; an output there could replace it. "
                "Choose an output folder that holds none of the inputs"
            )
            raise OutputError(msg)
        if path is not None and path.is_dir() and target.is_relative_to(path):
            msg = (
                f"--out {out} lies inside the input folder {src} (a .gdb or a folder of "
                "shapefiles is read whole): an output there would change that input. Choose "
                "an output folder outside it"
            )
            raise OutputError(msg)
    if target.exists() and not target.is_dir():
        msg = f"--out {out} is a file, not a folder; choose a folder"
        raise OutputError(msg)
    if target.is_dir() and not (target / MARKER).is_file():
        foreign = sorted(p.name for p in target.iterdir() if not _own_entry(p.name))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            msg = (
                f"--out {out} is not empty ({shown}) and was not written by qzgeo; qzgeo "
                "writes only into a new or empty folder, or one an earlier qzgeo run marked "
                f"with {MARKER}. Choose a new folder"
            )
            raise OutputError(msg)
    return target


@dataclass
class Build:
    """Folders of one build: write into :attr:`public` and :attr:`internal`."""

    out: Path
    tmp: Path
    touched: set[str] = field(default_factory=set)

    def part(self, name: str) -> Path:
        """The build folder of ``public`` or ``internal`` (created)."""
        if name not in PARTS:
            msg = f"unknown output part {name!r}; use one of {PARTS}"
            raise ValueError(msg)
        self.touched.add(name)
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def public(self) -> Path:
        return self.part("public")

    @property
    def internal(self) -> Path:
        return self.part("internal")

    def final(self, path: Path) -> Path:
        """Where a file written under the build folder will be once swapped in."""
        return self.out / path.relative_to(self.tmp)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = (
                f"another qzgeo run is writing into {out} (it holds the lock {out / LOCK}); "
                "wait for it to finish or choose another --out folder"
            )
            raise OutputError(msg) from None
        yield
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _carry(old: Path, new: Path) -> None:
    """Hard-link the other commands' outputs of ``old`` into ``new`` (``old`` stays intact)."""
    for kept in CARRIED:
        src, dst = old / kept, new / kept
        if dst.exists() or not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=os.link)
        else:
            os.link(src, dst)


def _swap(build: Build) -> None:
    """Put each part in place: exchanged with the previous one in one step where Linux can.

    Ctrl-C or SIGTERM is held back meanwhile: between the two parts it would leave a new
    ``public/`` beside the previous ``internal/``.
    """
    with signals_held():
        _swap_parts(build)


def _swap_parts(build: Build) -> None:
    for name in PARTS:
        new = build.tmp / name
        old = build.out / name
        if not new.is_dir():
            if name not in build.touched:
                continue
            new.mkdir()
        if not old.exists():
            new.rename(old)
            continue
        _carry(old, new)
        if not _exchange(new, old):
            old.rename(build.tmp / f".old-{name}")
            new.rename(old)


def refuse_linked_parts(out: Path) -> None:
    """Refuse ``out/public`` or ``out/internal`` made a symbolic link (to a web root, say).

    publish replaces each part whole, and replaced the link with a folder without a word;
    the other commands would write through it into a folder qzgeo does not own.
    """
    for name in PARTS:
        part = out / name
        if part.is_symlink():
            msg = (
                f"{part} is a symbolic link (to {part.readlink()}); qzgeo writes its parts as "
                "folders of its own and would replace or write through the link. Remove the "
                f"link, then copy or sync {part} to where it is served after each run"
            )
            raise OutputError(msg)


@contextlib.contextmanager
def output_build(
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    pack: str | os.PathLike[str] | None = None,
    whole: bool = True,
) -> Iterator[Build]:
    """Check ``out``, lock it, yield a :class:`Build`, and put what it wrote in place.

    With ``whole`` (publish) both parts are built in a hidden folder and swapped in whole at
    the end, so stale pages vanish and an exception leaves the previous build (the outputs of
    other commands, :data:`CARRIED`, are kept), and refused while the parts hold a file that
    no qzgeo run wrote (:mod:`qzgeo.io.out_record`). With ``whole=False`` (analyze, check,
    suitability: a fixed set of files, each written atomically) files go straight into the
    parts and the other files there stay. Either way the files written are recorded.
    """
    inputs = list(inputs)
    target = check_out_dir(out, inputs=inputs, pack=pack)
    created = not target.exists()
    was_empty = created or not any(target.iterdir())
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not (target / MARKER).is_file():
            (target / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        msg = (
            f"cannot create the output folder {out}: {exc.strerror or exc}; "
            "write elsewhere with --out DIR (a folder you can write to)"
        )
        if not created and target.is_dir():  # it is there: creating it was never the problem
            msg = (
                f"the output folder {out} exists but cannot be written to: "
                f"{exc.strerror or exc}; make it writable (e.g. `chmod u+w {out}`) or write "
                "elsewhere with --out DIR (a folder you can write to)"
            )
        raise OutputError(msg) from exc
    with _locked(target):
        try:
            check_out_dir(out, inputs=inputs, pack=pack)
            refuse_linked_parts(target)
            remove_stale(target)
            if not whole:
                before = part_files(target)
                yield Build(out=target, tmp=target)
                update_record(target, before)
                return
            refuse_foreign(target)
            yield from _build_whole(target)
            write_record(target, part_files(target))
        except BaseException:
            # A failed first run leaves the folder as it found it: what it wrote is removed
            # (not what someone else put there meanwhile), and a folder it made, if empty.
            if was_empty:
                _undo(target, created=created)
            raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _undo(target: Path, *, created: bool) -> None:
    for child in list(target.iterdir()):
        if child.name in (MARKER, LOCK, RECORD, *PARTS) or child.name.startswith(TEMP_PREFIX):
            _remove(child)
    if created:
        with contextlib.suppress(OSError):  # not empty: someone else's files stay
            target.rmdir()


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files and folders (:data:`~qzgeo.io.atomic.TEMP_PREFIX`) that
    killed runs left in the output folder ``target`` and its parts; return them.

    A run killed by SIGKILL or a power cut cleans nothing up: its half-written file stays
    (hidden, beside the previous output; in ``public/`` it would be posted). Called under the
    lock, when no other run writes there.
    """
    found = [p for p in target.iterdir() if p.name.startswith(TEMP_PREFIX)]
    for name in PARTS:
        if not (target / name).is_dir() or (target / name).is_symlink():
            continue
        for folder, dirs, files in os.walk(target / name):  # symlinks are not followed
            here = Path(folder)
            found += [here / f for f in files if f.startswith(TEMP_PREFIX)]
            found += [here / d for d in dirs if d.startswith(TEMP_PREFIX)]
            dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX)]
    for path in found:
        _remove(path)
    return found


def _build_whole(target: Path) -> Iterator[Build]:
    """Build both parts in a hidden folder of ``target`` and swap them in at the end."""
    tmp = Path(tempfile.mkdtemp(prefix=_BUILD_PREFIX, dir=target))
    build = Build(out=target, tmp=tmp, touched=set(PARTS))
    try:
        yield build
        _swap(build)
    except OutputError as exc:
        # name the final place, not the hidden build folder
        raise OutputError(str(exc).replace(str(tmp), str(target))) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged(build: Build, *, stale: Callable[[], Iterable[Path]] = tuple) -> Iterator[Build]:
    """A hidden folder inside ``build.out`` to write a set of files into; on success they are
    moved into ``build.out`` together, at the end (with ``whole=False``, where the other files
    of the parts stay).

    Written straight into the parts, files of one run (``parcels.gpkg``, its summary, its
    report, its map) replace their predecessors one by one as each is finished: a run
    stopped half-way left the new ``parcels.gpkg`` beside the previous run's summary, report
    or map (seconds apart with ``--map``). Staged, a stopped run replaces none of them; the
    moves at the end are renames, not cut by Ctrl-C or SIGTERM (held back meanwhile).
    ``stale()``: files of ``build.out`` that the set replaces, removed with the moves.
    """
    tmp = Path(tempfile.mkdtemp(prefix=_BUILD_PREFIX, dir=build.out))
    stage = Build(out=build.out, tmp=tmp)
    try:
        yield stage
        with signals_held():
            for src in sorted(p for p in tmp.rglob("*") if p.is_file()):
                dst = stage.final(src)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
            for old in stale():
                old.unlink(missing_ok=True)
                _prune(old.parent, build.out)
    except OutputError as exc:
        # name the final place, not the hidden staging folder
        raise OutputError(str(exc).replace(str(tmp), str(build.out))) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _prune(folder: Path, out: Path) -> None:
    """Remove ``folder`` and then its parents, up to (not including) a part of ``out``, while
    they are empty: the folders the removal of a run's stale files emptied (a suitability
    model's, whose outputs moved to the other part, stayed in ``public/`` to be posted). A
    folder holding anything, a file of someone else's included, stays."""
    while folder.is_relative_to(out) and folder.parent != out and folder != out:
        try:
            folder.rmdir()
        except OSError:  # not empty (or not a folder): it and its parents stay
            return
        folder = folder.parent


def write_part(
    write: Callable[[Path], object],
    name: str,
    out: str | os.PathLike[str],
    *,
    public: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
    pack: str | os.PathLike[str] | None = None,
) -> Path:
    """Write one report ``name`` into ``out/public`` or ``out/internal``; return its path.

    ``write(path)`` writes the file (atomically). The same file in the other part (an earlier
    run's, now stale) is removed.
    """
    with output_build(out, inputs=inputs, pack=pack, whole=False) as b:
        part, other = (b.public, "internal") if public else (b.internal, "public")
        path = part / name
        write(path)
        (b.out / other / name).unlink(missing_ok=True)
    return path
