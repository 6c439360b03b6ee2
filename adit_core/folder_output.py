"""One task's files in a destination folder: written aside, put in place only when complete.

While a task runs, its files go to
``<folder>/<job folder>/.incomplete/task-<id>/<patient>/<study>/<series>/<uid>.dcm``.
When the task succeeds they are fsynced and renamed into their places
(``<folder>/<job folder>/<patient>/...``); when it fails, is cancelled or its worker stops,
the task's ``.incomplete`` folder is removed. So the folder never holds a partial study
that looks complete, a full disk gets its space back at once, and a retry (which first
removes whatever a killed worker left behind) always starts clean.

The folder's root is never created: a root that is missing (a share that is not mounted)
is an error, and only the job's own sub-folders are made inside it.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from adit_core.errors import AditError
from adit_core.folders import ensure_inside, fsync_path, sanitize

INCOMPLETE = ".incomplete"
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class FolderError(AditError):
    """Writing into a destination folder failed; `transient` says whether trying the same
    again later may work without anyone doing anything."""

    transient = False


class FolderUnavailable(FolderError):
    pass


class FolderFull(FolderError):
    pass


class FolderWriteFailed(FolderError):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class TaskOutput:
    """The files one attempt of one task writes into folder `name` at `root`."""

    def __init__(self, root: Path, name: str, job_folder: str, task_id: int):
        self.root = root
        self.name = name
        self.job_dir = root / sanitize(job_folder, "job")
        self.staging = self.job_dir / INCOMPLETE / f"task-{task_id}"
        self.written: list[tuple[str, ...]] = []  # paths below the staging folder
        self._made: set[Path] = set()

    @property
    def where(self) -> str:
        return f"{self.root} (folder {self.name})"

    def open(self) -> None:
        """Check the root, remove what an earlier attempt left, make the staging folder."""
        self._check_root()
        self._remove_staging()
        for _ in range(5):
            try:
                # One level at a time: parents=True would create a missing root.
                for directory in (self.job_dir, self.job_dir / INCOMPLETE, self.staging):
                    directory.mkdir(exist_ok=True)
                return
            except FileNotFoundError:
                self._check_root()  # else another task removed an empty parent: again
            except OSError as exc:
                raise self._error(exc) from None
        raise FolderWriteFailed(f"cannot create folders in {self.where}", transient=True)

    def write(self, parts: tuple[str, ...], data: bytes) -> None:
        """Write one file at `parts` (sub-folders and file name) below the staging folder."""
        directory = self._directories(self.staging, parts[:-1])
        path = ensure_inside(self.root, directory / parts[-1])
        try:
            with open(path, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise self._error(exc) from None
        self.written.append(parts)

    def publish(self) -> int:
        """Make every written file durable and move it into place; returns how many.
        Should that fail, the files already moved are removed again."""
        moved: list[Path] = []
        try:
            for parts in self.written:
                fsync_path(self.staging.joinpath(*parts))
            directories: set[Path] = set()
            for parts in self.written:
                directory = self._directories(self.job_dir, parts[:-1])
                target = ensure_inside(self.root, directory / parts[-1])
                os.replace(self.staging.joinpath(*parts), target)
                moved.append(target)
                directories.add(directory)
            for directory in directories:
                fsync_path(directory)
            fsync_path(self.job_dir)
        except OSError as exc:
            for target in moved:
                target.unlink(missing_ok=True)
            raise self._error(exc) from None
        finally:
            self.discard()
        return len(moved)

    def discard(self) -> None:
        """Remove the staging folder, and the job's folders if nothing else is in them."""
        self._remove_staging()
        for directory in (self.job_dir / INCOMPLETE, self.job_dir):
            try:
                directory.rmdir()
            except OSError:
                break  # not empty (other tasks, published studies) or already gone

    def _remove_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self._made.clear()

    def _directories(self, base: Path, parts: tuple[str, ...]) -> Path:
        path = base
        for part in parts:
            path = path / part
            if path not in self._made:
                try:
                    path.mkdir(exist_ok=True)
                except OSError as exc:
                    raise self._error(exc) from None
                self._made.add(path)
        return path

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise FolderUnavailable(
                f"folder {self.name} is not mounted or does not exist ({self.root})"
            )

    def _error(self, exc: OSError) -> FolderError:
        if exc.errno in _NO_SPACE:
            return FolderFull(f"no space left on {self.where}")
        if isinstance(exc, FileNotFoundError) and not self.root.is_dir():
            return FolderUnavailable(
                f"folder {self.name} is not mounted or does not exist ({self.root})"
            )
        transient = exc.errno not in _NOT_ALLOWED
        return FolderWriteFailed(
            f"cannot write to {self.where}: {exc.strerror}", transient=transient
        )
