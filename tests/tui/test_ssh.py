"""Over SSH: `adit` exits when its terminal goes away, instead of spinning on."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from adit_core.db.database import Database
from tests.cli import ADIT


def _become_terminal_session() -> None:  # runs in the child, before exec
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _detached_session() -> None:  # no controlling terminal: no SIGHUP will come
    os.setsid()


@contextmanager
def adit_in_a_pty(
    database: Database, tmp_path: Path, *, controlling: bool = True
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`adit` (the app) on a fresh pseudo-terminal, as sshd would start it.

    With `controlling=False` the pty is only its stdin/stdout, not its controlling
    terminal (as under nohup, setsid or some multiplexers): the kernel's SIGHUP never
    arrives and only the app's own tty watchdog can notice the terminal is gone."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {
        **os.environ,
        "ADIT_DATABASE_URL": database.url,
        "ADIT_TUI_CONFIG": str(tmp_path / "none.toml"),
        "TERM": "xterm-256color",
        "SSH_CONNECTION": "127.0.0.1 50000 127.0.0.1 22",
    }
    proc = subprocess.Popen(
        ADIT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=_become_terminal_session if controlling else _detached_session,
        close_fds=True,
    )
    os.close(slave)
    try:
        yield proc, master
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        with suppress(OSError):
            os.close(master)


def read_until(master: int, needle: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared; got {seen[-2000:]!r}")
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen


def gone_within(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_app_exits_when_its_terminal_goes_away(database: Database, tmp_path: Path) -> None:
    """Two sessions at once (each start costs seconds of imports):

    - the pty is only stdin/stdout, not the controlling terminal (nohup, setsid, some
      multiplexers), and its master closes as sshd does when the link drops: no SIGHUP
      comes, the app's tty watchdog notices within seconds (without it, it runs on);
    - SIGHUP (what a controlling terminal's hang-up sends), the terminal still there: a
      clean exit with status 129.
    """
    with (
        adit_in_a_pty(database, tmp_path, controlling=False) as (orphan, orphan_master),
        adit_in_a_pty(database, tmp_path) as (signalled, signalled_master),
    ):
        for master in (orphan_master, signalled_master):
            read_until(master, b"Explorer")
        started = time.monotonic()
        os.close(orphan_master)  # the SSH connection drops: sshd closes the pty master
        signalled.send_signal(signal.SIGHUP)
        # Keep reading the second terminal so that the app can restore it and exit.
        deadline = started + 8
        while signalled.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([signalled_master], [], [], 0.2)
            if ready:
                try:
                    os.read(signalled_master, 65536)
                except OSError:
                    break
        assert gone_within(orphan, max(0.1, deadline - time.monotonic())), "no tty watchdog"
        assert gone_within(signalled, 1), "adit ignored SIGHUP"
        assert signalled.returncode == 129
        assert orphan.returncode != 0
