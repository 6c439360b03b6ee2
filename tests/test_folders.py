"""Folder layout: hostile DICOM values never escape the destination folder."""

from __future__ import annotations

import hashlib
import re
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
        ("x" * 300, "x" * 87 + "~" + hashlib.sha256(b"x" * 300).hexdigest()[:12]),
        ("con", "_con"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("COM1", "_COM1"),
        ("lpt9.dcm", "_lpt9.dcm"),
        ("prn .x", "_prn .x"),
        ("COM10", "COM10"),
        ("CONSOLE", "CONSOLE"),
        ("T1 axial. ", "T1 axial"),
        ("study...", "study"),
        (" . ", "fallback"),
    ],
)
def test_sanitize(value: str, expected: str) -> None:
    assert sanitize(value, "fallback") == expected


_WINDOWS_SAFE = re.compile(r'^[^<>:"/\\|?*\x00-\x1f\x7f]{1,100}(?<![ .])$')


@pytest.mark.parametrize(
    "value",
    ["con", "NUL", "aux.", "COM3.txt", "lpt1 ", "..", "a" * 1000, "x" * 99 + ".", "ab. . .",
     "\\server\\share", "c:\\windows", "<>|?*"],
)  # fmt: skip
def test_components_are_safe_on_windows(value: str) -> None:
    name = sanitize(value, "fallback")
    assert _WINDOWS_SAFE.match(name), name
    assert name.split(".")[0].rstrip(" ").upper() not in {"CON", "PRN", "AUX", "NUL"}


def test_long_values_never_share_a_folder(tmp_path: Path) -> None:
    """Two descriptions equal in their first 100 characters used to share one folder."""
    prefix = "Thorax Abdomen Becken mit Kontrastmittel, venöse Phase, " * 3
    first, second = Dataset(), Dataset()
    for ds, tail in ((first, "arteriell"), (second, "portalvenös")):
        ds.StudyDate, ds.StudyTime = "20240301", "101530"
        ds.SeriesNumber, ds.SeriesDescription = 2, prefix + tail
        ds.SOPInstanceUID = "1.2.3"
    one = instance_path(tmp_path, "job", "SUBJ01", first, ["CT"])
    two = instance_path(tmp_path, "job", "SUBJ01", second, ["CT"])
    assert one.parent != two.parent
    assert len(one.parent.name) == len(two.parent.name) == 100
    assert one.parent.name.startswith("2-Thorax Abdomen")
    assert sanitize("2-" + prefix + "arteriell", "series") == one.parent.name  # stable


def test_patients_whose_ids_sanitize_alike_never_share_a_folder(tmp_path: Path) -> None:
    ds = Dataset()
    ds.StudyDate, ds.StudyTime, ds.SeriesNumber, ds.SOPInstanceUID = "20240301", "1", 1, "1.2"
    paths = {instance_path(tmp_path, "job", pid, ds, ["CT"]).parts[-4] for pid in
             ("A/1", "A_1", "A:1", "con", "_con", "0012345")}  # fmt: skip
    assert len(paths) == 6
    assert "A_1" in paths and "_con" in paths and "0012345" in paths  # unchanged ones stay


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
