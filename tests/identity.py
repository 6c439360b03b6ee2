"""Finding traces of the source patient anywhere in a data set (nested and private too)."""

from __future__ import annotations

from pydicom import Dataset

from adit_dev.synthetic import StudySpec


def identifying_values(study: StudySpec) -> set[str]:
    names = {part for part in study.patient_name.replace("=", "^").split("^") if len(part) > 2}
    values = {
        study.patient_id,
        study.accession_number,
        study.study_uid,
        study.institution_name,
        study.birth_date,
        *names,
        *(s.series_uid for s in study.series),
        *(uid for s in study.series for uid in s.instance_uids),
    }
    return {v for v in values if v}


def leaks(ds: Dataset, study: StudySpec) -> list[str]:
    """Every element (path and value) that still carries an identifying value."""
    needles = identifying_values(study)
    found: list[str] = []

    def visit(data: Dataset, path: str) -> None:
        for elem in data:
            where = f"{path}{elem.keyword or elem.tag}"
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value):
                    visit(item, f"{where}[{i}].")
                continue
            if elem.tag.is_private:
                found.append(f"{where} (private tag kept)")
                continue
            text = str(elem.value)
            found.extend(f"{where}={text!r}" for n in needles if n in text)

    visit(ds, "")
    if hasattr(ds, "file_meta"):
        visit(ds.file_meta, "meta.")
    return found
