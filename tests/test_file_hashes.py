"""The file hash index: unchanged files are not read again, changed ones always are."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from pipeline import file_hashes
from pipeline.config import Config
from pipeline.file_hashes import FileHashes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust timestamps up to the save (files written by a test are seconds old at most)."""
    monkeypatch.setattr(file_hashes, "_RACY_NS", 0)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    time.sleep(0.02)  # past the file system's timestamp tick before the index is saved


def test_unchanged_files_come_from_the_index(tmp_path: Path, trusting: None) -> None:
    index = tmp_path / "index.json"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    _write(a, b"first response")
    _write(b, b"second response")
    first = FileHashes(index)
    assert [first.sha256(a), first.sha256(b)] == [_sha(b"first response"), _sha(b"second response")]
    assert first.hashed == 2
    first.save()
    second = FileHashes(index)
    assert [second.sha256(a), second.sha256(b)] == [_sha(b"first response"), _sha(b"second response")]
    assert second.hashed == 0


def test_a_rewritten_file_of_the_same_size_is_hashed_again(tmp_path: Path, trusting: None) -> None:
    index = tmp_path / "index.json"
    a = tmp_path / "a.txt"
    _write(a, b"aaaa")
    old = a.stat()
    h = FileHashes(index)
    h.sha256(a)
    h.save()
    a.write_bytes(b"bbbb")
    # Even were the clock tick coarse, the new modification time differs.
    os.utime(a, ns=(old.st_atime_ns, old.st_mtime_ns + 1_000_000))
    again = FileHashes(index)
    assert again.sha256(a) == _sha(b"bbbb")
    assert again.hashed == 1


def test_recently_written_files_are_not_trusted(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    a = tmp_path / "a.txt"
    a.write_bytes(b"just written")
    h = FileHashes(index)
    h.sha256(a)
    h.save()  # the file is younger than the file-system tick margin: not kept
    again = FileHashes(index)
    assert again.sha256(a) == _sha(b"just written")
    assert again.hashed == 1


def test_a_damaged_index_is_an_empty_one(tmp_path: Path, trusting: None) -> None:
    index = tmp_path / "index.json"
    index.write_text("{not json", encoding="utf-8")
    a = tmp_path / "a.txt"
    _write(a, b"text")
    h = FileHashes(index)
    assert h.sha256(a) == _sha(b"text")
    h.save()
    assert FileHashes(index).sha256(a) == _sha(b"text")


def test_ingest_rehashes_only_what_changed(tmp_path: Path, trusting: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        _write(corpus / f"r{i}.txt", f"Response {i} on connectivity in rural areas.".encode())
    cache = tmp_path / "cache"
    calls: list[str] = []
    real = file_hashes.file_sha256
    monkeypatch.setattr(file_hashes, "file_sha256", lambda p: calls.append(Path(p).name) or real(p))
    first = ingest._plan(corpus, Config(), cache_dir=cache)
    assert sorted(calls) == ["r0.txt", "r1.txt", "r2.txt"]
    calls.clear()
    _write(corpus / "r3.txt", b"A fourth response, added later.")
    second = ingest._plan(corpus, Config(), cache_dir=cache)
    assert calls == ["r3.txt"]
    shas = {r["source_path"]: r["file_sha256"] for r in second.rows}
    assert {r["source_path"]: r["file_sha256"] for r in first.rows}.items() <= shas.items()
    assert shas["r3.txt"] == _sha(b"A fourth response, added later.")
