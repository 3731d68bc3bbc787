"""The optional ``metadata.csv`` beside a corpus: read, validated, never guessed.

Columns: ``file`` (path relative to the corpus), ``respondent``, ``organisation``,
``stakeholder_type``, ``country``, ``submitted``. Unknown stakeholder types and
countries are reported (a warning and a ``metadata_issue`` note per document) and left
empty. Countries may be written as ISO alpha-2 or alpha-3 codes or as names in any of
the six UN languages (CLDR territory names via babel, plus pycountry's English names);
they come out as ISO 3166 alpha-3.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.schemas import STAKEHOLDER_TYPES, UN_LANGUAGES
from pipeline.textutil import normalize_arabic

logger = logging.getLogger(__name__)

FIELDS = ("respondent", "organisation", "stakeholder_type", "country", "submitted")


@dataclass
class MetaRow:
    respondent: str | None = None
    organisation: str | None = None
    stakeholder_type: str | None = None
    country: str | None = None
    submitted: str | None = None
    issues: list[str] = field(default_factory=list)


@dataclass
class Metadata:
    """The validated rows by relative path, and problems with the file as a whole."""

    rows: dict[str, MetaRow]
    present: bool
    problems: list[str] = field(default_factory=list)


def _fold(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.casefold())
    name = "".join(ch for ch in name if not unicodedata.combining(ch))
    name = normalize_arabic(name)
    return " ".join(re.sub(r"[^\w]+", " ", name).split())


@functools.lru_cache(maxsize=1)
def country_index(cache_dir: Path | None = None) -> dict[str, str]:
    """Folded country name or code -> ISO alpha-3, over the six UN languages.

    Sources: pycountry (codes, English names), a short list of common short forms that
    CLDR lacks (``pipeline/data/ingest/country_aliases.csv``: "السعودية", "UK"), and
    CLDR territory names in ar, zh, en, fr, ru, es via babel.

    With ``cache_dir``, the index is kept there as JSON, named by a digest of what it is
    built from (the two packages' versions, the Unicode data :func:`_fold` uses, the
    aliases file and this code): building it from the CLDR data takes longer than
    ingesting a thousand cached files.
    """
    if cache_dir is None:
        return _build_country_index()
    from pipeline.cache import files_digest, package_versions

    here = Path(__file__).resolve().parent
    sources = json.dumps([package_versions("babel", "pycountry"), unicodedata.unidata_version]) + files_digest(
        _ALIASES, here / "metadata.py", here / "textutil.py")
    path = cache_dir / f"country_index-{hashlib.sha256(sources.encode()).hexdigest()[:16]}.json"
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(index, dict):
            return index
    except (OSError, ValueError):
        pass
    index = _build_country_index()
    from pipeline.tables import write_bytes

    write_bytes(path, json.dumps(index, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return index


_ALIASES = Path(__file__).parent / "data" / "ingest" / "country_aliases.csv"


def _build_country_index() -> dict[str, str]:
    import babel
    import pycountry

    index: dict[str, str] = {}
    for c in pycountry.countries:
        for key in (c.alpha_2, c.alpha_3, c.name, getattr(c, "official_name", None),
                    getattr(c, "common_name", None)):
            if key:
                index.setdefault(_fold(key), c.alpha_3)
    with _ALIASES.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            index.setdefault(_fold(row["alias"]), row["iso3"])
    for lang in UN_LANGUAGES:
        for code, name in babel.Locale(lang).territories.items():
            country = pycountry.countries.get(alpha_2=code) if len(code) == 2 and code.isalpha() else None
            if country is not None:
                index.setdefault(_fold(name), country.alpha_3)
    return index


def country_to_iso3(value: str, cache_dir: Path | None = None) -> str | None:
    """ISO 3166 alpha-3 for a code or a country name in one of the six languages
    (``cache_dir``: where :func:`country_index` may keep the index)."""
    value = value.strip()
    if not value:
        return None
    return country_index(cache_dir).get(_fold(value))


def _stakeholder(value: str) -> str | None:
    key = re.sub(r"[\s\-/]+", "_", value.strip().lower())
    return key if key in STAKEHOLDER_TYPES else None


def _date(value: str) -> str | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        logger.warning("metadata.csv is not UTF-8; decoded as %s", best.encoding if best else "latin-1")
        return str(best) if best is not None else data.decode("latin-1")


def _rows(reader: csv.DictReader, meta: Metadata) -> Iterator[tuple[int, dict]]:
    """The reader's rows with their line numbers; a malformed line ends the file with a
    reported problem instead of an exception (the rows before it are kept)."""
    lineno = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = (f"metadata.csv line {reader.line_num}: not valid CSV ({exc}); "
                   "this row and those after it are ignored")
            logger.warning(msg)
            meta.problems.append(msg)
            return
        lineno += 1
        yield lineno, raw


def read_metadata(corpus: Path, *, cache_dir: Path | None = None) -> Metadata:
    """Read and validate ``corpus/metadata.csv`` (an empty result when there is none;
    ``cache_dir``: where the country index may be kept, see :func:`country_index`)."""
    path = corpus / "metadata.csv"
    if not path.is_file() or path.is_symlink():
        return Metadata(rows={}, present=False)
    text = _decode(path.read_bytes())
    meta = Metadata(rows={}, present=True)
    # newline="" lets the csv module see quoted line breaks and bare carriage returns.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        cols = [c.strip().lower() for c in (reader.fieldnames or [])]
    except csv.Error as exc:
        msg = f"metadata.csv cannot be parsed as CSV ({exc}); it is ignored: fix or re-export it"
        logger.warning(msg)
        meta.problems.append(msg)
        return meta
    if "file" not in cols:
        msg = f"metadata.csv has no 'file' column (columns: {', '.join(cols) or 'none'}); it is ignored"
        logger.warning(msg)
        meta.problems.append(msg)
        return meta
    missing = [c for c in FIELDS if c not in cols]
    if missing:
        meta.problems.append(f"metadata.csv lacks columns {missing}")
        logger.warning("metadata.csv lacks columns %s; those fields stay empty", missing)
    row_issues: list[tuple[int, str, str, str]] = []  # (line, file, problem, its kind)
    for lineno, raw in _rows(reader, meta):
        row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        name = row.get("file", "").replace("\\", "/")
        if not name:
            continue
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or re.match(r"^[A-Za-z]:", name):
            msg = f"metadata.csv line {lineno}: path {name!r} leaves the corpus folder; row rejected"
            logger.warning(msg)
            meta.problems.append(msg)
            continue
        key = str(rel)
        out = MetaRow(
            respondent=row.get("respondent") or None,
            organisation=row.get("organisation") or row.get("organization") or None,
        )
        # Each problem is its kind (what the summary of many rows counts) and a hint.
        problems: list[tuple[str, str]] = []
        st = row.get("stakeholder_type", "")
        if st:
            out.stakeholder_type = _stakeholder(st)
            if out.stakeholder_type is None:
                problems.append((f"unknown stakeholder_type {st!r}",
                                 f" (allowed: {', '.join(STAKEHOLDER_TYPES)})"))
        country = row.get("country", "")
        if country:
            out.country = country_to_iso3(country, cache_dir)
            if out.country is None:
                problems.append((f"unknown country {country!r}", ""))
        sub = row.get("submitted", "")
        if sub:
            out.submitted = _date(sub)
            if out.submitted is None:
                problems.append((f"unreadable submitted date {sub!r}", " (use YYYY-MM-DD)"))
        for kind, hint in problems:
            out.issues.append(kind + hint)
            row_issues.append((lineno, key, kind + hint, kind))
        if key in meta.rows:
            logger.warning("metadata.csv line %d: second row for %s ignored", lineno, key)
            continue
        meta.rows[key] = out
    _log_row_issues(row_issues)
    return meta


# Row problems logged one by one; the rest are summed up by kind (each is also in the
# documents table's ``metadata_issue``): a large consultation's export often repeats one
# unknown value on hundreds of rows.
_LOGGED_ROW_ISSUES = 10


def _log_row_issues(issues: list[tuple[int, str, str, str]]) -> None:
    for lineno, key, issue, _kind in issues[:_LOGGED_ROW_ISSUES]:
        logger.warning("metadata.csv line %d (%s): %s", lineno, key, issue)
    rest = issues[_LOGGED_ROW_ISSUES:]
    if rest:
        kinds: dict[str, list[int]] = {}
        for lineno, _key, _issue, kind in rest:
            kinds.setdefault(kind, []).append(lineno)
        listed = "; ".join(
            f"{kind}: {len(lines)} row{'s' if len(lines) > 1 else ''} (line{'s' if len(lines) > 1 else ''} "
            f"{', '.join(map(str, lines[:5]))}{', ...' if len(lines) > 5 else ''})"
            for kind, lines in sorted(kinds.items(), key=lambda kv: (-len(kv[1]), kv[0])))
        logger.warning("metadata.csv: %d more row problems (see the documents table's metadata_issue): %s",
                       len(rest), listed)
