"""EXPERIMENT: py-spy profiles of a running `adit worker` (and `adit receiver`) per path.

    uv run python bench/experiments/profile_worker.py [--paths wado,get,move] [--runs 2]
        [--kind uniform] [--to server|folder] [--gil]
    uv run python bench/experiments/stacks.py /tmp/adit-profile-worker-get.txt

Sets up what bench/transfer.py does (database, lab Orthanc source, Orthanc destination or
folder, receiver, worker), runs one transfer per path to warm up, then samples the worker
with its pseudonymizing processes (py-spy --subprocesses) and, for C-MOVE, the receiver,
over `--runs` pseudonymized transfers typed as a user would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Adit, fresh_dir, machine_line, scratch, throwaway_database
from lab import lab_orthanc
from spy import spy
from transfer import PATHS, Setup, adit_transfer, register

from adit_dev.orthanc import OrthancServer, free_port


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--paths", default="wado,get,move")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--kind", default="uniform")
    p.add_argument("--to", choices=["server", "folder"], default="server")
    p.add_argument("--gil", action="store_true")
    args = p.parse_args()
    print(machine_line())
    receiver_port = free_port()
    modalities = {"adit": ("ADIT", "127.0.0.1", receiver_port)}
    with (
        scratch("adit-exp-") as work,
        throwaway_database() as url,
        lab_orthanc(args.kind, modalities=modalities) as (source, study),
    ):
        adit = Adit(url, work / "data")
        adit.run("db", "upgrade")
        destination = None
        if args.to == "server":
            destination = OrthancServer(work / "dst", ae_title="DST")
            destination.start()
        try:
            register(adit, source, destination, work / "out", stow=False)
            receiver, _ = adit.start_receiver(receiver_port)
            worker = adit.start_worker()
            setup = Setup(adit, source, destination, work / "out", work / "staging", worker,
                          receiver)  # fmt: skip

            def clear() -> None:
                if destination is not None:
                    destination.reset()
                fresh_dir(work / "out")

            for key in args.paths.split(","):
                label, name = PATHS[key]
                clear()
                adit_transfer(setup, study, name, "PROF")  # warm-up
                output = f"/tmp/adit-profile-worker-{key}.txt"
                with (
                    spy(output, pid=worker.pid, subprocesses=True, gil=args.gil),
                    spy(f"/tmp/adit-profile-receiver-{key}.txt", pid=receiver.pid, gil=args.gil),
                ):
                    for _ in range(args.runs):
                        clear()
                        adit_transfer(setup, study, name, "PROF")
                print(f"{label}: {output}")
        finally:
            adit.stop_all()
            if destination is not None:
                destination.stop()
    print(machine_line())


if __name__ == "__main__":
    main()
