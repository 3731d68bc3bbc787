"""The ingest cache key follows the extraction code, not only the hand-bumped version."""

from __future__ import annotations

from pathlib import Path

from pipeline import ingest
from pipeline.config import IngestConfig


def test_ingest_cache_key_changes_when_an_extraction_module_changes(tmp_path: Path, monkeypatch):
    # Regression: the key held only CODE_VERSION, so a change to textnorm's paragraph
    # rules served the old paragraphs from every existing cache until someone bumped it.
    module = tmp_path / "textnorm.py"
    module.write_text("RULE = 1\n")
    monkeypatch.setattr(ingest, "_CODE_FILES", (module,))
    before = ingest._settings_digest(IngestConfig())
    assert ingest._settings_digest(IngestConfig()) == before
    module.write_text("RULE = 2\n")
    assert ingest._settings_digest(IngestConfig()) != before


def test_ingest_code_files_exist():
    assert all(p.is_file() for p in ingest._CODE_FILES)
