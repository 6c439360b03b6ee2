"""One rule per field: the CLI, the app's forms and batch files refuse the same value with
the same words (adit_core.fields)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adit_cli.main import cli
from adit_core import fields, settings
from adit_core.batch import ValidationReport, validate_file
from adit_core.db.database import Database
from adit_core.fields import FieldError
from adit_core.settings import SettingsError
from adit_tui.screens.batch import TRIAL_FIELDS
from adit_tui.screens.transfer import OPTION_FIELDS
from adit_tui.services import SearchCriteria
from adit_tui.widgets.search_form import FIELDS as SEARCH_FORM
from tests.batch.files import write_csv

STUDY = "1.2.826.0.1.3680043.8.498.1"


def adit(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def batch_problem(tmp_path: Path, kind: str, header: str, row: str) -> str:
    """The message of the one problem a batch file with this row has."""
    result = validate_file(write_csv(tmp_path / f"{kind}.csv", f"{header}\n{row}\n"), kind)
    assert isinstance(result, ValidationReport)
    (problem,) = result.problems
    return problem.message


def search_form_problem(name: str, value: str) -> str | None:
    """What the search form shows beside the field (its validator) and what the search
    refuses (SearchCriteria): they must agree."""
    shown = SEARCH_FORM[name][2](value)
    assert SearchCriteria(**{name: value}).problems().get(name) == shown
    return shown


@pytest.fixture
def servers(database: Database, tmp_path: Path) -> Database:
    for command in (
        ["server", "add", "src", "--ae-title", "SRC", "--host", "127.0.0.1", "--port", "1"],
        ["folder", "add", "out", "--path", str(tmp_path / "out"), "--create"],
    ):
        assert adit(*command).exit_code == 0
    return database


def cli_transfer_error(*options: str) -> str:
    result = adit("transfer", "-s", "src", "-d", "out", *options)
    assert result.exit_code == 1
    assert result.stdout == ""
    return result.stderr.strip()


def test_accession_number_is_sh_16_characters_everywhere(tmp_path: Path) -> None:
    value = "A" * 17
    expected = "is 17 characters long; at most 16 are allowed"
    assert fields.ACCESSION_NUMBER.problem(value) == expected
    header, row = "PatientID,AccessionNumber", f"X1,{value}"
    assert batch_problem(tmp_path, "query", header, row) == expected
    assert search_form_problem("accession_number", value) == expected
    assert fields.ACCESSION_NUMBER.problem("A" * 16) is None


@pytest.mark.parametrize("value", ["C-T", "C T", "CT\\MR", "X" * 17])
def test_modality_is_cs_everywhere(tmp_path: Path, database: Database, value: str) -> None:
    expected = (
        f"{value!r} is not a modality: uppercase letters, digits or underscores, at most 16 "
        "(e.g. CT, MR); several separated by commas"
    )
    listed = f"CT, {value}"
    assert fields.modality_list_problem(listed) == expected
    assert batch_problem(tmp_path, "query", "PatientID,Modality", f'X1,"{listed}"') == expected
    assert search_form_problem("modalities", listed) == expected
    with database.session() as session, pytest.raises(SettingsError, match="not modalities"):
        settings.set_value(session, "exclude_modalities", listed)


def test_modality_accepts_digits_and_underscore_everywhere(
    tmp_path: Path, database: Database
) -> None:
    """DICOM CS: a site's own code such as OT_3D is a modality in every path."""
    assert fields.modality_list("ct, OT_3D, ct") == ("CT", "OT_3D")
    result = validate_file(
        write_csv(tmp_path / "q.csv", 'PatientID,Modality\nX1,"ct, OT_3D"\n'), "query"
    )
    assert not isinstance(result, ValidationReport)
    assert result.rows[0].modalities == ("CT", "OT_3D")
    assert search_form_problem("modalities", "ct, OT_3D") is None
    assert SearchCriteria(modalities="ct, OT_3D").to_query().modalities == ("CT", "OT_3D")
    with database.session() as session:
        settings.set_value(session, "exclude_modalities", "ct, OT_3D")
        assert settings.load(session).exclude_modalities == {"CT", "OT_3D"}


def test_a_backslash_in_a_patient_id(tmp_path: Path, servers: Database) -> None:
    value = "00\\12"
    expected = "must not contain a backslash (\\)"
    assert batch_problem(tmp_path, "query", "PatientID,Modality", f"{value},CT") == expected
    assert batch_problem(
        tmp_path, "transfer", "PatientID,StudyInstanceUID", f"{value},{STUDY}"
    ) == (expected)
    assert search_form_problem("patient_id", value) == expected
    assert cli_transfer_error("--study", STUDY, "--patient-id", value) == (
        f"error: PatientID: {expected}"
    )


def test_wildcards_only_where_a_search_pattern_is_meant(tmp_path: Path, servers: Database) -> None:
    """The search form searches with patterns; a batch file and a transfer name exact values."""
    assert search_form_problem("patient_id", "00123*") is None
    expected = "must not contain * or ? (wildcards are not allowed here)"
    assert batch_problem(tmp_path, "query", "PatientID,Modality", "00123*,CT") == expected
    assert cli_transfer_error("--study", STUDY, "--patient-id", "00123*") == (
        f"error: PatientID: {expected}"
    )
    # A pseudonym becomes a PatientID: a later search would read * as a pattern.
    header, row = "PatientID,StudyInstanceUID,Pseudonym", f"P1,{STUDY},SUBJ*"
    assert batch_problem(tmp_path, "transfer", header, row) == expected
    assert cli_transfer_error("--study", STUDY, "--pseudonym", "SUBJ*") == (
        f"error: Pseudonym: {expected}"
    )
    assert OPTION_FIELDS["pseudonym"][1].problem("SUBJ*") == expected


def test_patient_name_is_one_comma_and_at_most_64_characters(tmp_path: Path) -> None:
    header = "PatientName,PatientBirthDate,Modality"
    for value, expected in (
        ("Doe, John, Jr", "write the name as: Last, First"),
        ("D" * 65, "is 65 characters long; at most 64 are allowed"),
    ):
        assert batch_problem(tmp_path, "query", header, f'"{value}",1980-01-01,CT') == expected
        assert search_form_problem("patient_name", value) == expected


def test_uids_everywhere(tmp_path: Path, servers: Database) -> None:
    expected = "'1.2.x' is not a valid UID: digits separated by single dots, at most 64 characters"
    header = "PatientID,StudyInstanceUID,SeriesInstanceUID"
    assert batch_problem(tmp_path, "transfer", header, "P1,1.2.x,") == expected
    assert batch_problem(tmp_path, "transfer", header, f"P1,{STUDY},1.2.x") == expected
    assert cli_transfer_error("--study", "1.2.x") == f"error: StudyInstanceUID: {expected}"
    assert cli_transfer_error("--study", STUDY, "--series", "1.2.x") == (
        f"error: SeriesInstanceUID: {expected}"
    )


def test_trial_protocol_fields_in_the_cli_and_both_forms(servers: Database) -> None:
    value = "T" * 65
    expected = "is 65 characters long; at most 64 are allowed"
    for name, option in (("trial_protocol_id", "--trial-protocol-id"),
                         ("trial_protocol_name", "--trial-protocol-name")):  # fmt: skip
        rule = fields.FIELDS[name]
        assert OPTION_FIELDS[name][1] is rule and TRIAL_FIELDS[name] is rule
        assert rule.problem(value) == expected
        assert cli_transfer_error("--study", STUDY, option, value) == (
            f"error: {rule.label}: {expected}"
        )


def test_ae_titles_of_servers_and_settings(database: Database) -> None:
    bad = "WAY_TOO_LONG_AE_TITLE"
    result = adit("server", "add", "x", "--ae-title", bad, "--host", "h", "--port", "104")
    assert result.exit_code == 1
    assert fields.AE_TITLE.problem(bad) in result.stderr
    assert f"invalid AE title {bad!r}: {fields.AE_TITLE_HINT}" in result.stderr
    with database.session() as session:
        with pytest.raises(SettingsError, match=fields.AE_TITLE_HINT):
            settings.set_value(session, "receiver_ae_title", bad)
        with pytest.raises(SettingsError, match=fields.AE_TITLE_HINT):
            settings.set_value(session, "receiver_ae_title", "  ")


def test_a_field_error_names_the_field_and_the_problem() -> None:
    with pytest.raises(FieldError) as caught:
        fields.PSEUDONYM.check("a\tb")
    assert caught.value.field is fields.PSEUDONYM
    assert caught.value.problem == "must not contain line breaks, tabs or other control characters"
    assert str(caught.value) == f"Pseudonym: {caught.value.problem}"
    with pytest.raises(FieldError, match="StudyInstanceUID: missing"):
        fields.STUDY_UID.check(" ", required=True)
    assert fields.STUDY_UID.check(f" {STUDY} ") == STUDY
