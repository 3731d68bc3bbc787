"""Files' SHA-256, kept between runs and trusted while the file is unchanged.

Ingestion names every document by its file's SHA-256, so a re-run would read and hash
the whole corpus again (a tenth of a second per hundred MB) to find the one response
that was added. As git's index does, :class:`FileHashes` keeps each file's hash with
what ``stat`` says about it (size, modification and change times in nanoseconds, inode,
device) and hashes again only a file whose ``stat`` differs. The change time cannot be
set back by a program, so any write to the file shows.

A file written in the moments before its entry is saved could be written again within
the same timestamp tick without its ``stat`` changing (git's "racy" entries): such
files are not kept and are hashed again on the next run.

The index is a JSON file in the ingest cache folder, written atomically; a missing or
damaged one is an empty index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from pipeline.tables import write_text

logger = logging.getLogger(__name__)

_FORMAT = 1
# Timestamps within this many nanoseconds of the save are not trusted: the coarsest
# common file-system tick (FAT: 2 s).
_RACY_NS = 2_000_000_000


def file_sha256(path: Path | str) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class FileHashes:
    """The hash index at ``path`` (``None``: no index, every file is hashed).

    Attributes:
        hashed: files hashed (not found, or changed) since the index was loaded.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hashed = 0
        self._known: dict[str, list] = {}
        self._seen: dict[str, list] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == _FORMAT:
                    self._known = {k: v for k, v in data.get("files", {}).items()
                                   if isinstance(v, list) and len(v) == 6}
            except (OSError, ValueError):
                pass  # absent or damaged: hash everything

    def sha256(self, path: Path | str, st: os.stat_result | None = None) -> str:
        """``path``'s SHA-256: from the index when ``stat`` (``st``, or taken now) is
        unchanged, else read and hashed."""
        key = os.path.abspath(path)
        sig = _signature(st if st is not None else os.stat(path))
        entry = self._known.get(key)
        if entry is not None and entry[:5] == sig:
            sha = str(entry[5])
        else:
            sha = file_sha256(path)
            self.hashed += 1
        self._seen[key] = [*sig, sha]
        return sha

    def save(self) -> None:
        """Write the entries of the files met since loading (files no longer asked for
        are dropped), but not those modified too recently to be trusted."""
        if self.path is None:
            return
        cutoff = time.time_ns() - _RACY_NS
        files = {k: v for k, v in sorted(self._seen.items()) if v[1] < cutoff and v[2] < cutoff}
        if files == self._known:
            return
        try:
            write_text(self.path, json.dumps({"format": _FORMAT, "files": files}, separators=(",", ":")))
        except OSError as exc:  # the index only saves time; a run without it is correct
            logger.warning("could not save the file hash index %s (%s)", self.path, exc)
