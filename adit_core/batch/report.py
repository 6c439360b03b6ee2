"""What validation found: problems that block a file, warnings that do not."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class BatchKind(StrEnum):
    QUERY = "query"
    TRANSFER = "transfer"

    @property
    def label(self) -> str:
        """For sentences: "batch query", "batch transfer"."""
        return f"batch {self.value}"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how spreadsheet programs name the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Problem:
    """One finding: `line` is the row number a spreadsheet program shows (the header is
    line 1 in a file that starts with it); `column` the column's name as the file spells
    it, `letter` its spreadsheet letter. Either may be None for file-wide findings."""

    line: int | None
    column: str | None
    message: str
    letter: str | None = None

    def where(self) -> str:
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(
                f"column {self.column} ({self.letter})" if self.letter else f"column {self.column}"
            )
        elif self.letter:
            parts.append(f"column {self.letter}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


@dataclass
class ValidationReport:
    """Why a file was refused. Nothing was queued; every problem is listed at once."""

    path: Path
    kind: BatchKind
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    rows_read: int = 0

    ok = False

    def summary(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        return (
            f"{self.path.name} is not a valid {self.kind.label} file ({count} {noun}); "
            "nothing was queued. Fix the file and run again:"
        )

    def format(self) -> str:
        lines = [self.summary(), *(f"  {p}" for p in self.problems)]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  {w}" for w in self.warnings]
        return "\n".join(lines)
