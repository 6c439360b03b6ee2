"""Streaming parser for multipart/related bodies (RFC 2046 §5.1), as sent by WADO-RS.

`iter_parts` consumes byte chunks of any size and yields each part as soon as its closing
delimiter has arrived, so memory stays at about one part plus one chunk. Delimiters are
found with `bytes.find` on a bytearray; each byte is scanned once (the search resumes where
the previous one stopped, minus the length of a delimiter that may straddle two chunks).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from email.message import Message
from typing import NamedTuple

CRLF = b"\r\n"
_MAX_HEADER_BYTES = 64 * 1024
_PADDING = b" \t"


class Part(NamedTuple):
    headers: dict[str, str]  # names lower-cased
    body: bytes


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its lower-cased media type and its parameters.

    Quoted parameter values are unquoted; parameter names are lower-cased.
    """
    msg = Message()
    msg["content-type"] = value
    params = msg.get_params() or []
    media_type = msg.get_content_type()
    out: dict[str, str] = {}
    for name, param in params[1:]:
        out[name.lower()] = param if isinstance(param, str) else str(param)
    return media_type, out


def boundary_from_content_type(value: str) -> str:
    """The boundary parameter of a multipart Content-Type; ValueError if there is none."""
    media_type, params = parse_content_type(value)
    if not media_type.startswith("multipart/"):
        raise ValueError(f"not a multipart content type: {value!r}")
    boundary = params.get("boundary", "")
    if not boundary:
        raise ValueError(f"multipart content type without a boundary: {value!r}")
    # RFC 2046 caps boundaries at 70 characters, but Orthanc's DICOMweb plugin sends 72.
    return boundary


def parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for raw in block.split(CRLF):
        if not raw:
            continue
        line = raw.decode("utf-8", errors="replace")
        if line[0] in " \t" and last:  # obsolete line folding
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"malformed multipart part header: {line[:80]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers


class MultipartTruncated(ValueError):
    """The stream ended before the closing delimiter (e.g. the connection dropped)."""

    def __init__(self, message: str, parts: int):
        super().__init__(message)
        self.parts = parts


class _State:
    PREAMBLE = 0
    AFTER_DELIMITER = 1
    HEADERS = 2
    BODY = 3
    EPILOGUE = 4


def iter_parts(chunks: Iterable[bytes], boundary: str | bytes) -> Iterator[Part]:
    """Yield the parts of a multipart body arriving as `chunks`.

    Raises MultipartTruncated (a ValueError) when the stream ends before the closing
    delimiter, and ValueError when it is malformed.
    """
    if isinstance(boundary, str):
        boundary = boundary.encode("ascii")
    if not boundary:
        raise ValueError("empty multipart boundary")
    # Every delimiter is CRLF "--" boundary; the first may start the stream, so the buffer
    # starts with a CRLF that the stream itself did not send.
    delimiter = CRLF + b"--" + boundary
    overlap = len(delimiter) - 1
    buf = bytearray(CRLF)
    scan = 0  # where the next search in `buf` starts
    state = _State.PREAMBLE
    headers: dict[str, str] = {}
    parts = 0

    for chunk in chunks:
        if state == _State.EPILOGUE:
            continue  # the epilogue is ignored, but the stream is read to its end
        if not chunk:
            continue
        buf += chunk
        while True:
            if state == _State.PREAMBLE:
                idx = buf.find(delimiter, scan)
                if idx < 0:
                    # Keep only what could be the start of a straddling delimiter.
                    if len(buf) > overlap:
                        del buf[: len(buf) - overlap]
                    scan = 0
                    break
                del buf[: idx + len(delimiter)]
                scan = 0
                state = _State.AFTER_DELIMITER

            elif state == _State.AFTER_DELIMITER:
                if len(buf) < 2:
                    break
                if buf[:2] == b"--":
                    state = _State.EPILOGUE
                    buf.clear()
                    break
                idx = buf.find(CRLF)
                if idx < 0:
                    pending = buf[:-1] if buf.endswith(b"\r") else buf
                    if pending.strip(_PADDING) or len(buf) > 1024:
                        raise ValueError(_garbage(parts, bytes(buf[:20])))
                    break
                if buf[:idx].strip(_PADDING):
                    raise ValueError(_garbage(parts, bytes(buf[:20])))
                del buf[: idx + 2]
                scan = 0
                state = _State.HEADERS

            elif state == _State.HEADERS:
                if buf[:2] == CRLF:  # a part without headers
                    headers = {}
                    del buf[:2]
                    scan = 0
                    state = _State.BODY
                    continue
                if len(buf) < 2:
                    break
                idx = buf.find(CRLF + CRLF, scan)
                if idx < 0:
                    if len(buf) > _MAX_HEADER_BYTES:
                        raise ValueError(f"multipart part {parts + 1}: header block too long")
                    scan = max(0, len(buf) - 3)
                    break
                headers = parse_headers(bytes(buf[:idx]))
                del buf[: idx + 4]
                scan = 0
                state = _State.BODY

            elif state == _State.BODY:
                idx = buf.find(delimiter, scan)
                if idx < 0:
                    scan = max(0, len(buf) - overlap)
                    break
                body = _take(buf, idx)
                del buf[: idx + len(delimiter)]
                scan = 0
                state = _State.AFTER_DELIMITER
                parts += 1
                yield Part(headers, body)

            else:  # EPILOGUE
                buf.clear()
                break

    if state != _State.EPILOGUE:
        if state == _State.PREAMBLE:
            raise ValueError("multipart stream contains no boundary delimiter")
        raise MultipartTruncated(
            f"multipart stream truncated: ended before the closing boundary "
            f"after {parts} complete part(s)",
            parts,
        )


def _take(buf: bytearray, n: int) -> bytes:
    # One copy: `bytes(buf[:n])` would copy twice (slice, then bytes).
    view = memoryview(buf)
    try:
        return view[:n].tobytes()
    finally:
        view.release()


def _garbage(parts: int, sample: bytes) -> str:
    return f"malformed multipart stream after part {parts}: unexpected {sample!r} after boundary"
