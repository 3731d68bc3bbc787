"""Text reuse: near-duplicate responses and shared passages, by MinHash and LSH.

Each text becomes a set of shingles (word bigrams; character trigrams for Chinese, which
is written without spaces), hashed with crc32 so that the same text gives the same
shingles on any machine. A MinHash signature (``num_perm`` seeded multiply-shift
permutations, vectorised with numpy) estimates the Jaccard similarity of two sets;
locality-sensitive hashing (banding, with the bands and rows datasketch's ``MinHashLSH``
chooses for the threshold, applied to the whole signature matrix at once) finds the
candidate pairs without comparing all pairs, and each candidate is checked on its
signature estimate. Pairs are grouped into clusters by union-find.

Two levels:

* documents: two responses whose whole texts are similar (campaign letters, light
  edits, the same text in another file format) form a ``near_duplicate`` cluster;
* passages: paragraphs of at least ``min_passage_words`` words shared by responses that
  are not near-duplicates of each other form a ``shared_passage`` cluster, or a
  ``quotation`` cluster when the passage is the consultation's own question text (it
  contains most of a guiding question of a theme file, ``pipeline/data/themes/*/*.yaml``)
  or resolution text (it cites a resolution and uses the operative wording or quotation
  marks of one: "resolves", "instructs", "décide", "постановляет", "يقرر", "决定" ...).

Nothing is dropped: the functions return cluster memberships; every response keeps its
row in the actors table.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from datasketch import MinHashLSH

from pipeline.textutil import nfkc, normalize_arabic

logger = logging.getLogger(__name__)

THEMES_DIR = Path(__file__).parent / "data" / "themes"
_MAX32 = np.uint64(0xFFFFFFFF)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# A resolution cited by number, in the six languages.
_RES_REF = re.compile(
    r"(?:resolution|résolution|resolución|резолюци\w*|القرار|قرار)\s*(?:n[°o.]\s*)?\d+"
    r"|第\s*\d+\s*号决议",
    re.IGNORECASE,
)
# Operative and preambular wording of resolutions, and quotation marks.
_RES_OPERATIVE = re.compile(
    r"\b(?:resolves|instructs|invites member states|decides|recognizing|considering|noting)\b"
    r"|\b(?:décide|charge le|invite les états membres|considérant|reconnaissant)\b"
    r"|\b(?:resuelve|encarga|invita a los estados miembros|considerando|reconociendo)\b"
    r"|(?:решает|поручает|предлагает государствам-членам|учитывая|признавая)"
    r"|(?:يقرر|يكلف|يدعو الدول الاعضاء|اذ يضع في اعتباره|واذ يدرك)"
    r"|(?:决定|责成|请各成员国|认识到|考虑到)"
    r"|[“”«»„「」\"]",
    re.IGNORECASE,
)


def normalize_for_shingles(text: str) -> str:
    """Case-, width- and Arabic-spelling-folded text, for shingling."""
    return normalize_arabic(nfkc(text or "").casefold())


_LETTER_RE = re.compile(r"[^\W\d_]")


def is_han(text: str, lang: str | None = None) -> bool:
    """Whether ``text`` is shingled by characters (Chinese or Japanese: no spaces)."""
    if lang in ("zh", "ja"):
        return True
    # Other languages are checked by script too: a Chinese paragraph inside an English
    # response must still be shingled by characters.
    head = text[:2000]
    han = len(_HAN_RE.findall(head))
    return han > 0 and han >= 0.3 * len(_LETTER_RE.findall(head))


def _crc(tokens: Sequence[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(t.encode("utf-8")) for t in tokens), dtype=np.uint64, count=len(tokens))


def shingle_hashes(text: str, *, lang: str | None = None, word_n: int = 2, char_n: int = 3) -> np.ndarray:
    """The sorted unique 32-bit hashes of a text's shingles.

    Words bigrams by default; Chinese (no spaces between words) gets character trigrams
    of its Han characters, other words in it (Latin acronyms, numbers) as words.
    """
    return passage_features(text, lang=lang, word_n=word_n, char_n=char_n)[1]


def passage_features(text: str, *, lang: str | None = None, word_n: int = 2, char_n: int = 3
                     ) -> tuple[int, np.ndarray]:
    """The word count (two Han characters count as one word) and the shingle hashes."""
    norm = normalize_for_shingles(text)
    if is_han(norm, lang):
        han = "".join(_HAN_RE.findall(norm))
        grams = [han[i:i + char_n] for i in range(max(0, len(han) - char_n + 1))]
        words = _WORD_RE.findall(_HAN_RE.sub(" ", norm))
        tokens = grams + [" ".join(words[i:i + word_n]) for i in range(max(0, len(words) - word_n + 1))]
        n_words = len(han) // 2 + len(words)
    else:
        words = _WORD_RE.findall(norm)
        n_words = len(words)
        if len(words) < word_n:
            tokens = [" ".join(words)] if words else []
        else:
            tokens = [" ".join(words[i:i + word_n]) for i in range(len(words) - word_n + 1)]
    if not tokens:
        return n_words, np.zeros(0, dtype=np.uint64)
    return n_words, np.unique(_crc(tokens))


def word_count(text: str, *, lang: str | None = None) -> int:
    """Words of a text; a Chinese text counts one word per two Han characters."""
    return passage_features(text, lang=lang)[0]


@dataclass(frozen=True)
class Permutations:
    """Seeded hash permutations ``h -> (a * h + b) mod 2^64 >> 32`` with odd ``a``
    (multiply-shift universal hashing of the 32-bit shingle hashes; no modulo, so
    numpy computes it fast)."""

    a: np.ndarray
    b: np.ndarray
    seed: int

    @classmethod
    def make(cls, num_perm: int, seed: int) -> Permutations:
        gen = np.random.RandomState(seed)
        a = gen.randint(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        b = gen.randint(0, 1 << 63, size=num_perm, dtype=np.uint64)
        return cls(a, b, seed)


def signatures(sets: Sequence[np.ndarray], perms: Permutations, *, chunk: int = 40_000) -> np.ndarray:
    """MinHash signatures (one row per set) of shingle-hash sets, vectorised in chunks.

    An empty set gets the all-max signature, which matches nothing.
    """
    k = len(perms.a)
    out = np.full((len(sets), k), _MAX32, dtype=np.uint64)
    shift = np.uint64(32)
    i = 0
    while i < len(sets):
        j, total = i, 0
        while j < len(sets) and (total == 0 or total + len(sets[j]) <= chunk):
            total += len(sets[j])
            j += 1
        lengths = np.array([len(s) for s in sets[i:j]])
        nonempty = np.flatnonzero(lengths)
        if len(nonempty):
            flat = np.concatenate([sets[i + int(t)] for t in nonempty])
            with np.errstate(over="ignore"):
                phv = (flat[:, None] * perms.a[None, :] + perms.b[None, :]) >> shift
            starts = np.concatenate([[0], np.cumsum(lengths[nonempty])[:-1]])
            out[i + nonempty] = np.minimum.reduceat(phv, starts, axis=0)
        i = j
    return out


def sketch(texts: Sequence[str], langs: Sequence[str | None], *, num_perm: int, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Word counts and MinHash signatures of texts."""
    feats = [passage_features(t, lang=lang) for t, lang in zip(texts, langs, strict=True)]
    counts = np.array([n for n, _ in feats], dtype=np.int64)
    return counts, signatures([h for _, h in feats], Permutations.make(num_perm, seed))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def confirm_pairs(pairs: list[tuple[int, int, float]], texts: Sequence[str], langs: Sequence[str | None], *,
                  threshold: float, margin: float) -> list[tuple[int, int, float]]:
    """Keep the pairs at or above ``threshold``: estimates within ``margin`` of it are
    replaced by the exact Jaccard similarity (MinHash estimates have a spread of a few
    points, which would otherwise drop or add pairs near the threshold at random)."""
    cache: dict[int, np.ndarray] = {}

    def hashes(i: int) -> np.ndarray:
        if i not in cache:
            cache[i] = shingle_hashes(texts[i], lang=langs[i])
        return cache[i]

    out = []
    for i, j, est in pairs:
        sim = est if est >= threshold + margin else jaccard(hashes(i), hashes(j))
        if sim >= threshold:
            out.append((i, j, sim))
    return out


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band that datasketch's ``MinHashLSH`` picks for a threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


@functools.lru_cache(maxsize=256)
def _triu(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of a bucket of ``size`` members (the same few sizes recur)."""
    return np.triu_indices(size, 1)


def _band_keys(block: np.ndarray) -> np.ndarray:
    """One 64-bit key per row of a band (rows equal on the band get equal keys).

    Sorting 64-bit integers is many times faster than sorting the rows as byte strings.
    Two different rows may share a key (odds about 2^-64 per pair); that only adds a
    candidate, which is then checked on its signatures like every other.
    """
    key = np.zeros(block.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in range(block.shape[1]):
            key = (key ^ block[:, col]) * np.uint64(0x100000001B3) + np.uint64(0x9E3779B97F4A7C15)
    return key


def candidate_pairs(sigs: np.ndarray, *, threshold: float, groups: Sequence[object] | None = None,
                    max_bucket: int = 64, margin: float = 0.0) -> list[tuple[int, int, float]]:
    """Pairs of rows whose estimated Jaccard similarity is at least ``threshold``.

    Banding (LSH) as in datasketch, with its choice of bands and rows for a somewhat lower
    threshold, done on the whole signature matrix with numpy: rows that agree on all
    rows of one band are candidates. A bucket larger than ``max_bucket`` (a big campaign)
    is linked as a chain of neighbours, not as all pairs. Each candidate is then checked
    on its signature estimate.

    Args:
        sigs: MinHash signatures, one row per item.
        threshold: the Jaccard similarity to reach.
        groups: optional group of each row (e.g. its document); pairs within one group
            are skipped.
        max_bucket: bucket size above which only neighbours are paired.
        margin: also return pairs whose estimate is this much below the threshold (for
            ``confirm_pairs``).

    Returns:
        ``(i, j, similarity)`` with ``i < j``, sorted.
    """
    n, k = sigs.shape
    if n < 2:
        return []
    bands, rows = lsh_params(max(0.1, threshold * 0.7), k)
    valid = ~np.all(sigs == _MAX32, axis=1)
    found: list[np.ndarray] = []
    for band in range(bands):
        keys = _band_keys(sigs[:, band * rows:(band + 1) * rows])
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(counts[inverse] > 1)
        shared = shared[valid[shared]]
        if len(shared) < 2:
            continue
        order = shared[np.argsort(inverse[shared], kind="stable")]
        bucket_of = inverse[order]
        cuts = np.flatnonzero(np.diff(bucket_of)) + 1
        for members in np.split(order, cuts):
            if len(members) < 2:
                continue
            if len(members) <= max_bucket:
                ii, jj = _triu(len(members))
                found.append(np.stack([members[ii], members[jj]], axis=1))
            else:
                found.append(np.stack([members[:-1], members[1:]], axis=1))
    if not found:
        return []
    both = np.sort(np.concatenate(found), axis=1).astype(np.int64)
    # One integer per pair (i * n + j keeps the (i, j) order): a 1-D unique is far faster
    # than a row-wise one over millions of candidate pairs.
    codes = np.sort(both[:, 0] * n + both[:, 1])
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    pairs = np.stack([codes // n, codes % n], axis=1)
    if groups is not None:
        g = np.asarray(groups, dtype=object)
        pairs = pairs[g[pairs[:, 0]] != g[pairs[:, 1]]]
    out: list[tuple[int, int, float]] = []
    for start in range(0, len(pairs), 20_000):
        part = pairs[start:start + 20_000]
        sims = np.mean(sigs[part[:, 0]] == sigs[part[:, 1]], axis=1)
        keep = sims >= threshold - margin
        out.extend((int(i), int(j), float(sv)) for (i, j), sv in zip(part[keep], sims[keep], strict=True))
    out.sort()
    return out


class UnionFind:
    """Union-find over 0..n-1 whose roots are the smallest members (order-independent)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return [g for g in out.values() if len(g) > 1]


def cluster_id(kind: str, members: Sequence[str]) -> str:
    """A stable cluster id from its sorted member keys."""
    digest = hashlib.sha1("\n".join(sorted(members)).encode("utf-8")).hexdigest()[:10]
    return f"reuse:{kind}-{digest}"


@functools.lru_cache(maxsize=2)
def guiding_questions(themes_dir: Path = THEMES_DIR) -> tuple[str, ...]:
    """Every ``questions`` entry of every theme file under ``themes_dir``."""
    out: list[str] = []
    if not themes_dir.is_dir():
        return ()
    for path in sorted(themes_dir.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            logger.warning("cannot read theme file %s (%s); its questions are not used", path, exc)
            continue
        qs = data.get("questions") if isinstance(data, dict) else None
        if isinstance(qs, list):
            out.extend(str(q) for q in qs if q)
        elif isinstance(qs, dict):
            for v in qs.values():
                out.extend(str(q) for q in (v if isinstance(v, list) else [v]) if q)
    return tuple(out)


def is_quotation(text: str, *, questions: Sequence[np.ndarray], min_containment: float = 0.5) -> str | None:
    """Why a shared passage is a quotation, or None when it is not one.

    Args:
        text: the passage.
        questions: shingle-hash sets of the guiding questions.
        min_containment: the share of a question's shingles the passage must hold.
    """
    hashes = shingle_hashes(text)
    for q in questions:
        if len(q) and len(np.intersect1d(q, hashes, assume_unique=True)) / len(q) >= min_containment:
            return "guiding question"
    folded = normalize_for_shingles(text)
    if _RES_REF.search(folded) and _RES_OPERATIVE.search(folded):
        return "resolution text"
    return None
