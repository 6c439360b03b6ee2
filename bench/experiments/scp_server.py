"""EXPERIMENT: one C-STORE SCP variant as a process, serving until it is terminated.

    uv run python bench/experiments/scp_server.py VARIANT --port P --out DIR [--reuse-port]

Variants (AE title EXPSCP; every instance is written as DIR/<SOPInstanceUID>.dcm):
  pyn_plain   pynetdicom SCP (ALL_TRANSFER_SYNTAXES, max PDU unlimited, TCP_NODELAY as
              adit receiver), the handler writes event.encoded_dataset()
  pyn_decode  pyn_plain + event.dataset to read StudyInstanceUID (adit receiver does
              this: it decodes the whole data set)
  pyn_fsync   pyn_decode + temporary file, fsync, rename (adit_core.folders.write_atomic,
              what adit receiver does before answering)
  pyn_tuned   pyn_plain without pynetdicom's log handlers, with recv_into, a 0.2 ms
              GIL switch interval and the file meta built by hand
  mini        bench/experiments/mini_dimse.py StoreSCP, write only
  mini_fsync  mini + fsync of each file before answering
With --reuse-port the listening socket sets SO_REUSEPORT, so several processes can share
the port and the kernel spreads associations over them.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS = ("pyn_plain", "pyn_decode", "pyn_fsync", "pyn_tuned", "mini", "mini_fsync")


def serve_pynetdicom(variant: str, port: int, out: Path, reuse_port: bool) -> None:
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
    from pynetdicom.transport import AssociationServer

    from adit_core.folders import write_atomic

    if variant == "pyn_tuned":
        import exp_cget

        exp_cget.patch_recv_into()
        exp_cget.patch_no_log_handlers()
        exp_cget.patch_switch_interval()
    if reuse_port:
        bind = AssociationServer.server_bind

        def server_bind(self: AssociationServer) -> None:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # type: ignore[union-attr]
            bind(self)

        AssociationServer.server_bind = server_bind  # type: ignore[method-assign]

    def on_open(event: evt.Event) -> None:
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_store(event: evt.Event) -> int:
        request = event.request
        uid = str(request.AffectedSOPInstanceUID)
        path = out / f"{uid}.dcm"
        if variant == "pyn_tuned":
            from mini_dimse import part10_meta

            meta = part10_meta(
                str(request.AffectedSOPClassUID), uid, str(event.context.transfer_syntax)
            )
            path.write_bytes(meta + request.DataSet.getvalue())
            return 0
        if variant in ("pyn_decode", "pyn_fsync"):
            str(event.dataset.get("StudyInstanceUID", ""))
        data = event.encoded_dataset()
        if variant == "pyn_fsync":
            write_atomic(path, data)
        else:
            path.write_bytes(data)
        return 0

    ae = AE(ae_title="EXPSCP")
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.maximum_pdu_size = 0
    ae.network_timeout = ae.dimse_timeout = 600
    handlers = [(evt.EVT_CONN_OPEN, on_open), (evt.EVT_C_STORE, on_store)]
    ae.start_server(("127.0.0.1", port), block=True, evt_handlers=handlers)


def serve_mini(variant: str, port: int, out: Path, reuse_port: bool) -> None:
    import mini_dimse

    scp = mini_dimse.StoreSCP(
        port,
        "EXPSCP",
        mini_dimse.file_sink(out, fsync=variant == "mini_fsync"),
        reuse_port=reuse_port,
    )
    scp.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("variant", choices=VARIANTS)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--reuse-port", action="store_true")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    serve = serve_mini if args.variant.startswith("mini") else serve_pynetdicom
    threading.Thread(
        target=serve, args=(args.variant, args.port, args.out, args.reuse_port), daemon=True
    ).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
