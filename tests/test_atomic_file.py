"""One atomic file writer (study/atomic_file.py) for the problems CSV, the REDCap files, the template
workbook and design figures: the new file has a plain file's permissions, and a failed write leaves
the old file and no temporary file."""

from __future__ import annotations

import os

import pytest

from cartkit.study.atomic_file import default_mode, replace_atomically, write_text_atomically


def test_the_new_file_replaces_the_old_with_plain_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_text_atomically(target, "a,b\r\n1,2\n")
    assert target.read_bytes() == b"a,b\r\n1,2\n"  # newlines as given
    assert target.stat().st_mode & 0o777 == default_mode()
    assert default_mode() == 0o666 & ~_current_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def half_then_fail(tmp: str) -> None:
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        replace_atomically(target, half_then_fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
