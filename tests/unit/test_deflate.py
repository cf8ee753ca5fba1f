"""The pieces of a shared ``Content-Encoding: deflate`` body (``podium.http.deflate``)."""

from __future__ import annotations

import itertools
import random
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from podium.http.deflate import ADLER_START, HEADER, accepts_deflate, adler32_combine, piece, trailer


@settings(max_examples=50)
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0, max_value=3000), max_size=6))
def test_combined_checksums_equal_the_checksum_of_the_concatenation(data: bytes, cuts: list[int]) -> None:
    bounds = [0, *sorted(min(cut, len(data)) for cut in cuts), len(data)]
    adler = ADLER_START
    for start, end in itertools.pairwise(bounds):
        part = data[start:end]
        adler = adler32_combine(adler, zlib.adler32(part), len(part))
    assert adler == zlib.adler32(data)


def test_a_huge_piece_combines_too() -> None:
    # Lengths beyond the modulus, and sums that wrap: the arithmetic must reduce them.
    first, second = b"\xff" * 70_000, bytes(range(256)) * 300
    combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)


@settings(max_examples=50)
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=5), st.randoms())
def test_pieces_in_any_order_and_repetition_make_a_valid_zlib_stream(
    messages: list[bytes], rng: random.Random
) -> None:
    pieces = [piece(m) for m in messages]
    order = [rng.randrange(len(pieces)) for _ in range(8)]
    body, adler = HEADER, ADLER_START
    for i in order:
        body += pieces[i].data
        adler = adler32_combine(adler, pieces[i].adler, pieces[i].size)
    inflater = zlib.decompressobj()
    assert inflater.decompress(body + trailer(adler)) == b"".join(messages[i] for i in order)
    assert inflater.eof
    assert inflater.unused_data == b""


def test_accept_encoding_is_parsed_with_its_q_values() -> None:
    accepted = ["deflate", "gzip, deflate, br, zstd", "GZIP;q=1, Deflate ; q=0.5", "*", "gzip, *;q=0.1"]
    refused = ["", "gzip, br", "deflate;q=0", "deflate; q=0.000", "gzip, deflate;q=0, *", "*;q=0",
               "x-deflate", "deflate;q=2", "deflate;q=abc", "deflate;q=0.1234", "identity"]  # fmt: skip
    assert [value for value in accepted if accepts_deflate([value])] == accepted
    assert [value for value in refused if accepts_deflate([value])] == []
    assert accepts_deflate(["gzip", "deflate"])  # one value per header line
    assert not accepts_deflate([])
