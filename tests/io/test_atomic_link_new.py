"""link_new, the no-replace commit of an atomic write, on a file system without hard links
(FAT, some network shares: os.link fails with EPERM) reserves the name exclusively instead:
it still never replaces a file, and still puts the whole file in place."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from qzgeo.io import atomic
from qzgeo.io.atomic import link_new, write_bytes


@pytest.fixture
def no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    def link(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(src))

    monkeypatch.setattr(atomic.os, "link", link)


@pytest.mark.usefixtures("no_hard_links")
def test_without_hard_links_a_free_name_gets_the_whole_file(tmp_path: Path) -> None:
    tmp, target = tmp_path / "t", tmp_path / "out"
    tmp.write_bytes(b"new")
    link_new(tmp, target)
    assert target.read_bytes() == b"new" and not tmp.exists()


@pytest.mark.usefixtures("no_hard_links")
def test_without_hard_links_a_taken_name_is_left(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"theirs")
    tmp = tmp_path / "t"
    tmp.write_bytes(b"new")
    with pytest.raises(FileExistsError):
        link_new(tmp, target)
    assert target.read_bytes() == b"theirs" and tmp.read_bytes() == b"new"


def test_write_bytes_without_replace_refuses_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_bytes(b"theirs")
    with pytest.raises(OSError, match="appeared while it was being written"):
        write_bytes(target, b"new", replace=False)
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["out.txt"]
    write_bytes(target, b"new")  # the default still replaces (outputs qzgeo owns)
    assert target.read_bytes() == b"new"
