"""A re-run whose outputs go to the other part (a model made internal) removes its earlier
copy from ``public/``: the files went, and ``public/suitability/<model>/`` stayed, empty, in
the folder to post. qzgeo removes the folders it emptied, never one holding another file."""

from __future__ import annotations

from pathlib import Path

from tests.analysis.suitability.test_bad_input import GOOD


def _tree(out: Path) -> set[str]:
    """Every file and folder under ``out``'s parts, as relative paths."""
    return {
        p.relative_to(out).as_posix()
        for part in ("public", "internal")
        for p in (out / part).rglob("*")
    }


def test_a_public_run_made_internal_leaves_no_empty_folder(make_pack, h, tmp_path):
    pack = make_pack({"m": GOOD + h.FIVE_CLASSES})
    out = tmp_path / "out"
    code, said = h.run_suitability(pack, out)
    assert code == 0, said
    assert (out / "public/suitability/m/report.json").is_file()
    code, said = h.run_suitability(pack, out, "--internal")
    assert code == 0, said
    assert (out / "internal/suitability/m/report.json").is_file()
    assert not (out / "public/suitability").exists(), _tree(out)
    assert (out / "public").is_dir()  # the part itself stays
    code, said = h.run_suitability(pack, out)  # and back
    assert code == 0, said
    assert not (out / "internal/suitability").exists(), _tree(out)


def test_a_folder_holding_another_file_stays(make_pack, h, tmp_path):
    pack = make_pack({"m": GOOD + h.FIVE_CLASSES})
    out = tmp_path / "out"
    assert h.run_suitability(pack, out)[0] == 0
    mine = out / "public/suitability/m/说明.txt"
    mine.write_text("mine", encoding="utf-8")
    assert h.run_suitability(pack, out, "--internal")[0] == 0
    assert mine.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in mine.parent.iterdir()) == ["说明.txt"]


def test_a_run_that_fails_makes_no_folder_in_the_other_part(make_pack, h, tmp_path, monkeypatch):
    """The model's folder of the new part was made before anything was written: a run that
    then failed left ``internal/suitability/m/`` empty beside the public copy it kept."""
    import qzgeo.publish.suitability_map as suitability_map
    from qzgeo._errors import OutputError

    pack = make_pack({"m": GOOD + h.FIVE_CLASSES})
    out = tmp_path / "out"
    assert h.run_suitability(pack, out)[0] == 0
    before = _tree(out)

    def refuse(*args: object, **kwargs: object) -> list[Path]:
        msg = "map.html cannot be written (a test's disk full)"
        raise OutputError(msg)

    monkeypatch.setattr(suitability_map, "write_result_map", refuse)
    code, said = h.run_suitability(pack, out, "--internal")
    assert code == 2 and "disk full" in said, said
    assert _tree(out) == before
