"""The tables' contracts: which columns each stage table must carry, and their checks.

A stage may add columns, never rename these (see ``DESIGN.md``). ``validate`` is called
by the CLI on every table it writes and on every table it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

MANIFEST_STATUSES = (
    "ok",
    "ocr",
    "empty",
    "encrypted",
    "corrupt",
    "unsupported",
    "duplicate",
    "too_large",
    "timeout",
)

STAKEHOLDER_TYPES = (
    "member_state",
    "regulator",
    "private_sector",
    "civil_society",
    "academia",
    "technical_community",
    "intergovernmental",
    "individual",
)

UN_LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


class SchemaError(ValueError):
    """A table does not meet its contract."""


@dataclass(frozen=True)
class TableSchema:
    """The contract of one table: its key and the columns it must hold."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    nullable_key: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return self.key + tuple(c for c in self.columns if c not in self.key)


SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        TableSchema(
            "manifest",
            ("source_path",),
            ("file_sha256", "consultation", "status", "detail", "doc_id"),
        ),
        TableSchema(
            "documents",
            ("doc_id",),
            (
                "consultation",
                "source_path",
                "file_sha256",
                "respondent",
                "organisation",
                "stakeholder_type",
                "country",
                "submitted",
                "n_pages",
                "n_chars",
                "text",
            ),
        ),
        TableSchema("pages", ("doc_id", "page_no"), ("text",)),
        TableSchema(
            "segments",
            ("doc_id", "seg_id"),
            ("page_no", "char_start", "char_end", "text"),
        ),
        TableSchema(
            "languages",
            ("doc_id", "seg_id"),
            ("lang", "prob", "is_mixed"),
            nullable_key=("seg_id",),
        ),
        TableSchema(
            "entities",
            ("doc_id", "seg_id", "char_start"),
            ("char_end", "text", "label", "canonical_id", "canonical_name", "source"),
        ),
        TableSchema(
            "themes",
            ("doc_id", "seg_id", "theme"),
            ("score", "is_primary", "subtheme"),
            nullable_key=("seg_id",),
        ),
        TableSchema("subthemes", ("theme", "subtheme"), ("label", "size", "languages")),
        TableSchema(
            "actors",
            ("doc_id",),
            (
                "actor_id",
                "actor_name",
                "stakeholder_type",
                "type_source",
                "type_score",
                "type_evidence",
                "country",
                "reuse_cluster",
            ),
        ),
        TableSchema("reuse", ("reuse_cluster", "doc_id", "seg_id"), ("shared_text", "kind")),
    )
}


def validate(name: str, df: pd.DataFrame, *, only: Sequence[str] | None = None) -> pd.DataFrame:
    """Check ``df`` against the contract of table ``name`` and return it unchanged.

    With ``only`` (the columns a stage chose to read), required columns outside it may
    be absent, and the key is checked on the key columns that are present.

    Raises:
        SchemaError: a required column is missing, a key column is null where it may
            not be, the key is not unique, or a manifest status is unknown.
    """
    if name not in SCHEMAS:
        raise SchemaError(f"unknown table {name!r}; known tables: {', '.join(SCHEMAS)}")
    schema = SCHEMAS[name]
    wanted = schema.required if only is None else [c for c in schema.required if c in only]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise SchemaError(f"table {name!r} lacks required columns {missing}")
    key = [c for c in schema.key if c in df.columns] if only is not None else list(schema.key)
    for col in key:
        if col not in schema.nullable_key and df[col].isna().any():
            raise SchemaError(f"table {name!r} has nulls in key column {col!r}")
    if len(df) and key == list(schema.key) and df.duplicated(key).any():
        dup = df[df.duplicated(key, keep=False)][key].head(3)
        raise SchemaError(f"table {name!r} has duplicate keys, e.g. {dup.to_dict('records')}")
    if name == "manifest" and "status" in df.columns:
        bad = set(df["status"]) - set(MANIFEST_STATUSES)
        if bad:
            raise SchemaError(f"manifest has unknown statuses {sorted(bad)}; allowed: {MANIFEST_STATUSES}")
    return df
