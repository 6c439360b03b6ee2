"""EXPERIMENT: a minimal DIMSE data path in pure Python, to measure what one could reach.

Not product code and deliberately incomplete: no ARTIM/DIMSE timers, no asynchronous
operations window, no extended negotiation beyond SCP/SCU role selection, no C-CANCEL, no
TLS. It exists to answer one question for bench/README.md: how fast can a Python process
move DICOM over one association when the hot loop does nothing but read PDUs into
buffers, cut PDVs with memoryviews, and write each data set out unchanged (no pydicom,
no threads, no queues, no per-PDU events)?

Three roles: `get_study` (C-GET SCU that writes Part 10 files), `store_files` (C-STORE
SCU sending Part 10 files as they are), `StoreSCP` (C-STORE SCP, one association per
accepted connection in a thread, for C-MOVE destinations).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.498.1.99"
IMPLEMENTATION_VERSION = "ADIT_MINI_0"

C_STORE_RQ, C_STORE_RSP = 0x0001, 0x8001
C_GET_RQ, C_GET_RSP = 0x0010, 0x8010
C_MOVE_RQ, C_MOVE_RSP = 0x0021, 0x8021
NO_DATASET = 0x0101
PENDING = (0xFF00, 0xFF01)


class DimseError(Exception):
    pass


# -- encoding helpers -------------------------------------------------------------------


def _uid(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def _element(tag: int, value: bytes) -> bytes:
    """Implicit VR little endian element (command sets are always encoded so)."""
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def command(**fields: object) -> bytes:
    """Encode a command set from (tag → value); ints are US unless listed as UL."""
    tags = {
        "AffectedSOPClassUID": 0x00000002,
        "CommandField": 0x00000100,
        "MessageID": 0x00000110,
        "MessageIDBeingRespondedTo": 0x00000120,
        "MoveDestination": 0x00000600,
        "Priority": 0x00000700,
        "CommandDataSetType": 0x00000800,
        "Status": 0x00000900,
        "AffectedSOPInstanceUID": 0x00001000,
    }
    body = b""
    for name, value in sorted(fields.items(), key=lambda kv: tags[kv[0]]):
        if isinstance(value, int):
            raw = struct.pack("<H", value)
        elif name == "MoveDestination":
            raw = str(value).encode("ascii").ljust(16)
        else:
            raw = _uid(str(value))
        body += _element(tags[name], raw)
    return _element(0x00000000, struct.pack("<I", len(body))) + body


def parse_command(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = 0
    while pos + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHI", data, pos)
        pos += 8
        out[group << 16 | elem] = data[pos : pos + length]
        pos += length
    return out


def _us(fields: dict[int, bytes], tag: int) -> int:
    return struct.unpack("<H", fields[tag][:2])[0]


def _text(fields: dict[int, bytes], tag: int) -> str:
    return fields.get(tag, b"").rstrip(b"\x00 ").decode("ascii")


def part10_meta(sop_class: str, sop_instance: str, syntax: str) -> bytes:
    """Preamble, DICM and an explicit VR little endian file meta group."""

    def el(elem: int, vr: bytes, value: bytes) -> bytes:
        if vr in (b"OB",):
            return (
                struct.pack("<HH", 2, elem)
                + vr
                + b"\x00\x00"
                + struct.pack("<I", len(value))
                + value
            )
        return struct.pack("<HH", 2, elem) + vr + struct.pack("<H", len(value)) + value

    version = IMPLEMENTATION_VERSION.encode()
    body = (
        el(0x0001, b"OB", b"\x00\x01")
        + el(0x0002, b"UI", _uid(sop_class))
        + el(0x0003, b"UI", _uid(sop_instance))
        + el(0x0010, b"UI", _uid(syntax))
        + el(0x0012, b"UI", _uid(IMPLEMENTATION_UID))
        + el(0x0013, b"SH", version + (b" " if len(version) % 2 else b""))
    )
    return b"\x00" * 128 + b"DICM" + el(0x0000, b"UL", struct.pack("<I", len(body))) + body


def split_part10(data: bytes) -> tuple[str, str, str, memoryview]:
    """(SOP class, SOP instance, transfer syntax, data set) of a standard Part 10 file."""
    if data[128:132] != b"DICM":
        raise DimseError("not a Part 10 file")
    (group_length,) = struct.unpack_from("<I", data, 140)
    end = 144 + group_length
    pos, uids = 144, {}
    while pos < end:
        _, elem = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"UN", b"UT", b"SQ", b"OW"):
            (length,) = struct.unpack_from("<I", data, pos + 8)
            pos += 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            pos += 8
        uids[elem] = data[pos : pos + length].rstrip(b"\x00 ").decode("ascii")
        pos += length
    return uids[0x0002], uids[0x0003], uids[0x0010], memoryview(data)[end:]


def _max_pdu(user_information: bytes | bytearray, default: int) -> int:
    """The Maximum Length sub-item (0x51) of a User Information item's value."""
    sub = 0
    while sub < len(user_information):
        kind, length = user_information[sub], struct.unpack_from(">H", user_information, sub + 2)[0]
        if kind == 0x51:
            return int(struct.unpack_from(">I", user_information, sub + 4)[0])
        sub += 4 + length
    return default


# -- the association ---------------------------------------------------------------------


@dataclass
class Context:
    id: int
    abstract: str
    syntaxes: list[str]
    accepted: str | None = None


@dataclass
class Association:
    sock: socket.socket
    contexts: dict[int, Context] = field(default_factory=dict)
    peer_max_pdu: int = 16384
    _head: bytearray = field(default_factory=lambda: bytearray(6))

    # raw PDUs

    def read_pdu(self) -> tuple[int, bytearray]:
        self._read_into(memoryview(self._head))
        kind, _, length = struct.unpack(">BBI", self._head)
        body = bytearray(length)
        self._read_into(memoryview(body))
        return kind, body

    def _read_into(self, view: memoryview) -> None:
        got, want = 0, len(view)
        while got < want:
            n = self.sock.recv_into(view[got:], want - got)
            if not n:
                raise DimseError("connection closed")
            got += n

    def pdvs(self, body: bytearray) -> Iterator[tuple[int, int, memoryview]]:
        """(context id, control header, value) of each PDV of a P-DATA-TF body."""
        view, pos = memoryview(body), 0
        while pos < len(body):
            (length,) = struct.unpack_from(">I", body, pos)
            yield body[pos + 4], body[pos + 5], view[pos + 6 : pos + 4 + length]
            pos += 4 + length

    def send_message(self, context_id: int, cmd: bytes, dataset: bytes | memoryview = b"") -> None:
        """A command, then its data set in fragments as large as the peer accepts."""
        out = [self._pdata(context_id, 0x03, cmd)]
        room = self.peer_max_pdu - 6 if self.peer_max_pdu else 1 << 20
        view = memoryview(dataset)
        for start in range(0, len(view), room):
            last = start + room >= len(view)
            out.append(self._pdata(context_id, 0x02 if last else 0x00, view[start : start + room]))
        self.sock.sendall(b"".join(out))

    @staticmethod
    def _pdata(context_id: int, control: int, value: bytes | memoryview) -> bytes:
        pdv = struct.pack(">IBB", len(value) + 2, context_id, control)
        return struct.pack(">BBI", 0x04, 0, len(value) + 6) + pdv + bytes(value)

    # association set-up and release (requestor side)

    @classmethod
    def request(
        cls,
        host: str,
        port: int,
        called: str,
        calling: str,
        contexts: list[Context],
        *,
        scp_roles: Iterable[str] = (),
        max_pdu: int = 0,
    ) -> Association:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        items = _item(0x10, APPLICATION_CONTEXT.encode())
        for cx in contexts:
            sub = _item(0x30, cx.abstract.encode()) + b"".join(
                _item(0x40, ts.encode()) for ts in cx.syntaxes
            )
            items += _item(0x20, bytes([cx.id, 0, 0, 0]) + sub)
        user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, IMPLEMENTATION_UID.encode())
        for uid in scp_roles:
            raw = uid.encode()
            user += _item(0x54, struct.pack(">H", len(raw)) + raw + b"\x00\x01")
        user += _item(0x55, IMPLEMENTATION_VERSION.encode())
        items += _item(0x50, user)
        head = struct.pack(">HH", 1, 0) + called.encode().ljust(16) + calling.encode().ljust(16)
        body = head + b"\x00" * 32 + items
        sock.sendall(struct.pack(">BBI", 0x01, 0, len(body)) + body)
        assoc = cls(sock, {cx.id: cx for cx in contexts})
        kind, answer = assoc.read_pdu()
        if kind != 0x02:
            raise DimseError(f"association not accepted (PDU type {kind:#x})")
        assoc._parse_accept(answer)
        return assoc

    def _parse_accept(self, body: bytearray) -> None:
        pos = 68
        while pos < len(body):
            kind, length = body[pos], struct.unpack_from(">H", body, pos + 2)[0]
            value = body[pos + 4 : pos + 4 + length]
            if kind == 0x21 and value[2] == 0:  # accepted
                ts_len = struct.unpack_from(">H", value, 6)[0]
                self.contexts[value[0]].accepted = bytes(value[8 : 8 + ts_len]).decode()
            elif kind == 0x50:
                self.peer_max_pdu = _max_pdu(value, self.peer_max_pdu)
            pos += 4 + length

    def release(self) -> None:
        self.sock.sendall(struct.pack(">BBI", 0x05, 0, 4) + b"\x00" * 4)
        try:
            while self.read_pdu()[0] != 0x06:
                pass
        except DimseError:
            pass
        self.sock.close()

    def context_for(self, abstract: str, syntax: str | None = None) -> Context:
        for cx in self.contexts.values():
            if cx.abstract == abstract and cx.accepted and syntax in (None, cx.accepted):
                return cx
        raise DimseError(f"no accepted context for {abstract} {syntax or ''}")

    # receiving DIMSE messages

    def messages(self) -> Iterator[tuple[int, dict[int, bytes], list[memoryview]]]:
        """(context id, command, data set fragments) of each message, as they complete."""
        command_parts: list[memoryview] = []
        data_parts: list[memoryview] = []
        current: dict[int, bytes] | None = None
        while True:
            kind, body = self.read_pdu()
            if kind == 0x05:  # release request
                self.sock.sendall(struct.pack(">BBI", 0x06, 0, 4) + b"\x00" * 4)
                return
            if kind == 0x07:
                raise DimseError("the peer aborted the association")
            if kind != 0x04:
                raise DimseError(f"unexpected PDU type {kind:#x}")
            for context_id, control, value in self.pdvs(body):
                if control & 0x01:  # command fragment
                    command_parts.append(value)
                    if control & 0x02:
                        current = parse_command(b"".join(command_parts))
                        command_parts = []
                        if _us(current, 0x00000800) == NO_DATASET:
                            yield context_id, current, []
                            current = None
                else:
                    data_parts.append(value)
                    if control & 0x02:
                        assert current is not None
                        yield context_id, current, data_parts
                        current, data_parts = None, []


def _store_response(
    assoc: Association, context_id: int, cmd: dict[int, bytes], status: int
) -> None:
    rsp = command(
        AffectedSOPClassUID=_text(cmd, 0x00000002),
        CommandField=C_STORE_RSP,
        MessageIDBeingRespondedTo=_us(cmd, 0x00000110),
        CommandDataSetType=NO_DATASET,
        Status=status,
        AffectedSOPInstanceUID=_text(cmd, 0x00001000),
    )
    assoc.send_message(context_id, rsp)


Sink = Callable[[str, str, str, list[memoryview]], None]  # class, instance, syntax, data


def file_sink(folder: Path, fsync: bool = False) -> Sink:
    def write(sop_class: str, sop_instance: str, syntax: str, parts: list[memoryview]) -> None:
        path = folder / f"{sop_instance}.dcm"
        with open(path, "wb") as fh:
            fh.write(part10_meta(sop_class, sop_instance, syntax))
            fh.writelines(parts)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())

    return write


# -- C-GET SCU ----------------------------------------------------------------------------


def get_study(
    host: str,
    port: int,
    called: str,
    study_uid: str,
    storage_classes: list[str],
    sink: Sink,
    *,
    calling: str = "MINI",
    identifier: bytes | None = None,
    max_pdu: int = 0,
) -> int:
    """C-GET one study; every instance goes to `sink`. Returns the number received."""
    syntaxes = [EXPLICIT_LE, IMPLICIT_LE]
    contexts = [Context(1, STUDY_ROOT_GET, [IMPLICIT_LE])]
    contexts += [Context(3 + 2 * i, uid, syntaxes) for i, uid in enumerate(storage_classes)]
    assoc = Association.request(
        host, port, called, calling, contexts, scp_roles=storage_classes, max_pdu=max_pdu
    )
    query = identifier or _study_identifier(study_uid)
    cmd = command(
        AffectedSOPClassUID=STUDY_ROOT_GET,
        CommandField=C_GET_RQ,
        MessageID=1,
        Priority=0,
        CommandDataSetType=0x0001,
    )
    assoc.send_message(1, cmd, query)
    received = 0
    for context_id, fields, parts in assoc.messages():
        field_ = _us(fields, 0x00000100)
        if field_ == C_STORE_RQ:
            syntax = assoc.contexts[context_id].accepted or EXPLICIT_LE
            sink(_text(fields, 0x00000002), _text(fields, 0x00001000), syntax, parts)
            _store_response(assoc, context_id, fields, 0x0000)
            received += 1
        elif field_ == C_GET_RSP:
            status = _us(fields, 0x00000900)
            if status not in PENDING:
                if status not in (0x0000, 0xB000):
                    raise DimseError(f"C-GET ended with status {status:#06x}")
                break
    assoc.release()
    return received


def _study_identifier(study_uid: str) -> bytes:
    """QueryRetrieveLevel=STUDY, StudyInstanceUID (implicit VR little endian)."""
    return _element(0x00080052, b"STUDY ") + _element(0x0020000D, _uid(study_uid))


def move_study(
    host: str, port: int, called: str, study_uid: str, destination: str, *, calling: str = "MINI"
) -> int:
    """C-MOVE one study to `destination`; returns the completed sub-operations."""
    assoc = Association.request(
        host, port, called, calling, [Context(1, STUDY_ROOT_MOVE, [IMPLICIT_LE])]
    )
    cmd = command(
        AffectedSOPClassUID=STUDY_ROOT_MOVE,
        CommandField=C_MOVE_RQ,
        MessageID=1,
        MoveDestination=destination,
        Priority=0,
        CommandDataSetType=0x0001,
    )
    assoc.send_message(1, cmd, _study_identifier(study_uid))
    completed = 0
    for _, fields, _ in assoc.messages():
        if _us(fields, 0x00000100) == C_MOVE_RSP:
            status = _us(fields, 0x00000900)
            if status not in PENDING:
                completed = _us(fields, 0x00001021) if 0x00001021 in fields else 0
                break
    assoc.release()
    return completed


# -- C-STORE SCU --------------------------------------------------------------------------


def store_files(
    host: str,
    port: int,
    called: str,
    files: Iterable[bytes],
    storage_classes: list[str],
    *,
    calling: str = "MINI",
) -> int:
    """Send Part 10 files as they are (data set after the meta); returns successes."""
    syntaxes = [EXPLICIT_LE, IMPLICIT_LE]
    contexts = [
        Context(1 + 2 * i, uid, [ts])
        for i, (uid, ts) in enumerate((uid, ts) for uid in storage_classes for ts in syntaxes)
    ]
    assoc = Association.request(host, port, called, calling, contexts)
    stored, message_id = 0, 0
    responses = assoc.messages()
    for data in files:
        sop_class, sop_instance, syntax, dataset = split_part10(data)
        cx = assoc.context_for(sop_class, syntax)
        message_id = message_id % 65535 + 1
        cmd = command(
            AffectedSOPClassUID=sop_class,
            CommandField=C_STORE_RQ,
            MessageID=message_id,
            Priority=0,
            CommandDataSetType=0x0001,
            AffectedSOPInstanceUID=sop_instance,
        )
        assoc.send_message(cx.id, cmd, dataset)
        _, fields, _ = next(responses)
        if _us(fields, 0x00000900) in (0x0000, 0xB000, 0xB007, 0xB006):
            stored += 1
    assoc.release()
    return stored


# -- C-STORE SCP --------------------------------------------------------------------------


class StoreSCP:
    """Accept associations on `port`; one thread per association; `sink` per instance."""

    def __init__(
        self, port: int, ae_title: str, sink: Sink, *, reuse_port: bool = False, max_pdu: int = 0
    ):
        self.ae_title = ae_title
        self.sink = sink
        self.max_pdu = max_pdu
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self._lock = threading.Lock()
        self._stop = False

    def serve_forever(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def start(self) -> StoreSCP:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop = True
        self.sock.close()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assoc = Association(conn)
        try:
            kind, body = assoc.read_pdu()
            if kind != 0x01:
                return
            self._accept(assoc, body)
            for context_id, fields, parts in assoc.messages():
                if _us(fields, 0x00000100) != C_STORE_RQ:
                    continue
                syntax = assoc.contexts[context_id].accepted or EXPLICIT_LE
                self.sink(_text(fields, 0x00000002), _text(fields, 0x00001000), syntax, parts)
                with self._lock:
                    self.received += 1
                _store_response(assoc, context_id, fields, 0x0000)
        except DimseError:
            pass
        finally:
            conn.close()

    def _accept(self, assoc: Association, body: bytearray) -> None:
        called, calling = bytes(body[4:20]), bytes(body[20:36])
        pos, answer = 68, _item(0x10, APPLICATION_CONTEXT.encode())
        while pos < len(body):
            kind, length = body[pos], struct.unpack_from(">H", body, pos + 2)[0]
            value = bytes(body[pos + 4 : pos + 4 + length])
            if kind == 0x20:
                cx_id, sub, abstract, syntaxes = value[0], 4, "", []
                while sub < len(value):
                    skind, slen = value[sub], struct.unpack_from(">H", value, sub + 2)[0]
                    text = value[sub + 4 : sub + 4 + slen].decode()
                    abstract = text if skind == 0x30 else abstract
                    syntaxes += [text] if skind == 0x40 else []
                    sub += 4 + slen
                # Any syntax will do: data sets are stored as they come.
                assoc.contexts[cx_id] = Context(cx_id, abstract, syntaxes, syntaxes[0])
                answer += _item(0x21, bytes([cx_id, 0, 0, 0]) + _item(0x40, syntaxes[0].encode()))
            elif kind == 0x50:
                assoc.peer_max_pdu = _max_pdu(value, assoc.peer_max_pdu)
            pos += 4 + length
        user = _item(0x51, struct.pack(">I", self.max_pdu))
        user += _item(0x52, IMPLEMENTATION_UID.encode())
        answer += _item(0x50, user)
        head = struct.pack(">HH", 1, 0) + called + calling + b"\x00" * 32
        assoc.sock.sendall(struct.pack(">BBI", 0x02, 0, len(head) + len(answer)) + head + answer)
