"""EXPERIMENT: where C-GET time goes, one variant at a time, against getscu in the same run.

    uv run python bench/experiments/exp_cget.py [--variant NAME|all] [--kind uniform]
        [--runs 3] [--orthanc-pdu 131072] [--our-pdu 262144]

Variants (each writes every instance of one study as a file, like `getscu -od`):
  getscu        DCMTK getscu -pdu 131072 (the baseline)
  adit          adit_core.dicom.dimse.get: our product path (thread + bounded queue)
  pynetdicom    bare pynetdicom: send_c_get, the EVT_C_STORE handler writes the file
  recv_into     pynetdicom with AssociationSocket.recv reading a whole PDU by recv_into
                (pynetdicom reads 4 KB per recv() call and extends a bytearray)
  chunked       pynetdicom with _config.STORE_RECV_CHUNKED_DATASET (it writes the data
                set to a temporary file itself; the handler renames it)
  tuned         recv_into + no per-PDU evt hooks + no pynetdicom logging
  switch        pynetdicom with sys.setswitchinterval(0.0002): the GIL changes hands
                after 0.2 ms instead of 5 ms (reactor thread vs association thread)
  tuned_switch  tuned + switch
  adit_switch   adit with sys.setswitchinterval(0.0002)
  adit_nolog    adit with pynetdicom's _config.LOG_HANDLER_LEVEL = "none"
  adit_fast     adit + recv_into + no log handlers + switch interval + our handler
                building the file meta itself (event.encoded_dataset() builds it
                with pydicom: ~0.3 ms per instance)
  series_threads  one pynetdicom association per series, in threads
  series_procs  one pynetdicom association per series, in 2 processes
  mini          bench/experiments/mini_dimse.py: a minimal pure-Python DIMSE SCU
  mini_procs    mini, one association per series in 2 processes
  drive_getscu  run getscu into a temporary folder and read each file back (how ADIT
                could drive DCMTK)
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (
    DCMTK_PDU,
    children_cpu,
    cpu_seconds,
    dcmtk_env,
    fresh_dir,
    getscu,
    machine_line,
)
from lab import experiment_parser, lab_orthanc

STORAGE = [
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.7",  # SC
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1",  # DX
    "1.2.840.10008.5.1.4.1.1.128",  # PET
    "1.2.840.10008.5.1.4.1.1.6.1",  # US
]


# -- pynetdicom variants -----------------------------------------------------------------


def patch_recv_into() -> None:
    from pynetdicom.transport import AssociationSocket

    def recv(self: AssociationSocket, nr_bytes: int) -> bytearray:
        buf = bytearray(nr_bytes)
        view, got = memoryview(buf), 0
        while got < nr_bytes:
            n = self.socket.recv_into(view[got:], nr_bytes - got)  # type: ignore[union-attr]
            if not n:
                return buf[:got]
            got += n
        return buf

    AssociationSocket.recv = recv  # type: ignore[method-assign]


def patch_quiet() -> None:
    """No pynetdicom logging and no per-PDU/per-data event hooks (nobody listens here)."""
    from pynetdicom import dul, evt

    logging.getLogger("pynetdicom").disabled = True
    trigger = evt.trigger
    skip = {
        evt.EVT_DATA_RECV,
        evt.EVT_PDU_RECV,
        evt.EVT_DATA_SENT,
        evt.EVT_PDU_SENT,
        evt.EVT_DIMSE_RECV,
        evt.EVT_DIMSE_SENT,
        evt.EVT_FSM_TRANSITION,
    }

    def quiet(assoc, event, attrs=None):  # type: ignore[no-untyped-def]
        if event in skip:
            return None
        return trigger(assoc, event, attrs)

    evt.trigger = quiet
    dul.evt.trigger = quiet  # type: ignore[attr-defined]
    for module in ("association", "dimse", "transport", "acse", "fsm"):
        mod = sys.modules.get(f"pynetdicom.{module}")
        if mod is not None and hasattr(mod, "evt"):
            mod.evt.trigger = quiet


def patch_switch_interval() -> None:
    """Hand the GIL over after 0.2 ms instead of 5 ms (sys.setswitchinterval)."""
    sys.setswitchinterval(0.0002)


def patch_no_log_handlers() -> None:
    """pynetdicom's documented switch: no standard (logging) event handlers."""
    from pynetdicom import _config

    _config.LOG_HANDLER_LEVEL = "none"


def patch_fast_meta() -> None:
    """Our C-GET handler builds the file meta itself instead of event.encoded_dataset()."""
    from mini_dimse import part10_meta

    from adit_core.dicom import dimse_get
    from adit_core.dicom.instance import DicomInstance

    def on_store(self, event):  # type: ignore[no-untyped-def]
        if self.stop.is_set():
            return dimse_get._OUT_OF_RESOURCES
        request = event.request
        sop_class = str(request.AffectedSOPClassUID)
        sop_uid = str(request.AffectedSOPInstanceUID)
        syntax = str(event.context.transfer_syntax)
        data = part10_meta(sop_class, sop_uid, syntax) + request.DataSet.getvalue()
        instance = DicomInstance(data, sop_uid, sop_class, syntax)
        if not self._put(instance):
            return dimse_get._OUT_OF_RESOURCES
        self.result.received += 1
        self.result.bytes_received += instance.size
        return 0x0000

    dimse_get._GetJob._on_store = on_store


def adit_get(host: str, port: int, ae: str, uid: str, out: Path) -> None:
    """Our product C-GET (adit_core.dicom.dimse.get), each instance written to a file."""
    from adit_core.dicom import dimse
    from adit_core.dicom.server import DicomServer, LocalNode

    server = DicomServer(name="lab", ae_title=ae, host=host, port=port)
    for i in dimse.get(server, uid, local=LocalNode(ae_title="ADITEXP")):
        (out / f"{i.sop_instance_uid}.dcm").write_bytes(i.data)


def pynetdicom_get(
    host: str,
    port: int,
    ae_title: str,
    study_uid: str,
    out: Path,
    *,
    chunked: bool = False,
    series_uid: str | None = None,
) -> int:
    from pydicom import Dataset
    from pynetdicom import AE, _config, evt

    from adit_core.dicom.dimse_contexts import retrieve_contexts

    _config.STORE_RECV_CHUNKED_DATASET = chunked
    contexts, roles = retrieve_contexts("1.2.840.10008.5.1.4.1.2.2.3")
    count = [0]

    def on_store(event: evt.Event) -> int:
        uid = event.request.AffectedSOPInstanceUID
        if chunked:
            shutil.move(event.dataset_path, out / f"{uid}.dcm")
        else:
            (out / f"{uid}.dcm").write_bytes(event.encoded_dataset())
        count[0] += 1
        return 0

    ae = AE("ADITEXP")
    ae.dimse_timeout = ae.network_timeout = 300
    assoc = ae.associate(
        host,
        port,
        contexts=contexts,
        ae_title=ae_title,
        max_pdu=262144,
        ext_neg=list(roles),
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    import socket

    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    query.StudyInstanceUID = study_uid
    if series_uid:
        query.SeriesInstanceUID = series_uid
    for _status, _ in assoc.send_c_get(query, "1.2.840.10008.5.1.4.1.2.2.3"):
        pass
    assoc.release()
    return count[0]


def _series_job(args: tuple[str, str, int, str, str, str, str]) -> int:
    variant, host, port, ae, study_uid, series_uid, out = args
    if variant == "mini":
        import mini_dimse
        from mini_dimse import _element, _uid

        identifier = (
            _element(0x00080052, b"SERIES")
            + _element(0x0020000D, _uid(study_uid))
            + _element(0x0020000E, _uid(series_uid))
        )
        return mini_dimse.get_study(
            host,
            port,
            ae,
            study_uid,
            STORAGE,
            mini_dimse.file_sink(Path(out)),
            identifier=identifier,
        )
    return pynetdicom_get(host, port, ae, study_uid, Path(out), series_uid=series_uid)


def _prepare(patches: tuple[str, ...]) -> None:
    """Pool initializer: apply monkeypatches in that process only, import everything."""
    for name in patches:
        globals()[name]()
    import mini_dimse  # noqa: F401
    import pynetdicom  # noqa: F401


def _pool(*patches: str, processes: int = 1) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_prepare,
        initargs=(patches,),
    )
    for f in [pool.submit(int, 0) for _ in range(processes)]:
        f.result()  # started and imported before any timing
    return pool


# -- the harness -------------------------------------------------------------------------


def main() -> None:
    p = experiment_parser(__doc__)
    p.add_argument("--orthanc-pdu", type=int, default=131072)
    args = p.parse_args()
    names = [
        "getscu",
        "adit",
        "adit_switch",
        "adit_nolog",
        "adit_fast",
        "pynetdicom",
        "recv_into",
        "chunked",
        "tuned",
        "switch",
        "tuned_switch",
        "series_threads",
        "series_procs",
        "mini",
        "mini_procs",
        "drive_getscu",
    ]
    chosen = names if args.variant == "all" else ["getscu", *args.variant.split(",")]
    print(machine_line())
    config = {"MaximumPduLength": args.orthanc_pdu}
    with lab_orthanc(args.kind, args.instances, config=config) as (orthanc, study):
        host, port, ae, uid = orthanc.host, orthanc.dicom_port, orthanc.ae_title, study.study_uid
        series = [s.series_uid for s in study.series]
        out = Path(tempfile.mkdtemp(prefix="adit-exp-"))
        pools = {
            "pynetdicom": _pool(),
            "recv_into": _pool("patch_recv_into"),
            "chunked": _pool(),
            "tuned": _pool("patch_recv_into", "patch_quiet"),
            "switch": _pool("patch_switch_interval"),
            "tuned_switch": _pool("patch_recv_into", "patch_quiet", "patch_switch_interval"),
            "adit_nolog": _pool("patch_no_log_handlers"),
            "adit_fast": _pool(
                "patch_recv_into",
                "patch_no_log_handlers",
                "patch_switch_interval",
                "patch_fast_meta",
            ),
            "series": _pool("patch_recv_into", processes=2),
        }

        def adit() -> None:
            from adit_core.dicom import dimse
            from adit_core.dicom.server import LocalNode

            server = orthanc.as_dicom_server("lab")
            for i in dimse.get(server, uid, local=LocalNode(ae_title="ADITEXP")):
                (out / f"{i.sop_instance_uid}.dcm").write_bytes(i.data)

        def adit_switch() -> None:
            before = sys.getswitchinterval()
            sys.setswitchinterval(0.0002)
            try:
                adit()
            finally:
                sys.setswitchinterval(before)

        def in_pool(name: str, chunked: bool = False) -> Callable[[], object]:
            return lambda: (
                pools[name]
                .submit(pynetdicom_get, host, port, ae, uid, out, chunked=chunked)
                .result()
            )

        def series_parallel(variant: str, processes: bool) -> Callable[[], object]:
            def run() -> None:
                jobs = [(variant, host, port, ae, uid, s, str(out)) for s in series]
                if processes:
                    list(pools["series"].map(_series_job, jobs))
                    return
                threads = [threading.Thread(target=_series_job, args=(j,)) for j in jobs]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            return run

        def mini() -> None:
            import mini_dimse

            mini_dimse.get_study(host, port, ae, uid, STORAGE, mini_dimse.file_sink(out))

        def drive_getscu() -> None:
            from adit_core.dicom.instance import DicomInstance

            with tempfile.TemporaryDirectory(prefix="adit-getscu-") as staging:
                subprocess.run(
                    [
                        "getscu",
                        "-S",
                        "-aec",
                        ae,
                        "-aet",
                        "ADITEXP",
                        "-pdu",
                        DCMTK_PDU,
                        "-k",
                        "QueryRetrieveLevel=STUDY",
                        "-k",
                        f"StudyInstanceUID={uid}",
                        "-od",
                        staging,
                        host,
                        str(port),
                    ],
                    env=dcmtk_env(),
                    check=True,
                    capture_output=True,
                )
                for path in Path(staging).iterdir():
                    i = DicomInstance.from_bytes(path.read_bytes())
                    (out / f"{i.sop_instance_uid}.dcm").write_bytes(i.data)

        variants: dict[str, Callable[[], object]] = {
            "getscu": lambda: getscu(orthanc, uid, out),
            "adit": adit,
            "pynetdicom": in_pool("pynetdicom"),
            "recv_into": in_pool("recv_into"),
            "chunked": in_pool("chunked", chunked=True),
            "tuned": in_pool("tuned"),
            "switch": in_pool("switch"),
            "tuned_switch": in_pool("tuned_switch"),
            "adit_switch": adit_switch,
            "adit_nolog": lambda: (
                pools["adit_nolog"].submit(adit_get, host, port, ae, uid, out).result()
            ),
            "adit_fast": lambda: (
                pools["adit_fast"].submit(adit_get, host, port, ae, uid, out).result()
            ),
            "series_threads": series_parallel("pynetdicom", processes=False),
            "series_procs": series_parallel("pynetdicom", processes=True),
            "mini": mini,
            "mini_procs": series_parallel("mini", processes=True),
            "drive_getscu": drive_getscu,
        }
        times: dict[str, list[float]] = {name: [] for name in chosen}
        cpu: dict[str, list[float]] = {name: [] for name in chosen}
        try:
            for _ in range(args.runs):
                for name in chosen:
                    fresh_dir(out)
                    subprocess.run(["sync"], check=False)
                    c0 = _cpu(pools)
                    t0 = time.perf_counter()
                    variants[name]()
                    times[name].append(time.perf_counter() - t0)
                    cpu[name].append(_cpu(pools) - c0)
                    got = len(os.listdir(out))
                    if got != study.instance_count:
                        raise SystemExit(f"{name}: {got} of {study.instance_count}")
        finally:
            for pool in pools.values():
                pool.shutdown()
            shutil.rmtree(out, ignore_errors=True)
    base = statistics.median(times["getscu"])
    print(
        f"C-GET {study.instance_count} {args.kind} instances, Orthanc MaximumPduLength "
        f"{args.orthanc_pdu}, median of {args.runs}"
    )
    for name in chosen:
        per_run = [b / t for b, t in zip(times["getscu"], times[name], strict=True)]
        note = f"  CPU {1000 * statistics.median(cpu[name]) / study.instance_count:.2f} ms/inst"
        print(
            f"  {name:<15} {statistics.median(times[name]):6.2f}s  "
            f"({min(times[name]):.2f}-{max(times[name]):.2f})  speed "
            f"{statistics.median(per_run):.2f}x getscu{note}"
        )
    print(f"  (getscu median {base:.2f}s)")
    print(machine_line())


def _cpu(pools: dict[str, ProcessPoolExecutor]) -> float:
    """CPU seconds of this process, its finished children and the pools' processes."""
    pids = [pid for pool in pools.values() for pid in pool._processes]  # type: ignore[attr-defined]
    return time.process_time() + children_cpu() + sum(cpu_seconds(pid) for pid in pids)


if __name__ == "__main__":
    main()
