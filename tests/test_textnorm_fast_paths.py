"""The fast paths of the text clean-up give exactly what the plain versions gave.

Ingestion was made faster (issue 7) without changing a byte of its output: steps are
skipped where they cannot change anything, and loops were rewritten. Each test runs
the plain version (kept here as the reference) and the fast one on the same
generated input, and asks for identical results.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline import extract_pdf, textnorm
from pipeline.extract_pdf import CELL_GAP, Glyph, _attach_mark, _bidi_kinds
from pipeline.textnorm import BREAK, Hyphenation, Line, clean_chars

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Letters of four scripts, compatibility characters (ligatures, presentation forms,
# full-width letters and punctuation), everything clean_chars drops, every space it
# folds, combining marks, hyphens and PDFium's break marker.
ALPHABET = (
    "abcXYZéçÉабвЖ互联网，。（）ابتثﻻﺍﺑ١٢"
    "\ufb01\ufb02\uff21\uff41\u2126\u00bd\u2026\u00b2"
    "\u00ad\u200b\u2060\ufeff\u180e\u200e\u200f\u202a\u202e\u2066\u2069\x00\x01\x1f\x7f\x85\x9f"
    " \t\n\u00a0\u1680\u2002\u200a\u202f\u205f\u3000"
    "\u0301\u0308\u064e-\u2010\u2011" + BREAK + "0123456789.,;:()"
)
texts = st.text(alphabet=ALPHABET, max_size=80)


def clean_chars_reference(text: str) -> str:
    bidi = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
    text = bidi.sub("", text.translate(textnorm._DROP))
    text = unicodedata.normalize("NFC", text.translate(textnorm.compat_table()))
    return textnorm._SPACES.sub(" ", text)


@PROPS
@given(texts)
@example("ﬁ\u00ad\u0301  x")
@example("e\u00ad\u0301\u3000\u3000")
@example("ＡＢ，ﻻ")
def test_textnorm_fast_paths_clean_chars(text):
    assert clean_chars(text) == clean_chars_reference(text)


def hyphenation_reference(texts: list[str]) -> Hyphenation:
    hyphenated: set[str] = set()
    words: set[str] = set()
    after_hyphen = False
    for text in texts:
        text = textnorm._SPLIT_WORD.sub(" ", text)
        if after_hyphen:
            text = textnorm._FIRST_WORD.sub(" ", text, count=1)
        after_hyphen = text.rstrip().endswith(tuple(textnorm._HYPHENS))
        if after_hyphen:
            text = textnorm._LAST_WORD.sub(" ", text.rstrip(), count=1)
        for m in textnorm._WORD.finditer(text):
            w = m.group(0).lower()
            if "-" in w:
                hyphenated.add(w)
                words.update(w.split("-"))
            else:
                words.add(w)
    return Hyphenation(frozenset(hyphenated), frozenset(words))


@PROPS
@given(st.lists(st.text(alphabet="abcdeАБВİßﬁ -\u2010\u2011" + BREAK + "\n", max_size=30), max_size=8))
@example(["cross-", "border and commu-", "nication", "İstanbul e-waste"])
def test_textnorm_fast_paths_hyphenation(texts):
    assert Hyphenation.from_texts(texts) == hyphenation_reference(texts)


def find_gutter_reference_cover(lines: list[Line], width: float) -> list[int]:
    step = width / 100
    cover = [0] * 100
    for ln in lines:
        for i in range(max(int(ln.x0 / step), 0), min(int(ln.x1 / step) + 1, 100)):
            cover[i] += 1
    return cover


coords = st.floats(min_value=-50, max_value=700, allow_nan=False)


@PROPS
@given(st.lists(st.tuples(coords, coords), min_size=6, max_size=30), st.floats(min_value=50, max_value=700))
def test_textnorm_fast_paths_gutter_matches_the_plain_count(spans, width):
    lines = [Line("x", min(a, b), max(a, b), 10.0, 0.0) for a, b in spans]
    want = find_gutter_reference_cover(lines, width)

    def covered(lines: list[Line], width: float) -> list[int]:
        step = width / 100
        delta = [0] * 101
        for ln in lines:
            lo, hi = max(int(ln.x0 / step), 0), min(int(ln.x1 / step) + 1, 100)
            if lo < hi:
                delta[lo] += 1
                delta[hi] -= 1
        return list(itertools.accumulate(delta[:100]))

    assert covered(lines, width) == want
    # And the function that uses it agrees with a gutter search over the plain count.
    got = textnorm._find_gutter(lines, width)
    if got is not None:
        g0, g1 = int(round(got[0] / (width / 100))), int(round(got[1] / (width / 100)))
        assert all(want[i] == 0 for i in range(g0, g1))


# --- right-to-left reading -------------------------------------------------------------------


def bidi_kinds_reference(units: list[str], *, after_arabic: bool = True) -> list[str]:
    raw = ["R" if u == CELL_GAP else unicodedata.bidirectional(u[0]) if u else "WS" for u in units]
    n = len(raw)
    last_strong = "AL" if after_arabic else "R"
    for i in range(n):
        if raw[i] in ("L", "R", "AL"):
            last_strong = raw[i]
        elif raw[i] == "EN" and last_strong == "AL":
            raw[i] = "AN"
    for i in range(1, n - 1):
        if raw[i - 1] == raw[i + 1] == "EN" and raw[i] in ("CS", "ES"):
            raw[i] = "EN"
        elif raw[i - 1] == raw[i + 1] == "AN" and raw[i] == "CS":
            raw[i] = "AN"
    for i in range(n):
        if raw[i] == "ET" and ((i > 0 and raw[i - 1] == "EN") or (i + 1 < n and raw[i + 1] == "EN")):
            raw[i] = "EN"
    last_strong = "R"
    for i in range(n):
        if raw[i] in ("L", "R", "AL"):
            last_strong = raw[i]
        elif raw[i] == "EN" and last_strong == "L":
            raw[i] = "L"
    next_strong = "R"
    for i in range(n - 1, -1, -1):
        if raw[i] in ("L", "R", "AL"):
            next_strong = raw[i]
        elif raw[i] in ("EN", "AN") and next_strong == "L":
            raw[i] = "L"
    strong = ["L" if k == "L" else "R" if k in ("R", "AL", "EN", "AN") else None for k in raw]
    out = list(strong)
    i = 0
    while i < n:
        if strong[i] is None:
            j = i
            while j < n and strong[j] is None:
                j += 1
            before = strong[i - 1] if i > 0 else "R"
            after = strong[j] if j < n else "R"
            fill = "L" if before == after == "L" else "R"
            for k in range(i, j):
                out[k] = fill
            i = j
        else:
            i += 1
    return ["L" if raw[k] in ("L", "EN", "AN") else out[k] for k in range(n)]


units = st.lists(st.sampled_from(list("ابت١٢ab12.,:/-+%$ ()") + [CELL_GAP, "", "لا", "SDG"]), max_size=25)


@PROPS
@given(units, st.booleans())
@example(["1", ",", "0", "0", "0", " ", "ا"], True)
@example(["%", "5", "1", " ", "a"], False)
def test_textnorm_fast_paths_bidi_kinds(seq, after_arabic):
    assert _bidi_kinds(seq, after_arabic=after_arabic) == bidi_kinds_reference(seq, after_arabic=after_arabic)


def attach_reference(mark: Glyph, bands: list[list]) -> int:
    mid, xc = mark.mid, mark.centre
    under = [i for i, b in enumerate(bands) if any(o.x0 <= xc <= o.x1 for o in b[2])]
    return min(under or range(len(bands)), key=lambda i: 0 if bands[i][0] <= mid <= bands[i][1]
               else min(abs(mid - bands[i][0]), abs(mid - bands[i][1])))


small = st.integers(min_value=0, max_value=12).map(float)


@PROPS
@given(st.lists(st.lists(st.tuples(small, small), min_size=1, max_size=4), min_size=1, max_size=5),
       st.tuples(small, small, small))
def test_textnorm_fast_paths_mark_goes_to_the_same_band(band_glyphs, mark_pos):
    # Bands on a coarse grid, so that ties between bands (equal distances) are common.
    bands = []
    for k, glyphs in enumerate(band_glyphs):
        top = float(3 * k)
        bands.append([top, top + 2.0, [Glyph("ب", x, x + w / 4, top, top + 2.0, 10.0) for x, w in glyphs]])
    x, w, y = mark_pos
    mark = Glyph("\u064e", x, x + w / 4, y, y + 1.0, 10.0)
    want = attach_reference(mark, bands)
    _attach_mark(mark, bands)
    assert bands[want][2][-1] is mark
    assert sum(b[2].count(mark) for b in bands) == 1


def test_textnorm_fast_paths_glyph_from_pdfplumber_dict():
    g = Glyph.from_dict({"text": "(cid:3)", "x0": 1, "x1": 3, "top": 10, "bottom": 14, "size": None})
    assert (g.plain, g.size, g.mid, g.centre, g.combining) == ("", 0.0, 12.0, 2.0, False)
    assert Glyph("\u064e", 0.0, 1.0, 0.0, 1.0, 9.0).combining
    assert extract_pdf._CID.sub("", "a(cid:12)b") == Glyph("a(cid:12)b", 0, 1, 0, 1, 1).plain


def is_rtl_text_reference(text: str) -> bool:
    rtl = len(textnorm._RTL_CHARS.findall(text))
    if not rtl:
        return False
    return rtl * 2 > len(textnorm._LETTERS.findall(text))


@PROPS
@given(st.text(alphabet="ابتﻻ\u064e١ab ,.1אב", max_size=30))
def test_textnorm_fast_paths_is_rtl_text(text):
    assert textnorm.is_rtl_text(text) == is_rtl_text_reference(text)
