"""Text reuse: near-duplicate responses and shared passages, by MinHash and LSH.

Each text becomes a set of shingles (word bigrams; character trigrams for Chinese, which
is written without spaces), hashed with crc32 so that the same text gives the same
shingles on any machine. A MinHash signature (``num_perm`` seeded multiply-shift
permutations, vectorised with numpy) estimates the Jaccard similarity of two sets;
locality-sensitive hashing (banding, with the bands and rows datasketch's ``MinHashLSH``
chooses for the threshold, applied to the whole signature matrix at once) finds the
candidate pairs without comparing all pairs, and each candidate is checked on its
signature estimate (and, near the threshold, on its exact shingle sets). Pairs are
grouped into clusters (connected components). Candidates, estimates and clusters are
computed on numpy arrays, so a run over tens of thousands of paragraphs spends its time
only on the pairs that need an exact check, and those can come from a cache
(``exact`` in :func:`confirm_arrays`).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from pipeline.textutil import HAN, nfkc, normalize_arabic
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)

THEMES_DIR = Path(__file__).parent / "data" / "themes"
# libyaml's safe loader reads the theme files ten times faster than the pure-Python one.
_MAX32 = np.uint64(0xFFFFFFFF)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

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
    han = len(HAN.findall(head))
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
        han = "".join(HAN.findall(norm))
        grams = [han[i:i + char_n] for i in range(max(0, len(han) - char_n + 1))]
        words = _WORD_RE.findall(HAN.sub(" ", norm))
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


def confirm_arrays(i: np.ndarray, j: np.ndarray, est: np.ndarray, *, threshold: float, margin: float,
                   exact: Callable[[np.ndarray, np.ndarray], np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the pairs at or above ``threshold``: estimates within ``margin`` of it are
    replaced by the exact Jaccard similarity (MinHash estimates have a spread of a few
    points, which would otherwise drop or add pairs near the threshold at random).

    Args:
        i, j, est: candidate pairs and their estimates (:func:`candidate_arrays`).
        threshold: the similarity to reach.
        margin: estimates below ``threshold + margin`` are checked exactly.
        exact: the exact similarities of the pairs ``(i[k], j[k])`` it is given.

    Returns:
        The kept ``i``, ``j`` and their similarities (exact where checked).
    """
    sim = np.asarray(est, dtype=np.float64).copy()
    near = np.flatnonzero(sim < threshold + margin)
    if len(near):
        sim[near] = exact(i[near], j[near])
    keep = sim >= threshold
    return i[keep], j[keep], sim[keep]


def exact_by_hashes(texts: Sequence[str], langs: Sequence[str | None]
                    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """An ``exact`` for :func:`confirm_arrays`: shingles each text once, when first asked."""
    cache: dict[int, np.ndarray] = {}

    def hashes(k: int) -> np.ndarray:
        if k not in cache:
            cache[k] = shingle_hashes(texts[k], lang=langs[k])
        return cache[k]

    def exact(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.array([jaccard(hashes(int(a)), hashes(int(b))) for a, b in zip(i, j, strict=True)],
                        dtype=np.float64)

    return exact


def confirm_pairs(pairs: list[tuple[int, int, float]], texts: Sequence[str], langs: Sequence[str | None], *,
                  threshold: float, margin: float) -> list[tuple[int, int, float]]:
    """:func:`confirm_arrays` on a list of ``(i, j, estimate)``, with the exact
    similarities computed from ``texts``."""
    if not pairs:
        return []
    i, j, est = (np.array(col) for col in zip(*pairs, strict=True))
    ki, kj, sim = confirm_arrays(i.astype(np.int64), j.astype(np.int64), est, threshold=threshold, margin=margin,
                                 exact=exact_by_hashes(texts, langs))
    return [(int(a), int(b), float(v)) for a, b, v in zip(ki, kj, sim, strict=True)]


@functools.lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band that datasketch's ``MinHashLSH`` picks for a threshold.

    The same optimisation as datasketch's ``_optimal_param`` (equal weights of false
    positives and false negatives, the first minimum over bands then rows), without
    importing datasketch and scipy (a third of a second per process): the integrands are
    polynomials of degree at most ``num_perm``, which Gauss-Legendre quadrature with
    ``num_perm // 2 + 2`` nodes integrates exactly. A test checks the choice against
    datasketch's over a grid of thresholds and sizes.
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)
    combos = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    b = np.array([c[0] for c in combos], dtype=np.float64)[:, None]
    r = np.array([c[1] for c in combos], dtype=np.float64)[:, None]
    below = (nodes + 1.0) * threshold / 2.0  # nodes mapped onto [0, threshold]
    above = threshold + (nodes + 1.0) * (1.0 - threshold) / 2.0  # ... onto [threshold, 1]
    false_pos = ((1.0 - (1.0 - below[None, :] ** r) ** b) * (weights * threshold / 2.0)).sum(axis=1)
    false_neg = (((1.0 - above[None, :] ** r) ** b) * (weights * (1.0 - threshold) / 2.0)).sum(axis=1)
    best = int(np.argmin(0.5 * false_pos + 0.5 * false_neg))
    return combos[best]


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


def _bucket_pairs(order: np.ndarray, bucket_of: np.ndarray, max_bucket: int, n_rows: int) -> np.ndarray:
    """Pairs within buckets, each as one code ``i * n_rows + j`` (``i < j``): ``order``
    lists the members of each bucket together, in ascending row order (``bucket_of``
    gives each one's bucket). A bucket of at most ``max_bucket`` members gives all its
    pairs, a larger one the chain of neighbours."""
    n = len(order)
    starts = np.flatnonzero(np.concatenate(([True], bucket_of[1:] != bucket_of[:-1])))
    sizes = np.diff(np.concatenate((starts, [n])))
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(n) - np.repeat(starts, sizes)
    # How many later members of its bucket each member is paired with.
    later = np.where(size_of <= max_bucket, size_of - 1 - pos, (pos < size_of - 1).astype(np.int64))
    total = int(later.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    left = np.repeat(np.arange(n), later)
    step = np.arange(total) - np.repeat(np.cumsum(later) - later, later)
    return order[left].astype(np.int64) * n_rows + order[left + 1 + step]


def _row_tags(n: int) -> np.ndarray:
    """Fixed random 62-bit tags of rows 0..n-1, for bucket fingerprints."""
    return np.random.RandomState(0x5EED).randint(0, 1 << 62, size=n, dtype=np.int64)


def _drop_repeated_buckets(order: np.ndarray, bucket_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first of buckets with exactly the same members (``order``: members grouped
    by bucket, ascending; ``bucket_of``: each member's bucket, grouped in ascending order).

    Similar paragraphs fall into the same bucket in most bands, and every copy of a
    bucket gives the same pairs again: dropping the copies before the pairs are spelled
    out saves most of the work. Buckets are matched on a fingerprint (size and a sum of
    random row tags) and then compared member by member, so a fingerprint collision only
    keeps a bucket that could have been dropped.
    """
    starts = np.flatnonzero(np.concatenate(([True], bucket_of[1:] != bucket_of[:-1])))
    sizes = np.diff(np.concatenate((starts, [len(order)])))
    with np.errstate(over="ignore"):
        prints = np.add.reduceat(_row_tags(int(order.max()) + 1)[order], starts)
    # Runs of equal (size, fingerprint); the first bucket of a run stands for the others.
    by_print = np.lexsort((np.arange(len(starts)), prints, sizes))
    same = (sizes[by_print][1:] == sizes[by_print][:-1]) & (prints[by_print][1:] == prints[by_print][:-1])
    if not same.any():
        return order, bucket_of
    run_start = np.maximum.accumulate(np.where(np.concatenate(([True], ~same)), np.arange(len(by_print)), 0))
    dup = by_print[run_start != np.arange(len(by_print))]
    first = by_print[run_start[run_start != np.arange(len(by_print))]]
    # Member-by-member check of each copy against the bucket standing for it.
    dup_sizes = sizes[dup]
    step = np.arange(int(dup_sizes.sum())) - np.repeat(np.cumsum(dup_sizes) - dup_sizes, dup_sizes)
    equal = order[np.repeat(starts[dup], dup_sizes) + step] == order[np.repeat(starts[first], dup_sizes) + step]
    copies = dup[np.logical_and.reduceat(equal, np.concatenate(([0], np.cumsum(dup_sizes)[:-1])))]
    drop = np.zeros(len(starts), dtype=bool)
    drop[copies] = True
    keep = ~np.repeat(drop, sizes)
    return order[keep], bucket_of[keep]


def candidate_arrays(sigs: np.ndarray, *, threshold: float, groups: Sequence[object] | np.ndarray | None = None,
                     max_bucket: int = 64, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows whose estimated Jaccard similarity is at least ``threshold - margin``.

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
            :func:`confirm_arrays`).

    Returns:
        ``i``, ``j`` (int64, ``i < j``, sorted by ``i`` then ``j``) and the estimates.
    """
    none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
    n, k = sigs.shape
    if n < 2:
        return none
    bands, rows = lsh_params(max(0.1, threshold * 0.7), k)
    valid = ~np.all(sigs == _MAX32, axis=1)
    members: list[np.ndarray] = []
    bucket_of: list[np.ndarray] = []
    offset = 0
    for band in range(bands):
        keys = _band_keys(sigs[:, band * rows:(band + 1) * rows])
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(counts[inverse] > 1)
        shared = shared[valid[shared]]
        if len(shared) < 2:
            continue
        order = shared[np.argsort(inverse[shared], kind="stable")]
        members.append(order)
        bucket_of.append(inverse[order] + offset)  # bucket numbers unique across bands
        offset += len(counts)
    if not members:
        return none
    order, buckets = _drop_repeated_buckets(np.concatenate(members), np.concatenate(bucket_of))
    # One integer per pair (i * n + j keeps the (i, j) order): sorting them and dropping
    # repeats is far faster than a row-wise unique over millions of candidate pairs (and
    # ten times faster than np.unique, which hashes them).
    codes = np.sort(_bucket_pairs(order, buckets, max_bucket, n))
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    i, j = codes // n, codes % n
    if groups is not None:
        _, g = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
        apart = g[i] != g[j]
        i, j = i[apart], j[apart]
    # The share of equal signature values; counts divided by k are exactly np.mean's values.
    agree = np.empty(len(i), dtype=np.int64)
    for start in range(0, len(i), 20_000):
        part = slice(start, start + 20_000)
        agree[part] = np.count_nonzero(sigs[i[part]] == sigs[j[part]], axis=1)
    est = agree / k
    keep = est >= threshold - margin
    return i[keep], j[keep], est[keep]


def candidate_pairs(sigs: np.ndarray, *, threshold: float, groups: Sequence[object] | None = None,
                    max_bucket: int = 64, margin: float = 0.0) -> list[tuple[int, int, float]]:
    """:func:`candidate_arrays` as a sorted list of ``(i, j, similarity)``."""
    i, j, est = candidate_arrays(sigs, threshold=threshold, groups=groups, max_bucket=max_bucket, margin=margin)
    return [(int(a), int(b), float(v)) for a, b, v in zip(i, j, est, strict=True)]


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes joined by the edges ``(i[k], j[k])``,
    labelled by its smallest member (so the labels do not depend on the edges' order).

    Min-label propagation with pointer jumping: every label is a member of the same
    component no larger than the node itself, so following labels only goes down.
    """
    label = np.arange(n)
    if not len(i):
        return label
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    while True:
        low = np.minimum(label[i], label[j])
        new = label.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def groups_of(label: np.ndarray) -> list[np.ndarray]:
    """The components of more than one node (from :func:`components`), ordered by their
    smallest member, members ascending: the order :meth:`UnionFind.groups` gives."""
    shared = np.flatnonzero(np.bincount(label, minlength=len(label))[label] > 1)
    order = shared[np.argsort(label[shared], kind="stable")]
    sorted_labels = label[order]
    cuts = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    return np.split(order, cuts) if len(order) else []


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
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
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
