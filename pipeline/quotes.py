"""Extractive quotes: split text into sentences and check a quote is verbatim in its page.

Shared by ``summarize`` (which picks the quotes) and ``report`` (which prints them and
checks them again before writing). Only whitespace is normalised when comparing a quote
with its page: anything else would let a paraphrase pass as a quote.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pipeline.cache import DocCache

# A sentence ends at . ! ? … ؟ (Arabic) followed by space, or at a CJK full stop (no space
# follows one in Chinese text), or at a blank line. A single line break is not an end:
# PDF text wraps lines inside sentences.
_SENTENCE_END = re.compile(r"(?<=[.!?…؟])\s+|(?<=[。！？])|\s*\n\s*\n\s*")
# A complete sentence ends with terminal punctuation, maybe inside a closing quote/bracket.
_COMPLETE = re.compile(r"[.!?…؟。！？][\"'»”’)\]）」』]*$")
_LANG_PREFIX = re.compile(r"^([a-z]{2,3})\s*:\s*")
_BLANK_LINE = re.compile(r"\n\s*\n")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class QuoteError(ValueError):
    """A quote in the draft is not found verbatim in the page it cites."""


def normalise_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    # str.split() splits on exactly the characters regex ``\s`` matches (both use
    # str.isspace), and is several times faster on whole pages.
    return " ".join((text or "").split())


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, each an exact substring of ``text`` (stripped)."""
    parts = _SENTENCE_END.split(text or "")
    return [p.strip() for p in parts if p and p.strip()]


def sentence_weight(sentence: str) -> int:
    """Length in "Latin-equivalent" characters: a Chinese character counts as three."""
    n_cjk = len(_CJK.findall(sentence))
    return len(sentence) - n_cjk + 3 * n_cjk


def is_quotable(sentence: str, *, min_chars: int, max_chars: int) -> bool:
    """A sentence a reader can take as a statement: long enough, not a wall, has letters."""
    weight = sentence_weight(sentence)
    if not min_chars <= weight <= max_chars:
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    return letters >= 0.5 * len(sentence)


def label_by_lang(label: str | None) -> dict[str, list[str]]:
    """A sub-theme label's top terms per language.

    Reads ``"fr: débit, haut | en: population, data"`` (language groups split by ``|``)
    and plain ``"broadband, rural, fibre"`` (language ``""``).
    """
    out: dict[str, list[str]] = {}
    for group in str(label or "").split("|"):
        group = group.strip()
        m = _LANG_PREFIX.match(group)
        lang = m.group(1) if m else ""
        body = group[m.end():] if m else group
        terms = [t.strip().lower() for t in re.split(r"[,;/·•]+|\s{2,}", body) if t.strip()]
        if terms:
            out.setdefault(lang, []).extend(terms)
    return out


def label_terms(label: str | None) -> list[str]:
    """Every top term of a sub-theme label, without language prefixes."""
    return [t for terms in label_by_lang(label).values() for t in terms]


def pick_sentence(
    sentences: Iterable[str], terms: Iterable[str] = (), *, min_chars: int = 40,
    max_chars: int = 400, skip: Callable[[str], bool] | None = None,
) -> str | None:
    """The quotable sentence that holds most of ``terms`` (first one on ties).

    A complete sentence (ending with terminal punctuation) beats a fragment such as a
    heading or a list item, whatever the terms. ``skip`` rules sentences out (e.g. those
    an analyst rejected as quotes).
    """
    terms = [t for t in terms if t]
    best, best_rank = None, (-1, -1)
    for sentence in sentences:
        if not is_quotable(sentence, min_chars=min_chars, max_chars=max_chars):
            continue
        if skip is not None and skip(sentence):
            continue
        low = sentence.lower()
        rank = (int(bool(_COMPLETE.search(sentence))), sum(1 for t in terms if t in low))
        if rank > best_rank:
            best, best_rank = sentence, rank
    return best


def best_sentence(
    text: str, terms: Iterable[str] = (), *, min_chars: int = 40, max_chars: int = 400
) -> str | None:
    """The best quotable sentence of ``text`` (see :func:`pick_sentence`)."""
    return pick_sentence(split_sentences(text), terms, min_chars=min_chars, max_chars=max_chars)


def is_complete(sentence: str) -> bool:
    """Whether ``sentence`` ends with terminal punctuation (not a heading or fragment)."""
    return bool(_COMPLETE.search(sentence))


def page_sentences(page_text: str) -> list[str]:
    """The sentences of a page, whitespace-normalised, each verbatim in the normalised page.

    Extracted PDF text often breaks every wrapped line into its own paragraph, so a blank
    line ends a sentence only where a sentence plausibly ends: after terminal punctuation,
    or (a heading) before a chunk that starts with a capital letter.
    """
    chunks = [c for c in (normalise_ws(c) for c in _BLANK_LINE.split(page_text or "")) if c]
    # Scripts without capitals (Arabic, Chinese): a heading is a chunk clearly shorter
    # than the page's usual wrapped line.
    typical = sorted(len(c) for c in chunks)[int(len(chunks) * 0.75)] if chunks else 0
    blocks: list[str] = []
    current: list[str] = []
    for chunk in chunks:
        if current:
            prev = current[-1]
            first = next((ch for ch in chunk if ch.isalpha()), "")
            uncased = bool(first) and first.upper() == first.lower()
            # A chunk whose first letter is a capital starts a new block.
            if (_COMPLETE.search(prev) or first.isupper()
                    or (uncased and len(prev) < 0.6 * typical)):
                blocks.append(" ".join(current))
                current = []
        current.append(chunk)
    if current:
        blocks.append(" ".join(current))
    return [normalise_ws(s) for block in blocks for s in split_sentences(block)]


class SentenceFinder:
    """Finds the best whole sentence around a paragraph, verbatim in a page of its response.

    Lazy per response: a response's pages are normalised and split into sentences only
    when one of its paragraphs is looked up. With a ``cache``
    (:class:`pipeline.cache.DocCache`), what a look-up found in a response (the eligible
    sentences around a paragraph, before the sub-theme's terms rank them) is kept per
    response, addressed by the response's page texts, its rejected paragraphs and the
    quote length limits: a re-run after one response was added reads the other
    responses' sentences instead of splitting their pages again. Call :meth:`save` to
    write what was found. ``tag`` names this finder's entries, so that two finders over
    the same pages (see :meth:`sibling`) keep apart what each looked up.
    """

    def __init__(self, pages: pd.DataFrame, *, min_chars: int = 40, max_chars: int = 400,
                 rejected: dict[str, list[str]] | None = None, cache: DocCache | None = None,
                 tag: str = "") -> None:
        # Paragraphs an analyst marked unsuitable as quotes (review: reject_quote), by doc.
        self.rejected = {d: [normalise_ws(t) for t in ts] for d, ts in (rejected or {}).items()}
        self.raw = {} if pages is None or pages.empty else {
            (str(d), int(p)): str(t)
            for d, p, t in zip(pages["doc_id"], pages["page_no"], pages["text"], strict=True)
            if pd.notna(p)}
        self.pages_of: dict[str, list[int]] = {}
        for d, p in sorted(self.raw):
            self.pages_of.setdefault(d, []).append(p)
        # (doc_id, page_no) -> whitespace-normalised page, filled per response on demand.
        self.norm: dict[tuple[str, int], str] = {}
        self._normed: set[str] = set()
        self.min_chars, self.max_chars = min_chars, max_chars
        self._spans: dict[tuple[str, int], list[tuple[int, int, str]]] = {}
        self.cache = cache
        self.tag = tag
        self._memo: dict[str, dict[tuple, Any]] = {}
        self._dirty: set[str] = set()

    def sibling(self, tag: str) -> SentenceFinder:
        """A finder over the same pages (their normalised text shared) whose look-ups and
        cache entries are its own, under ``tag`` (e.g. for another process)."""
        other = copy.copy(self)
        other.tag, other._memo, other._dirty = tag, {}, set()
        return other

    # --- pages, normalised on demand ---------------------------------------------------

    def _normalise(self, doc_id: str) -> None:
        if doc_id not in self._normed:
            self._normed.add(doc_id)
            for p in self.pages_of.get(doc_id, ()):
                self.norm[(doc_id, p)] = normalise_ws(self.raw[(doc_id, p)])

    def index(self, doc_ids: Iterable[str]) -> dict[tuple[str, int], str]:
        """:func:`page_index` of these responses' pages (for :func:`check_quotes`)."""
        for d in set(doc_ids):
            self._normalise(str(d))
        return self.norm

    def spans(self, doc_id: str, page_no: int) -> list[tuple[int, int, str]]:
        """``(start, end, sentence)`` of every sentence of a page, in normalised offsets."""
        key = (doc_id, page_no)
        if key not in self._spans:
            self._normalise(doc_id)
            norm, pos, out = self.norm.get(key, ""), 0, []
            for sentence in page_sentences(self.raw.get(key, "")):
                at = norm.find(sentence, pos)
                if at >= 0:
                    out.append((at, at + len(sentence), sentence))
                    pos = at + len(sentence)
            self._spans[key] = out
        return self._spans[key]

    # --- the per-response memo (and its cache) -----------------------------------------

    def doc_key(self, doc_id: str) -> str:
        """The cache key of a response: its pages' texts, its rejected paragraphs."""
        h = hashlib.sha256(f"{doc_id}\0{self.min_chars}\0{self.max_chars}\0".encode())
        for p in self.pages_of.get(doc_id, ()):
            h.update(f"\0{p}\0".encode())
            h.update(self.raw[(doc_id, p)].encode("utf-8", "surrogatepass"))
        for r in self.rejected.get(doc_id, ()):
            h.update(b"\0r\0" + r.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def cache_key(self, doc_id: str) -> str:
        """The key of this finder's cache entry for a response (:meth:`doc_key`, tagged)."""
        return f"{self.doc_key(doc_id)}:{self.tag}" if self.tag else self.doc_key(doc_id)

    def _memo_of(self, doc_id: str) -> dict[tuple, Any]:
        memo = self._memo.get(doc_id)
        if memo is None:
            hit = self.cache.get(self.cache_key(doc_id)) if self.cache is not None else None
            memo = self._memo[doc_id] = hit if isinstance(hit, dict) else {}
        return memo

    def _remember(self, doc_id: str, key: tuple, value: Any) -> Any:
        self._memo_of(doc_id)[key] = value
        self._dirty.add(doc_id)
        return value

    def memoised(self, doc_id: str, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept in ``doc_id``'s memo (and cache) under ``key``.

        For a caller's result that depends only on this response's pages and on ``key``
        (e.g. the extract that given paragraphs yield).
        """
        memo = self._memo_of(doc_id)
        if key in memo:
            return memo[key]
        return self._remember(doc_id, key, compute())

    def save(self) -> int:
        """Write the memo of every response with new look-ups to the cache; how many."""
        if self.cache is None:
            return 0
        dirty, self._dirty = sorted(self._dirty), set()
        for doc_id in dirty:
            self.cache.put(self.cache_key(doc_id), self._memo[doc_id])
        return len(dirty)

    # --- look-ups ------------------------------------------------------------------------

    def _is_rejected(self, doc_id: str, sentence: str) -> bool:
        return any(sentence in r or r in sentence for r in self.rejected.get(doc_id, ()) if r)

    def _eligible(self, doc_id: str, sentences: Iterable[str]) -> tuple[str, ...]:
        """The sentences a quote may be: quotable and not rejected, in order."""
        return tuple(s for s in sentences
                     if is_quotable(s, min_chars=self.min_chars, max_chars=self.max_chars)
                     and not self._is_rejected(doc_id, s))

    def _pick(self, doc_id: str, sentences: Iterable[str], terms: list[str]) -> str | None:
        return pick_sentence(sentences, terms, min_chars=self.min_chars, max_chars=self.max_chars,
                             skip=lambda sentence: self._is_rejected(doc_id, sentence))

    def _candidates(self, doc_id: str, text: str, page_hint: int | None) -> tuple:
        """What :meth:`for_segment` picks from, whatever the terms.

        ``("page", page_no, sentences)``: the eligible sentences around the paragraph on
        the first page that holds it; ``("own", ((sentence, page or None), ...))``: the
        paragraph's own eligible sentences and the page holding each.
        """
        key = ("seg", text, page_hint)
        memo = self._memo_of(doc_id)
        if key in memo:
            return memo[key]
        needle = normalise_ws(text)
        pages = list(self.pages_of.get(doc_id, []))
        if page_hint in pages:
            pages.remove(page_hint)
            pages.insert(0, page_hint)
        if needle:
            self._normalise(doc_id)
        for page_no in pages:
            at = self.norm[(doc_id, page_no)].find(needle) if needle else -1
            if at < 0:
                continue
            around = self._eligible(
                doc_id, (s for a, b, s in self.spans(doc_id, page_no) if a < at + len(needle) and b > at))
            if around:
                return self._remember(doc_id, key, ("page", page_no, around))
            break
        # The paragraph spans two pages or was normalised differently: its own sentences.
        own = self._eligible(doc_id, (normalise_ws(s) for s in split_sentences(text)))
        return self._remember(doc_id, key, ("own", tuple(
            (s, self._find_page(s, doc_id, hint=page_hint)) for s in own)))

    def for_segment(self, doc_id: str, text: str, *, page_hint: int | None = None,
                    terms: Iterable[str] = ()) -> tuple[str, int] | None:
        """The best sentence that overlaps paragraph ``text`` (whole, even when the
        paragraph is a fragment of it), with its page; None when nothing quotable."""
        terms = [t for t in terms if t]
        found = self._candidates(doc_id, text, page_hint)
        if found[0] == "page":
            best = _rank_pick(found[2], terms)  # never None: the sentences are eligible
            return (best, found[1]) if best else None
        best = _rank_pick([s for s, _ in found[1]], terms)
        if best:
            page = dict(found[1])[best]
            if page is not None:
                return best, page
        return None

    def _find_page(self, quote: str, doc_id: str, *, hint: int | None) -> int | None:
        """:func:`find_page` over this response's pages only (not a scan of every page)."""
        needle = normalise_ws(quote)
        if not needle:
            return None
        self._normalise(doc_id)
        pages = list(self.pages_of.get(doc_id, []))
        if hint is not None and hint in pages:
            pages.remove(hint)
            pages.insert(0, hint)
        for page_no in pages:
            if needle in self.norm[(doc_id, page_no)]:
                return page_no
        return None

    def in_document(self, doc_id: str, *, terms: Iterable[str] = ()) -> tuple[str, int] | None:
        """The first page's best sentence of a response (fallback when no paragraph fits)."""
        terms = [t for t in terms if t]
        key = ("doc",)
        if not terms and key in self._memo_of(doc_id):
            return self._memo_of(doc_id)[key]
        found = None
        for page_no in self.pages_of.get(doc_id, []):
            best = self._pick(doc_id, (s for _, _, s in self.spans(doc_id, page_no)), terms)
            if best:
                found = best, page_no
                break
        return self._remember(doc_id, key, found) if not terms else found


def _rank_pick(sentences: Iterable[str], terms: list[str]) -> str | None:
    """:func:`pick_sentence` over sentences already known to be eligible (quotable, not
    rejected): only the ranking, the same choice."""
    best, best_rank = None, (-1, -1)
    for sentence in sentences:
        low = sentence.lower()
        rank = (int(bool(_COMPLETE.search(sentence))), sum(1 for t in terms if t in low))
        if rank > best_rank:
            best, best_rank = sentence, rank
    return best


def page_index(pages: pd.DataFrame) -> dict[tuple[str, int], str]:
    """``(doc_id, page_no) -> whitespace-normalised page text``, for verbatim checks."""
    if pages is None or pages.empty:
        return {}
    return {
        (str(d), int(p)): normalise_ws(str(t))
        for d, p, t in zip(pages["doc_id"], pages["page_no"], pages["text"], strict=True)
        if pd.notna(p)
    }


def find_page(quote: str, doc_id: str, index: dict[tuple[str, int], str],
              *, hint: int | None = None) -> int | None:
    """The page of ``doc_id`` whose text holds ``quote`` verbatim (the hinted page first)."""
    needle = normalise_ws(quote)
    if not needle:
        return None
    pages = sorted(p for d, p in index if d == doc_id)
    if hint is not None and hint in pages:
        pages.remove(hint)
        pages.insert(0, hint)
    for page_no in pages:
        if needle in index[(doc_id, page_no)]:
            return page_no
    return None


def check_quotes(quotes: pd.DataFrame, pages: pd.DataFrame | None,
                 *, index: dict[tuple[str, int], str] | None = None) -> None:
    """Raise :class:`QuoteError` unless every quote is verbatim in the page it cites.

    ``quotes`` needs the columns ``doc_id``, ``page_no`` and ``quote``. ``index`` is
    :func:`page_index` of ``pages`` when the caller already built it (the pages are
    then not read again).
    """
    if quotes is None or quotes.empty:
        return
    if index is None:
        # Only the quoted responses' pages: normalising every page of a large corpus
        # costs more than the check itself.
        quoted = set(quotes["doc_id"].astype(str))
        if pages is not None and not pages.empty:
            pages = pages[pages["doc_id"].astype(str).isin(quoted)]
        index = page_index(pages)
    bad = []
    for row in quotes.itertuples(index=False):
        page_text = index.get((str(row.doc_id), int(row.page_no))) if pd.notna(row.page_no) else None
        if page_text is None or normalise_ws(row.quote) not in page_text:
            bad.append(f"{row.doc_id} p.{row.page_no}: {str(row.quote)[:80]!r}")
    if bad:
        raise QuoteError(
            f"{len(bad)} quote(s) are not verbatim in the page they cite: " + "; ".join(bad[:5])
        )
