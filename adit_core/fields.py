"""The rule of every field a person types or a file holds: one table, one message per fault.

The CLI, the app's forms and batch files check a field with the same `Field` and so refuse
the same value with the same words. Lengths and character sets follow the DICOM value
representation (VR) the value ends up in (PS3.5 table 6.2-1):

- PatientID, Pseudonym (it becomes PatientID and PatientName), trial protocol ID and name:
  LO, at most 64 characters;
- PatientName: PN, at most 64 characters per component group, typed as ``Last, First``;
- AccessionNumber: SH, at most 16 characters;
- Modality: CS, uppercase letters, digits and underscore, at most 16 characters (a list is
  separated by commas);
- StudyInstanceUID, SeriesInstanceUID: UI, digits separated by single dots, at most 64;
- AE titles: AE, 1 to 16 printable ASCII characters without backslash.

Text never contains a backslash (the DICOM value separator) or control characters. ``*``
and ``?`` are wildcards: allowed where the field is a search pattern (the app's search
form), refused where a value must match exactly (batch query files, as ADIT does;
pseudonyms, which later searches would read as patterns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from adit_core.errors import AditError


class Wildcards(Enum):
    NEVER = "never"  # refused everywhere
    IN_SEARCHES = "in searches"  # a search pattern may use them; an exact value may not
    ALWAYS = "always"  # plain text that is never matched against (trial protocol names)


class FieldError(AditError):
    """A value its field's rule refuses: `problem` says what is wrong, without the field's
    name (for places that name the field already: a form line, a batch file column)."""

    def __init__(self, field: Field, problem: str) -> None:
        super().__init__(f"{field.label}: {problem}")
        self.field = field
        self.problem = problem


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_CODE = re.compile(r"^[A-Z0-9_]{1,16}$")
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable ASCII without backslash


@dataclass(frozen=True)
class Field:
    key: str  # the name code uses (form field ids, option names)
    label: str  # the name people see: the DICOM keyword where there is one
    vr: str  # the DICOM value representation the rule follows
    max_length: int
    wildcards: Wildcards = Wildcards.NEVER
    syntax: re.Pattern[str] | None = None
    # Why a value that fails `syntax` is wrong; "{value}" is replaced by the value (repr).
    syntax_problem: str = ""
    # The syntax alone decides (length, characters, emptiness), with its own message.
    syntax_only: bool = False
    # PatientName: "Last, First" has at most one comma.
    person_name: bool = False

    def problem(self, value: str, *, search: bool = False) -> str | None:
        """Why `value` (stripped) breaks the rule, or None. `search`: the value is a search
        pattern, where this field may allow wildcards."""
        value = value.strip()
        if self.syntax_only:  # the syntax decides, also whether a value may be empty
            assert self.syntax is not None
            return None if self.syntax.match(value) else self._syntax_problem(value)
        if not value:
            return None
        if "\\" in value:
            return "must not contain a backslash (\\)"
        if _CONTROL.search(value):
            return "must not contain line breaks, tabs or other control characters"
        allowed = self.wildcards is Wildcards.ALWAYS or (
            search and self.wildcards is Wildcards.IN_SEARCHES
        )
        if not allowed and ("*" in value or "?" in value):
            return "must not contain * or ? (wildcards are not allowed here)"
        if self.person_name and value.count(",") > 1:
            return "write the name as: Last, First"
        if len(value) > self.max_length:
            return f"is {len(value)} characters long; at most {self.max_length} are allowed"
        if self.syntax is not None and not self.syntax.match(value):
            return self._syntax_problem(value)
        return None

    def _syntax_problem(self, value: str) -> str:
        return self.syntax_problem.replace("{value}", repr(value))

    def check(self, value: str, *, search: bool = False, required: bool = False) -> str:
        """The value without surrounding spaces; FieldError when the rule refuses it."""
        problem = self.problem(value, search=search)
        if problem is not None:
            raise FieldError(self, problem)
        value = value.strip()
        if required and not value:
            raise FieldError(self, "missing (required)")
        return value

    def renamed(self, key: str, label: str) -> Field:
        """The same rule for another field (e.g. SeriesInstanceUID like StudyInstanceUID)."""
        return replace(self, key=key, label=label)


PATIENT_ID = Field("patient_id", "PatientID", "LO", 64, Wildcards.IN_SEARCHES)
PATIENT_NAME = Field(
    "patient_name", "PatientName", "PN", 64, Wildcards.IN_SEARCHES, person_name=True
)
ACCESSION_NUMBER = Field("accession_number", "AccessionNumber", "SH", 16, Wildcards.IN_SEARCHES)
MODALITY = Field(
    "modality",
    "Modality",
    "CS",
    16,
    syntax=_CODE,
    syntax_problem="{value} is not a modality: uppercase letters, digits or underscores, "
    "at most 16 (e.g. CT, MR); several separated by commas",
    syntax_only=True,
)
PSEUDONYM = Field("pseudonym", "Pseudonym", "LO", 64)
TRIAL_PROTOCOL_ID = Field("trial_protocol_id", "Trial protocol ID", "LO", 64, Wildcards.ALWAYS)
TRIAL_PROTOCOL_NAME = Field(
    "trial_protocol_name", "Trial protocol name", "LO", 64, Wildcards.ALWAYS
)
STUDY_UID = Field(
    "study_uid",
    "StudyInstanceUID",
    "UI",
    64,
    syntax=_UID,
    syntax_problem="{value} is not a valid UID: digits separated by single dots, "
    "at most 64 characters",
)
SERIES_UID = STUDY_UID.renamed("series_uid", "SeriesInstanceUID")
AE_TITLE = Field(
    "ae_title",
    "AE title",
    "AE",
    16,
    syntax=_AE_TITLE,
    syntax_problem="invalid AE title {value}: 1 to 16 printable ASCII characters, no backslash",
    syntax_only=True,
)
AE_TITLE_HINT = "1 to 16 printable ASCII characters, no backslash"

FIELDS: dict[str, Field] = {
    f.key: f
    for f in (
        PATIENT_ID,
        PATIENT_NAME,
        ACCESSION_NUMBER,
        MODALITY,
        PSEUDONYM,
        TRIAL_PROTOCOL_ID,
        TRIAL_PROTOCOL_NAME,
        STUDY_UID,
        SERIES_UID,
        AE_TITLE,
    )
}


def split_modalities(value: str) -> list[tuple[str, str]]:
    """(as typed, uppercased) for each item of a comma-separated modality list."""
    return [(part.strip(), part.strip().upper()) for part in value.split(",") if part.strip()]


def modality_list_problem(value: str) -> str | None:
    """Why a comma-separated list of modalities is wrong (the first bad item), or None."""
    for typed, code in split_modalities(value):
        if MODALITY.problem(code) is not None:
            return MODALITY.problem(typed)
    return None


def modality_list(value: str) -> tuple[str, ...]:
    """``"ct, MR"`` → ``("CT", "MR")`` (uppercased, repeats removed); FieldError else."""
    problem = modality_list_problem(value)
    if problem is not None:
        raise FieldError(MODALITY, problem)
    return tuple(dict.fromkeys(code for _typed, code in split_modalities(value)))
