"""The hash-checking reader and the helpers under both blob stores (no I/O)."""
from __future__ import annotations

import hashlib
import io

import pytest

from storage.blobs import BlobCorrupted, BlobStoreFull, HashCheckingReader, blob_key, hash_into

DATA = bytes(range(256)) * 5000  # 1.28 MB: several chunks
SHA = hashlib.sha256(DATA).hexdigest()


def reader(data: bytes, sha: str = SHA, size: int | None = len(DATA)) -> io.BufferedReader:
    return io.BufferedReader(HashCheckingReader(io.BytesIO(data), sha, size))  # type: ignore[arg-type]


def test_blob_key_shards_by_the_first_bytes() -> None:
    assert blob_key(SHA) == f"sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}"


@pytest.mark.parametrize("bad", ["", "ABC", SHA.upper(), SHA[:-1], "../" + SHA[3:], SHA + "0"])
def test_blob_key_refuses_anything_but_a_lowercase_sha256(bad: str) -> None:
    with pytest.raises(ValueError):
        blob_key(bad)


def test_good_bytes_read_whole_and_in_pieces() -> None:
    assert reader(DATA).read() == DATA
    pieces = reader(DATA)
    assert b"".join(iter(lambda: pieces.read(7777), b"")) == DATA


@pytest.mark.parametrize("damaged", [
    DATA[:1000] + b"\xff" + DATA[1001:],  # a flipped byte
    DATA[:-1],                            # truncated
    DATA + b"\0",                         # longer than recorded
], ids=["flipped", "truncated", "longer"])
def test_damaged_bytes_raise_instead_of_ending_quietly(damaged: bytes) -> None:
    with pytest.raises(BlobCorrupted):
        reader(damaged).read()
    stream = reader(damaged)
    with pytest.raises(BlobCorrupted):
        while stream.read(4096):
            pass


def test_without_a_recorded_size_the_hash_still_decides() -> None:
    assert reader(DATA, size=None).read() == DATA
    with pytest.raises(BlobCorrupted):
        reader(DATA + b"!", size=None).read()


def test_close_closes_the_source_and_calls_back() -> None:
    source, calls = io.BytesIO(DATA), []
    wrapped = HashCheckingReader(source, SHA, len(DATA), on_close=lambda: calls.append(1))
    wrapped.close()
    assert source.closed and calls == [1]


class BrokenSink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")


class BrokenSource:
    def read(self, size: int = -1) -> bytes:
        raise ConnectionResetError("the client went away")


def test_hash_into_copies_and_hashes() -> None:
    out = io.BytesIO()
    digest, size = hash_into(io.BytesIO(DATA), out)  # type: ignore[arg-type]
    assert (digest.hexdigest(), size, out.getvalue()) == (SHA, len(DATA), DATA)


def test_a_full_disk_is_the_store_full() -> None:
    with pytest.raises(BlobStoreFull, match="No space left"):
        hash_into(io.BytesIO(DATA), BrokenSink())  # type: ignore[arg-type]


def test_a_failing_source_is_the_callers_error_not_the_stores() -> None:
    with pytest.raises(ConnectionResetError):
        hash_into(BrokenSource(), io.BytesIO())  # type: ignore[arg-type]


def test_corrupted_blob_withholds_its_last_chunk():
    """A consumer streaming chunk by chunk never receives the whole of a corrupted blob."""
    import hashlib
    import io

    good = b"A" * 1000
    bad = b"A" * 999 + b"B"
    reader = HashCheckingReader(io.BytesIO(bad), hashlib.sha256(good).hexdigest(), len(good))
    received = bytearray()
    with pytest.raises(BlobCorrupted):
        while chunk := reader.read(300):
            received += chunk
    assert len(received) < len(bad)
