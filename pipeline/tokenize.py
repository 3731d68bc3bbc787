"""Language-aware tokenisation shared by the stages that count words.

One call, ``analyze(text, lang)``, turns a paragraph into ``(key, surface)`` pairs:
``key`` is the normalised form that counting uses (a Snowball stem, a jieba word, an
Arabic Snowball stem with its spelling folded afterwards) and ``surface`` the
lower-cased word as written, which labels show to people. Stop words of each language
(spaCy's lists plus the project's own in ``data/themes/stopwords/``) and tokens
without a letter (numbers, punctuation) are dropped.

Languages: the six UN languages get their own treatment; any other ISO 639-1 code that
Snowball knows is stemmed; anything else (or ``None``) is tokenised by its script.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import snowballstemmer

from pipeline.textutil import HAN, dominant_script, nfkc, normalize_arabic

logger = logging.getLogger(__name__)

_SNOWBALL = {
    "ar": "arabic",
    "en": "english",
    "fr": "french",
    "es": "spanish",
    "ru": "russian",
    "pt": "portuguese",
    "de": "german",
    "it": "italian",
    "nl": "dutch",
}
_SCRIPT_LANG = {"Han": "zh", "Arabic": "ar", "Cyrillic": "ru"}

# Words: runs of letters/digits. Apostrophes and hyphens split ("l'accès" -> l, accès;
# "e-waste" -> e, waste) so that seed terms and texts break the same way.
_WORD = re.compile(r"\w+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
# Arabic: the article, with the clitics that stack before it ("والانترنت", "بالانترنت",
# "للانترنت"), is stripped here, before Snowball. Snowball strips a bare article itself,
# but then applies its suffix rules to a different length, so the definite form and the
# bare one (which is how the first noun of a construct is written: "شبكة الاتصالات",
# "جائحة كوفيد") got different keys.
_AR_ARTICLE = re.compile(r"^(?:(?:و|ف)?(?:ب|ك|ل)?ال|(?:و|ف)?لل)(?=..)")

# Snowball strips a lone initial ب as the preposition "with/by" (بخدمات -> خدم, which
# is right), also where ب is the word's first root letter. That is harmless while the
# rest is no other word (بيانات -> يانا, the seed "البيانات" alike), but "بطاقة"/"بطاقات"
# (card, cards: "بطاقة SIM") became the key of "طاقة" (energy). Words starting with
# these letters keep their ب; add a stem here when an audit
# (benchmarks/audit_seed_containment.py) shows another such pair.
_AR_ROOT_BA = ("بطاق",)

_AR_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")

_jieba_lock = threading.Lock()
_jieba_tok = None


def _jieba():  # type: ignore[no-untyped-def]
    """The process's one jieba tokenizer, built on first use and quiet."""
    global _jieba_tok
    if _jieba_tok is None:
        with _jieba_lock:
            if _jieba_tok is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                _jieba_tok = tok
    return _jieba_tok


@lru_cache(maxsize=16)
def _stemmer(lang: str) -> snowballstemmer.stemmer | None:
    name = _SNOWBALL.get(lang)
    return snowballstemmer.stemmer(name) if name else None


# Distinct words per language and process before a memo starts afresh (about 100 bytes
# each): bounds memory on any corpus while a consultation's vocabulary fits many times.
_STEM_MEMO_MAX = 200_000


class _MemoStem:
    """A language's stemming with a memo of the words already seen.

    The Snowball stemmers are pure Python (about 60 µs a word); a corpus repeats its
    words, so on 1,000 responses 1.0 million calls shrink to the distinct words and
    stemming goes from most of the themes stage's time to a small part of it.
    """

    def __init__(self, lang: str, stem: snowballstemmer.stemmer) -> None:
        self._fn = (lambda w: _stem_ar(w, stem)) if lang == "ar" else stem.stemWord
        self._memo: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        key = self._memo.get(word)
        if key is None:
            if len(self._memo) >= _STEM_MEMO_MAX:
                self._memo.clear()
            key = self._memo[word] = self._fn(word)
        return key


@lru_cache(maxsize=16)
def _memo_stemmer(lang: str) -> _MemoStem | None:
    stem = _stemmer(lang)
    return _MemoStem(lang, stem) if stem is not None else None


_STOP_DIR = Path(__file__).resolve().parent / "data" / "themes" / "stopwords"
# Languages whose extra stop words also drop by stem (so one form covers its inflections).
# Not Russian: its Snowball stems are short enough to join unrelated words.
_STEM_STOPS = frozenset({"en", "fr", "es", "pt", "de", "it", "nl"})


@lru_cache(maxsize=16)
def extra_stop_words(lang: str) -> frozenset[str]:
    """The project's own stop words for ``lang`` (``data/themes/stopwords/<lang>.txt``), folded.

    Function, discourse and enumeration words that spaCy's lists lack and that would
    otherwise label sub-themes ("include", "بشأن", "期间").
    """
    path = _STOP_DIR / f"{lang}.txt"
    if not path.is_file():
        return frozenset()
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.add(_fold(word, lang))
    return frozenset(words)


@lru_cache(maxsize=16)
def _extra_stop_stems(lang: str) -> frozenset[str]:
    stem = _stemmer(lang)
    if stem is None or lang not in _STEM_STOPS:
        return frozenset()
    return frozenset(stem.stemWord(w) for w in extra_stop_words(lang))


@lru_cache(maxsize=16)
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang`` plus the project's (``extra_stop_words``), normalised
    as texts are (empty if neither has the language)."""
    words = set(extra_stop_words(lang))
    words |= {_fold(w, lang) for w in _spacy_stop_words(lang)}
    if lang == "fr":
        # Elided articles and pronouns, which splitting on the apostrophe isolates.
        words |= {"l", "d", "j", "m", "n", "s", "t", "c", "qu"}
    return frozenset(words)


def _spacy_stop_words(lang: str) -> frozenset[str]:
    """``spacy.lang.<lang>.stop_words.STOP_WORDS``, read without importing spaCy.

    Importing ``spacy.lang.<lang>`` imports spaCy and compiles the language's tokenizer
    exceptions: 0.5 to 2 s per process, paid by every stage and worker that only
    wanted a list of words. The stop-word modules are plain Python without imports.
    """
    if not re.fullmatch(r"[a-z]{2,3}", lang or ""):
        return frozenset()
    spec = importlib.util.find_spec("spacy")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / lang / "stop_words.py"
    if not path.is_file():
        return frozenset()
    module_spec = importlib.util.spec_from_file_location(f"_spacy_stop_words_{lang}", path)
    if module_spec is None or module_spec.loader is None:
        return frozenset()
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(w for w in getattr(module, "STOP_WORDS", ()) if isinstance(w, str))


def _fold(text: str, lang: str) -> str:
    text = nfkc(text).lower()
    if lang == "ar":
        text = normalize_arabic(text)
    elif lang == "ru":
        text = text.replace("ё", "е")
    return text


def resolve_lang(text: str, lang: str | None) -> str:
    """The language to tokenise ``text`` as: ``lang`` if given, else guessed from script."""
    if lang:
        return lang.split(";")[0].split("-")[0].lower()
    script = dominant_script(text)
    return _SCRIPT_LANG.get(script or "", "en")


def _stem_ar(word: str, stem: snowballstemmer.stemmer) -> str:
    """Snowball's stem of an Arabic word as written (diacritics removed), spelling-folded.

    The spelling fold comes after stemming: Snowball reads the ta marbuta and the hamza
    forms to find suffixes, and folding ة to ه first left "ه" on some stems and not on
    others ("الجائحة" -> جايحه, "جائحة" -> جايح).
    """
    bare = _AR_ARTICLE.sub("", word)
    rest = bare[1:] if bare[:1] in ("و", "ف") else bare  # "and"/"so" before it
    if rest.startswith(_AR_ROOT_BA):
        return "ب" + _stem_ar(rest[1:], stem)
    out = stem.stemWord(bare)
    # The sound feminine plural -ات: Snowball drops only its ت when no article came
    # off, leaving "شبكا" beside the singular's "شبك".
    if bare.endswith("ات") and len(bare) >= 5 and out.endswith("ا") and len(out) >= 3:
        out = out[:-1]
    return normalize_arabic(out)


def _keep(word: str, stops: frozenset[str]) -> bool:
    return len(word) > 1 and word not in stops and _HAS_LETTER.search(word) is not None


@lru_cache(maxsize=8)
def _zh_pieces(folded: str) -> tuple[str, ...]:
    """jieba's cut of a folded Chinese text, kept for the last few texts: the seed
    matcher asks for the word boundaries of the paragraph the analysis has just cut."""
    return tuple(_jieba().cut(folded, HMM=True))


def zh_word_bounds(folded: str) -> list[int]:
    """Where each jieba word of ``folded`` (a ``fold_text`` of Chinese) starts, and its
    length at the end."""
    bounds = [0]
    for piece in _zh_pieces(folded):
        bounds.append(bounds[-1] + len(piece))
    return bounds


def _analyze_zh(text: str, stops: frozenset[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for piece in _zh_pieces(text):
        word = piece.strip().lower()
        if not word:
            continue
        if HAN.search(word) is None:
            # Latin words and numbers inside Chinese text: split as any other script.
            out.extend((w, w) for w in _WORD.findall(word) if _keep(w, stops))
        elif _keep(word, stops):
            out.append((word, word))
    return out


# The few function words that may sit inside a seed phrase or not ("accès à l'internet" /
# "accès à internet"): dropped when matching seed terms. Other stop words are kept there,
# because some carry the meaning of a phrase ("العمل عن بعد", remote work).
_GLUE = {
    "en": frozenset("the a an of to for and in on at by with or".split()),
    "fr": frozenset("le la les l de du des d à au aux et en un une pour par sur".split()),
    "es": frozenset("el la los las de del a al y en un una para por con".split()),
    "ru": frozenset("и в во на к ко по с со для о об".split()),
    "ar": frozenset("في من الى على او و".split()),
    "pt": frozenset("o a os as de do da dos das e em no na para por".split()),
}


def _analyze_all(text: str, lang: str) -> list[tuple[str, str, bool, bool]]:
    """(key, surface, is_stop, is_glue) for every word with a letter."""
    stops = stop_words(lang)
    glue = _GLUE.get(lang, frozenset())
    out: list[tuple[str, str, bool, bool]] = []
    if lang == "zh":
        return [(k, w, False, False) for k, w in _analyze_zh(_fold(text, lang), stops)]
    stem = _memo_stemmer(lang)
    if lang == "ar":
        # Keep the spelling as written for the surface form (labels); match on the fold.
        for surface in _WORD.findall(_AR_MARKS.sub("", nfkc(text).lower())):
            word = normalize_arabic(surface)
            if _HAS_LETTER.search(word) is None:
                continue
            key = stem(surface) if stem is not None and len(word) > 1 else word
            out.append((key or word, surface, not _keep(word, stops), word in glue))
        return out
    stop_stems = _extra_stop_stems(lang)
    for word in _WORD.findall(_fold(text, lang)):
        if _HAS_LETTER.search(word) is None:
            continue
        key = stem(word) if stem is not None else word
        is_stop = not _keep(word, stops) or key in stop_stems
        out.append((key or word, word, is_stop, word in glue))
    return out


def analyze(text: str, lang: str | None) -> list[tuple[str, str]]:
    """Tokenise ``text`` as language ``lang``.

    Args:
        text: a paragraph (any length).
        lang: ISO 639-1 code; ``None`` guesses from the script.

    Returns:
        ``(key, surface)`` pairs in text order, stop words dropped; ``key`` is what to count.
    """
    lang = resolve_lang(text, lang)
    return [(k, w) for k, w, stop, _ in _analyze_all(text, lang) if not stop]


def analyze_both(text: str, lang: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    """``analyze`` and ``match_keys`` of one text in one pass."""
    lang = resolve_lang(text, lang)
    full = _analyze_all(text, lang)
    return [(k, w) for k, w, stop, _ in full if not stop], [k for k, _, _, g in full if not g]


def match_keys(text: str, lang: str | None) -> list[str]:
    """Keys for seed-term matching: like ``tokens`` but only glue words are dropped."""
    lang = resolve_lang(text, lang)
    return [k for k, _, _, glue in _analyze_all(text, lang) if not glue]


def tokens(text: str, lang: str | None) -> list[str]:
    """The counting keys of ``text`` (see ``analyze``)."""
    return [k for k, _ in analyze(text, lang)]


def fold_text(text: str, lang: str | None) -> str:
    """``text`` lower-cased and spelling-normalised as ``analyze`` sees it (for substring matching)."""
    return _fold(text, resolve_lang(text, lang))


def batch_tokens(texts: Iterable[str], langs: Iterable[str | None]) -> list[list[str]]:
    """``tokens`` for many texts (keeps one tokenizer per process warm)."""
    return [tokens(t, lang) for t, lang in zip(texts, langs, strict=True)]
