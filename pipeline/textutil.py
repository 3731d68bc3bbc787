"""Language-aware text helpers shared by several stages (scripts, Arabic normalisation).

Stages import this module; it imports no stage.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Unicode blocks of the scripts of the six UN languages (and the neighbours a detector
# confuses them with: kana and hangul tell Japanese and Korean from Chinese).
_SCRIPT_RANGES: tuple[tuple[str, int, int], ...] = (
    ("Latin", 0x0041, 0x024F),
    ("Latin", 0x1E00, 0x1EFF),
    ("Cyrillic", 0x0400, 0x052F),
    ("Arabic", 0x0600, 0x06FF),
    ("Arabic", 0x0750, 0x077F),
    ("Arabic", 0x08A0, 0x08FF),
    ("Arabic", 0xFB50, 0xFDFF),
    ("Arabic", 0xFE70, 0xFEFF),
    ("Han", 0x3400, 0x4DBF),
    ("Han", 0x4E00, 0x9FFF),
    ("Han", 0xF900, 0xFAFF),
    ("Han", 0x20000, 0x2FA1F),
    ("Kana", 0x3040, 0x30FF),
    ("Hangul", 0xAC00, 0xD7AF),
    ("Hangul", 0x1100, 0x11FF),
    ("Greek", 0x0370, 0x03FF),
    ("Hebrew", 0x0590, 0x05FF),
    ("Devanagari", 0x0900, 0x097F),
)


# The Han blocks of the Basic Multilingual Plane, as the body of a regex character class:
# the tokenisers, the seed matcher and the gazetteer treat each such character alike.
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN = re.compile(f"[{HAN_CHARS}]")


def char_script(ch: str) -> str | None:
    """The script of one letter, or None for digits, punctuation and spaces."""
    if not ch.isalpha():
        return None
    cp = ord(ch)
    for name, lo, hi in _SCRIPT_RANGES:
        if lo <= cp <= hi:
            return name
    return "Other"


def script_counts(text: str) -> Counter[str]:
    return Counter(s for s in map(char_script, text) if s is not None)


def dominant_script(text: str) -> str | None:
    """The script holding most letters of ``text``, or None when it has no letters."""
    counts = script_counts(text)
    return counts.most_common(1)[0][0] if counts else None


# Arabic: diacritics (harakat), tatweel, and the alef/hamza/yeh/teh-marbuta variants that
# spelling varies on. Folding them lets "الإنترنت" and "الانترنت" count as one word.
_AR_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_AR_TATWEEL = "\u0640"
_AR_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})


def normalize_arabic(text: str) -> str:
    """Fold Arabic spelling variants; length may change, so use it for matching, not offsets."""
    text = _AR_DIACRITICS.sub("", text).replace(_AR_TATWEEL, "")
    return text.translate(_AR_FOLD)


def nfkc(text: str) -> str:
    """Unicode compatibility normalisation (ligatures, full-width forms, presentation forms)."""
    return unicodedata.normalize("NFKC", text)
