"""Batch transfer rows grouped into one transfer per study, by ADIT's rules:

- rows are grouped by StudyInstanceUID, in the order studies first appear;
- if any row of a study names no series, the whole study is transferred;
- otherwise the series of all its rows are merged, keeping order and dropping duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from adit_core.batch.rows import TransferRow


@dataclass
class StudyGroup:
    study_uid: str
    patient_id: str
    pseudonym: str
    series_uids: list[str] = field(default_factory=list)  # empty: the whole study
    lines: list[int] = field(default_factory=list)
    whole_study: bool = False


def group_by_study(rows: Iterable[TransferRow]) -> list[StudyGroup]:
    groups: dict[str, StudyGroup] = {}
    for row in rows:
        group = groups.get(row.study_uid)
        if group is None:
            group = groups[row.study_uid] = StudyGroup(row.study_uid, row.patient_id, row.pseudonym)
        group.lines.append(row.line)
        if not row.series_uids:
            group.whole_study = True
        group.series_uids.extend(row.series_uids)
    for group in groups.values():
        group.series_uids = [] if group.whole_study else list(dict.fromkeys(group.series_uids))
    return list(groups.values())
