"""Folder layout: hostile DICOM values never escape the destination folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pydicom import Dataset

from adit_core.folders import (
    UnsafePathError,
    ensure_inside,
    instance_path,
    job_folder_name,
    sanitize,
    write_atomic,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("../../x", "_.._x"),
        ("..", "fallback"),
        ("a/b\\c:d*e?f", "a_b_c_d_e_f"),
        ("ok name", "ok name"),
        ("\x00\x1f", "__"),
        ("", "fallback"),
        ("x" * 300, "x" * 100),
    ],
)
def test_sanitize(value: str, expected: str) -> None:
    assert sanitize(value, "fallback") == expected


def test_layout_matches_adit(tmp_path: Path) -> None:
    ds = Dataset()
    ds.StudyDate, ds.StudyTime = "20240301", "101530.123"
    ds.SeriesNumber, ds.SeriesDescription = 3, "T1 axial"
    ds.SOPInstanceUID = "1.2.3"
    job = job_folder_name("selective_transfer", 7, datetime(2026, 11, 23), "alice")
    path = instance_path(tmp_path, job, "SUBJ01", ds, ["MR", "CT"])
    assert path.relative_to(tmp_path).parts == (
        "adit_selective-transfer_7_20261123_alice",
        "SUBJ01",
        "20240301-101530-CT,MR",
        "3-T1 axial",
        "1.2.3.dcm",
    )


def test_hostile_values_stay_inside(tmp_path: Path) -> None:
    ds = Dataset()
    ds.StudyDate, ds.StudyTime = "../../..", "/etc"
    ds.SeriesNumber, ds.SeriesDescription = 1, "../../x"
    ds.SOPInstanceUID = "../../../../etc/passwd"
    path = instance_path(tmp_path / "root", "job", "../../..", ds, ["../"])
    assert tmp_path / "root" in path.parents
    write_atomic(path, b"data")
    assert path.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["root"]


def test_ensure_inside_refuses_escapes(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        ensure_inside(tmp_path / "a", tmp_path / "a" / ".." / "b")


def test_atomic_write_leaves_no_partial_files(tmp_path: Path) -> None:
    target = tmp_path / "d" / "f.dcm"
    write_atomic(target, b"x" * 10)
    write_atomic(target, b"y" * 5)
    assert target.read_bytes() == b"yyyyy"
    assert [p.name for p in target.parent.iterdir()] == ["f.dcm"]
