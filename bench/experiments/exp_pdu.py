"""EXPERIMENT: the PDU sizes that actually travel, per direction and Orthanc setting.

    uv run python bench/experiments/exp_pdu.py [--orthanc-pdu 131072]

Our C-GET (adit_core.dicom.dimse.get, which offers to receive 256 KB PDUs) and our
C-STORE (which sends as large as the peer accepts) against the lab Orthanc with the
given MaximumPduLength; prints the P-DATA-TF PDU lengths seen in each direction.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab import lab_orthanc
from pynetdicom import evt

from adit_core.dicom import dimse, dimse_association
from adit_core.dicom.server import LocalNode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--orthanc-pdu", type=int, default=131072)
    args = p.parse_args()
    received: collections.Counter[int] = collections.Counter()
    sent: collections.Counter[int] = collections.Counter()
    negotiated: list[int] = []

    def on_recv(event: evt.Event) -> None:
        if event.pdu.pdu_type == 0x04:
            received[len(event.pdu)] += 1

    def on_sent(event: evt.Event) -> None:
        if event.pdu.pdu_type == 0x04:
            sent[len(event.pdu)] += 1

    open_association = dimse_association.open_association

    def instrumented(*a, handlers=None, **kw):  # type: ignore[no-untyped-def]
        extra = [(evt.EVT_PDU_RECV, on_recv), (evt.EVT_PDU_SENT, on_sent)]
        assoc = open_association(*a, handlers=[*(handlers or []), *extra], **kw)
        negotiated.append(assoc.acceptor.maximum_length)
        return assoc

    dimse_association.open_association = instrumented
    import adit_core.dicom.dimse_get as get_module
    import adit_core.dicom.dimse_store as store_module

    get_module.open_association = instrumented
    store_module.open_association = instrumented
    config = {"MaximumPduLength": args.orthanc_pdu}
    local = LocalNode(ae_title="ADITEXP")
    with lab_orthanc("uniform", config=config) as (orthanc, study):
        server = orthanc.as_dicom_server("lab")
        instances = list(dimse.get(server, study.study_uid, local=local))
        print(f"Orthanc MaximumPduLength {args.orthanc_pdu}; we offer {dimse_association.MAX_PDU}")
        print(
            f"C-GET: Orthanc's maximum in its A-ASSOCIATE-AC {negotiated[-1]}; "
            f"P-DATA-TF PDUs received (length: count): {dict(received.most_common(4))}"
        )
        received.clear()
        orthanc.reset()
        result = dimse.store(server, iter(instances), local=local)
        print(
            f"C-STORE of {result.stored}: Orthanc accepts {negotiated[-1]}; PDUs sent "
            f"(length: count): {dict(sent.most_common(4))}"
        )
        orthanc.reset()
        orthanc.upload_many(study.datasets())


if __name__ == "__main__":
    main()
