"""A frozen, validated dataclass per ``params.yaml`` section.

Each stage reads only its own section (and ``base``); ``dvc.yaml`` lists the keys it
reads so that DVC re-runs a stage exactly when one of its knobs changes.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A value in params.yaml is missing, unknown or out of range."""


@dataclass(frozen=True)
class BaseConfig:
    seed: int = 42
    corpus: str = "corpora/raw/sample"
    consultation: str = "sample"


@dataclass(frozen=True)
class ComputeConfig:
    workers: int = 0
    backend: str = "local"
    scheduler: str = ""

    def __post_init__(self) -> None:
        _check_choice("compute.backend", self.backend, ("local", "dask"))
        if self.workers < 0:
            raise ConfigError("compute.workers must be 0 (all cores) or a positive count")

    @property
    def n_workers(self) -> int:
        return self.workers or (os.cpu_count() or 1)


@dataclass(frozen=True)
class IngestConfig:
    max_file_mb: float = 200
    timeout_s: float = 120
    memory_mb: int = 2048
    max_pages: int = 3000
    ocr: bool = True
    ocr_languages: str = "ara+chi_sim+eng+fra+rus+spa"
    ocr_dpi: int = 300
    ocr_max_pages: int = 30
    min_chars_per_page: int = 25

    def __post_init__(self) -> None:
        for name in ("max_file_mb", "timeout_s", "memory_mb", "max_pages", "ocr_dpi"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ingest.{name} must be positive, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class LanguageConfig:
    detector: str = "fasttext"
    min_chars: int = 40
    min_prob: float = 0.80
    mixed_share: float = 0.20
    candidates: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es", "pt", "de", "it")

    def __post_init__(self) -> None:
        _check_choice("language.detector", self.detector, ("langdetect", "lingua", "fasttext"))
        if not self.candidates or not all(
            isinstance(c, str) and len(c) == 2 and c.islower() for c in self.candidates
        ):
            raise ConfigError(
                f"language.candidates must be a list of ISO 639-1 codes (e.g. [en, fr]); got {list(self.candidates)!r}"
            )
        if not 0 <= self.min_prob <= 1:
            raise ConfigError(f"language.min_prob must be between 0 and 1, got {self.min_prob!r}")
        if not 0 < self.mixed_share < 1:
            raise ConfigError("language.mixed_share must be between 0 and 1")


@dataclass(frozen=True)
class EntitiesConfig:
    use_models: bool = True


@dataclass(frozen=True)
class ActorsConfig:
    reuse_threshold: float = 0.5
    passage_threshold: float = 0.7
    min_passage_words: int = 20
    num_perm: int = 128
    quote_containment: float = 0.5
    flag_min_share: float = 0.7
    flag_max_ratio: float = 0.25
    fallback_type: str = ""
    spelling_ratio: float = 0.92

    def __post_init__(self) -> None:
        for name in ("reuse_threshold", "passage_threshold", "quote_containment", "flag_min_share",
                     "flag_max_ratio", "spelling_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"actors.{name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.num_perm < 16 or self.min_passage_words < 1:
            raise ConfigError("actors.num_perm must be at least 16 and actors.min_passage_words at least 1")
        if self.fallback_type:
            _check_choice("actors.fallback_type", self.fallback_type, (
                "member_state", "regulator", "private_sector", "civil_society", "academia",
                "technical_community", "intergovernmental", "individual"))


@dataclass(frozen=True)
class ThemesConfig:
    theme_set: str = "cwg_internet"
    min_score: float = 0.15
    secondary_min_score: float = 0.35
    max_subthemes: int = 8
    secondary_ratio: float = 0.6
    min_seed_terms: int = 20
    idf_power: float = 0.0
    size_power: float = 0.25
    min_hits: int = 1
    min_evidence: float = 1.5
    short_doc_words: int = 40
    min_secondary_concepts: int = 2
    focus_concepts: int = 3
    focus_min_segments: int = 2
    focus_share: float = 0.2
    min_density: float = 0.004
    concept_weight: float = 0.6
    min_subtheme_size: int = 5
    min_stability: float = 0.7
    stability_tolerance: float = 0.0
    stability_runs: int = 10
    stability_sample: float = 0.8
    stability_max_rows: int = 1500
    label_terms: int = 6
    representatives: int = 3
    cluster_other: bool = False
    discover_max_themes: int = 8

    def __post_init__(self) -> None:
        if not self.theme_set:
            raise ConfigError("themes.theme_set must name a theme folder or be 'discover'")
        for name in ("min_score", "secondary_min_score", "secondary_ratio", "concept_weight", "min_stability", "min_density", "focus_share", "stability_tolerance"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"themes.{name} must be between 0 and 1, got {getattr(self, name)!r}")
        if not 0 < self.stability_sample <= 1:
            raise ConfigError("themes.stability_sample must be in (0, 1]")
        for name in ("max_subthemes", "discover_max_themes", "stability_runs", "stability_max_rows", "label_terms"):
            if getattr(self, name) < 1:
                raise ConfigError(f"themes.{name} must be at least 1, got {getattr(self, name)!r}")
        if self.stability_runs < 2:
            raise ConfigError("themes.stability_runs must be at least 2 (stability compares runs)")
        if self.focus_concepts < 1 or self.focus_min_segments < 0:
            raise ConfigError("themes.focus_concepts must be at least 1 and themes.focus_min_segments at least 0 (0 = off)")


@dataclass(frozen=True)
class SummarizeConfig:
    quotes_per_subtheme: int = 3
    top_entities: int = 10
    min_quote_chars: int = 40
    max_quote_chars: int = 400

    def __post_init__(self) -> None:
        for name in ("quotes_per_subtheme", "top_entities", "min_quote_chars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"summarize.{name} must be at least 1, got {getattr(self, name)!r}")
        if self.max_quote_chars <= self.min_quote_chars:
            raise ConfigError("summarize.max_quote_chars must be greater than summarize.min_quote_chars")


@dataclass(frozen=True)
class ReportConfig:
    languages: tuple[str, ...] = ("en", "fr")

    def __post_init__(self) -> None:
        for lang in self.languages:
            _check_choice("report.languages", lang, ("en", "fr"))


@dataclass(frozen=True)
class Config:
    base: BaseConfig = field(default_factory=BaseConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    entities: EntitiesConfig = field(default_factory=EntitiesConfig)
    actors: ActorsConfig = field(default_factory=ActorsConfig)
    themes: ThemesConfig = field(default_factory=ThemesConfig)
    summarize: SummarizeConfig = field(default_factory=SummarizeConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _coerce(section: str, key: str, typ: Any, value: Any) -> Any:
    origin = typing.get_origin(typ)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{section}.{key} must be a list, got {value!r}")
        return tuple(value)
    if origin in (typing.Union, types.UnionType):
        return value
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{section}.{key} must be true or false, got {value!r}")
        return value
    if typ in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{section}.{key} must be a number, got {value!r}")
        if typ is int and value != int(value):
            raise ConfigError(f"{section}.{key} must be a whole number, got {value!r}")
        return typ(value)
    if typ is str:
        return "" if value is None else str(value)
    return value


def _build(cls: type, section: str, raw: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(
            f"unknown key(s) {sorted(unknown)} in params section {section!r}; "
            f"known keys: {', '.join(sorted(known))}"
        )
    kwargs = {k: _coerce(section, k, hints[k], v) for k, v in raw.items()}
    return cls(**kwargs)


def load_config(path: Path | str | None = None) -> Config:
    """Read ``params.yaml`` (or return the defaults when ``path`` is None)."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"params file {path} not found") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    sections = {f.name: f for f in dataclasses.fields(Config)}
    unknown = set(raw) - set(sections)
    if unknown:
        raise ConfigError(
            f"unknown params section(s) {sorted(unknown)} in {path}; known: {', '.join(sections)}"
        )
    hints = typing.get_type_hints(Config)
    built = {name: _build(hints[name], name, raw.get(name) or {}) for name in sections}
    return Config(**built)
