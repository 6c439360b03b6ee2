from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from adit_core.dicom.multipart import (
    MultipartTruncated,
    Part,
    boundary_from_content_type,
    iter_parts,
    parse_content_type,
)

BOUNDARY = "a1b2c3-boundary"


def encode(
    bodies: list[bytes],
    *,
    boundary: str = BOUNDARY,
    preamble: bytes = b"",
    epilogue: bytes = b"",
    headers: list[bytes] | None = None,
) -> bytes:
    out = bytearray(preamble)
    if preamble:
        out += b"\r\n"
    for i, body in enumerate(bodies):
        out += b"--" + boundary.encode() + b"\r\n"
        out += headers[i] if headers else b"Content-Type: application/dicom\r\n"
        out += b"\r\n" + body + b"\r\n"
    out += b"--" + boundary.encode() + b"--"
    if epilogue:
        out += b"\r\n" + epilogue
    return bytes(out)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def bodies_of(parts: list[Part]) -> list[bytes]:
    return [p.body for p in parts]


SAMPLE = [os.urandom(5000), b"", b"x", os.urandom(100_000), b"\r\n", b"--"]


@pytest.mark.parametrize("size", [1, 7, 64, 4096, 1 << 20])
def test_chunk_sizes(size: int) -> None:
    data = encode(SAMPLE, preamble=b"preamble text", epilogue=b"epilogue text")
    parts = list(iter_parts(chunked(data, size), BOUNDARY))
    assert bodies_of(parts) == SAMPLE
    assert all(p.headers == {"content-type": "application/dicom"} for p in parts)


def test_boundary_split_across_chunks_at_every_offset() -> None:
    data = encode([b"first body", b"second"])
    delim = data.index(b"\r\n--" + BOUNDARY.encode(), 10)
    for cut in range(delim - 2, delim + len(BOUNDARY) + 8):
        parts = list(iter_parts([data[:cut], data[cut:]], BOUNDARY))
        assert bodies_of(parts) == [b"first body", b"second"], cut


def test_body_containing_boundary_without_leading_crlf() -> None:
    tricky = [
        b"--" + BOUNDARY.encode() + b" inside",
        b"x--" + BOUNDARY.encode() + b"--",
        b"\n--" + BOUNDARY.encode() + b"\r",
        b"\r--" + BOUNDARY.encode(),
    ]
    for size in (1, 3, 1 << 20):
        parts = list(iter_parts(chunked(encode(tricky), size), BOUNDARY))
        assert bodies_of(parts) == tricky


def test_empty_parts_and_parts_without_headers() -> None:
    data = encode([b"", b"", b"abc"], headers=[b"", b"X-A: 1\r\n", b""])
    for size in (1, 5, 1000):
        parts = list(iter_parts(chunked(data, size), BOUNDARY))
        assert bodies_of(parts) == [b"", b"", b"abc"]
        assert [p.headers for p in parts] == [{}, {"x-a": "1"}, {}]


def test_zero_parts() -> None:
    assert list(iter_parts([b"--" + BOUNDARY.encode() + b"--\r\n"], BOUNDARY)) == []


def test_headers_are_parsed() -> None:
    header = (
        b'Content-Type: application/dicom; transfer-syntax="1.2.840.10008.1.2.1"\r\n'
        b"Content-Length:  3\r\nX-Folded: a\r\n b\r\n"
    )
    (part,) = iter_parts([encode([b"abc"], headers=[header])], BOUNDARY)
    assert part.headers == {
        "content-type": 'application/dicom; transfer-syntax="1.2.840.10008.1.2.1"',
        "content-length": "3",
        "x-folded": "a b",
    }


def test_transport_padding_after_boundary() -> None:
    data = b"--B  \t\r\n\r\none\r\n--B \r\n\r\ntwo\r\n--B--  \r\nignored"
    assert bodies_of(list(iter_parts(chunked(data, 2), "B"))) == [b"one", b"two"]


def test_parts_are_yielded_as_soon_as_complete() -> None:
    delivered: list[int] = []

    def source() -> Iterator[bytes]:
        delivered.append(1)
        yield b"--B\r\n\r\nfirst\r\n--B"
        delivered.append(2)
        yield b"\r\n\r\nsecond\r\n--B--"
        delivered.append(3)

    it = iter_parts(source(), "B")
    assert next(it).body == b"first"
    assert delivered == [1]  # yielded at its delimiter, before more bytes were read
    assert next(it).body == b"second"
    with pytest.raises(StopIteration):
        next(it)


def test_large_preamble_is_not_kept() -> None:
    data = encode([b"abc"], preamble=b"p" * 3_000_000)
    assert bodies_of(list(iter_parts(chunked(data, 1 << 16), BOUNDARY))) == [b"abc"]


@pytest.mark.parametrize("cut", [-1, -2, -len(BOUNDARY) - 4, -10_000, -5_010])
def test_truncated_stream_raises(cut: int) -> None:
    data = encode([os.urandom(5000), os.urandom(5000)])
    with pytest.raises(ValueError, match="truncated"):
        list(iter_parts(chunked(data[:cut], 777), BOUNDARY))


def test_truncated_reports_complete_parts() -> None:
    data = encode([b"a" * 10, b"b" * 10, b"c" * 10])
    got: list[bytes] = []
    with pytest.raises(MultipartTruncated, match=r"after 2 complete part") as info:
        for part in iter_parts([data[:-20]], BOUNDARY):
            got.append(part.body)
    assert got == [b"a" * 10, b"b" * 10]
    assert info.value.parts == 2


def test_missing_boundary_raises() -> None:
    with pytest.raises(ValueError, match="no boundary"):
        list(iter_parts([b"<html>Not found</html>"], BOUNDARY))
    with pytest.raises(ValueError, match="no boundary"):
        list(iter_parts([], BOUNDARY))


def test_garbage_after_boundary_raises() -> None:
    data = b"--B\r\n\r\none\r\n--Bgarbage\r\n\r\ntwo\r\n--B--"
    with pytest.raises(ValueError, match="malformed"):
        list(iter_parts([data], "B"))


def test_malformed_header_raises() -> None:
    with pytest.raises(ValueError, match="header"):
        list(iter_parts([b"--B\r\nno colon here\r\n\r\nx\r\n--B--"], "B"))


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ('multipart/related; type="application/dicom"; boundary=abc', "abc"),
        ('multipart/related; boundary="a b:c"; type="application/dicom"', "a b:c"),
        ("Multipart/Related;Boundary=XyZ", "XyZ"),
        ('multipart/related; type="application/dicom; x=1"; boundary=q', "q"),
        (f"multipart/related; boundary={'b' * 72}", "b" * 72),  # Orthanc's are 72 long
    ],
)
def test_boundary_from_content_type(content_type: str, boundary: str) -> None:
    assert boundary_from_content_type(content_type) == boundary


@pytest.mark.parametrize("content_type", ["application/dicom", "multipart/related; type=x"])
def test_boundary_from_content_type_errors(content_type: str) -> None:
    with pytest.raises(ValueError):
        boundary_from_content_type(content_type)


def test_parse_content_type() -> None:
    media, params = parse_content_type('Application/DICOM; Transfer-Syntax="1.2.840.10008.1.2"')
    assert media == "application/dicom"
    assert params == {"transfer-syntax": "1.2.840.10008.1.2"}
