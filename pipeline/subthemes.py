"""Unsupervised sub-themes: NMF over language-aware features, k chosen by stability.

Features of a segment are two L2-normalised TF-IDF blocks side by side: its seed
concepts (language-neutral ids, so a French and a Chinese paragraph on the same point
share features) and its own words (language-tagged stems or jieba words). The number of
sub-themes is the k whose NMF fits on resampled segments best reproduce the partition
fitted on all of them (mean adjusted Rand index; with ``themes.stability_tolerance``
above 0, the largest k within that tolerance of the best); when even the best is far
below ``min_stability``, one sub-theme (``choose_k``). The curve and the reason are
reported with the sub-themes. Stability runs refit NMF (from the SVD) on random
subsamples drawn from ``base.seed``; the final fit uses all segments and the same SVD
start, so another seed changes the output only if it changes the chosen k.

A theme of more than ``max_rows`` segments measures its curve on a sample of whole
documents drawn by content, not by seed (``content_sample``): a document is in when a
hash of its id falls below a rate of 2 ** (-j / 4) (the largest that expects at most
``max_rows`` segments). Every seed measures the same sample, and adding a response
changes it only when the new document hashes below the rate, so the themes stage can
keep the curve between runs. ``cluster`` takes such a curve (``stability_curve``)
measured elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
    from sklearn.decomposition import NMF

from pipeline.textutil import dominant_script
from pipeline.tokenize import fold_text, stop_words

logger = logging.getLogger(__name__)

_LANG_SCRIPT = {"ar": "Arabic", "zh": "Han", "ru": "Cyrillic"}


@dataclass(frozen=True)
class Partition:
    """The result of clustering one set of segments."""

    labels: np.ndarray  # cluster per row, 0..k-1 ordered by size (largest first)
    weights: np.ndarray  # row's weight on its own cluster
    k: int
    stability: float  # mean ARI of resampled fits vs the full fit at k (1.0 if k == 1)
    stability_by_k: dict[int, float]
    components: np.ndarray | None = None  # k x features loadings, rows in label order
    reason: str = ""  # why this k (see ``choose_k``)



def preload_models() -> None:
    """Import the scikit-learn parts this module fits with. Imported on first use (a
    second, most of it scipy.stats): a process that only scores themes never pays for
    it, and workers started ahead (``pipeline.parallel.warm_pool``) pay while their
    parent works."""
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.metrics  # noqa: F401

def _identity(x: list[str]) -> list[str]:
    return x


def build_features(
    docs_tokens: Sequence[list[str]],
    docs_concepts: Sequence[list[str]] | None,
    *,
    concept_weight: float,
    min_df: int = 2,
) -> tuple[sp.csr_matrix, list[str], int]:
    """Stack concept and word TF-IDF blocks.

    Returns:
        (matrix, feature names, number of concept columns at the front).
    """
    import scipy.sparse as sp  # here, like scikit-learn: the scoring process never needs it
    from sklearn.feature_extraction.text import TfidfVectorizer

    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    n_concepts = 0
    if docs_concepts is not None and concept_weight > 0 and any(docs_concepts):
        cv = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2", min_df=1)
        xc = cv.fit_transform(docs_concepts)
        blocks.append(xc * concept_weight)
        names += [f"@{n}" for n in cv.get_feature_names_out()]
        n_concepts = xc.shape[1]
    md = min_df if len(docs_tokens) >= 4 * min_df else 1
    tv = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2", min_df=md)
    try:
        xt = tv.fit_transform(docs_tokens)
        blocks.append(xt * (1.0 - concept_weight if n_concepts else 1.0))
        names += list(tv.get_feature_names_out())
    except ValueError:  # no token survives min_df
        if not blocks:
            return sp.csr_matrix((len(docs_tokens), 0)), [], 0
    return sp.hstack(blocks, format="csr"), names, n_concepts


def _fit(x: sp.csr_matrix, k: int, seed: int) -> NMF:
    """NMF started from the SVD (NNDSVDA).

    The SVD is sklearn's randomized one: ``seed`` must be given, or the result would
    depend on NumPy's global random state (and differ between processes).
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500, tol=1e-4)
    with warnings.catch_warnings():
        # A fit that stops at max_iter is still a usable partition; stay quiet.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Identical rows make sklearn's error estimate take sqrt of a tiny negative.
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x)
    return model


def _assign(model: NMF, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    w = model.transform(x)
    return w.argmax(axis=1), w


def stability(
    x: sp.csr_matrix, k: int, *, seed: int, runs: int, sample: float, max_rows: int
) -> float:
    """How well k-partitions fitted on random subsamples (drawn from ``seed``) reproduce
    the partition fitted on all the evaluation rows: their mean ARI against it.

    Comparing each subsample fit with the one partition that would be reported (rather
    than the fits with each other) measures what a reader cares about, and depends much
    less on which subsamples the seed happened to draw. Every fit labels the same
    evaluation rows (all rows up to ``max_rows``). A small theme gets more than ``runs``
    fits (``small_theme_runs``).
    """
    if k <= 1:
        return 1.0
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(seed)
    n = x.shape[0]
    runs = small_theme_runs(runs, n, max_rows)
    eval_rows = np.sort(rng.choice(n, size=min(n, max_rows), replace=False))
    xe = x[eval_rows]
    reference = _assign(_fit(xe, k, seed), xe)[0]
    scores = []
    for r in range(runs):
        # Each run's stream derives from (seed, k, run): seeds 42 and 43 share no
        # resample (``seed + r`` made neighbouring seeds reuse most of them, which
        # flattered the ARI between seeds).
        ss = np.random.SeedSequence([seed, k, r])
        rr = np.random.default_rng(ss)
        fit_rows = np.sort(rr.choice(n, size=max(k + 1, int(round(sample * n))), replace=False))
        if len(fit_rows) > max_rows:
            fit_rows = np.sort(rr.choice(fit_rows, size=max_rows, replace=False))
        model = _fit(x[fit_rows], k, int(ss.generate_state(1)[0]))
        scores.append(adjusted_rand_score(reference, _assign(model, xe)[0]))
    return float(np.mean(scores)) if scores else 1.0


def small_theme_runs(runs: int, n: int, max_rows: int, *, most: int = 5) -> int:
    """Resampled fits per k for a theme of ``n`` segments: ``runs``, and more for a theme
    of fewer than ``max_rows / 2`` (in proportion, at most ``most`` times as many).

    A small theme's mean ARI is the noisiest (few rows, flat curves) while its fits are
    the cheapest: with ``runs`` fits, k flipped between seeds on themes of 40 to 130
    segments. Its fits then cost about what ``runs`` fits of ``max_rows / 2`` rows do;
    larger themes, and the content samples of the largest, keep ``runs``.
    """
    half = max_rows // 2
    if n <= 0 or n >= half:
        return runs
    return min(runs * most, max(runs, -(-runs * half // n)))


def choose_k(by_k: dict[int, float], *, min_stability: float, tolerance: float) -> tuple[int, str]:
    """The number of sub-themes from a stability curve, and why (a sentence for the report).

    The most reproducible k wins; k values whose instability (1 - stability) is at most
    ``1 + tolerance`` times the best one's count as tied, and the largest of them is taken
    (more detail at no loss of reproducibility). The tie is relative because the noise of
    a mean ARI shrinks as it nears 1: 0.97 is clearly worse than 1.0, 0.75 is not clearly
    worse than 0.76. When even the best k is far below ``min_stability`` (by more than
    0.2), no split reproduces at all and the theme stays one group (k = 1).
    """
    if not by_k:
        return 1, "too few segments to split (k = 1)"
    best = max(by_k.values())
    if best < min_stability - 0.2:
        return 1, (
            f"no k reproduces (best stability {best:.3f} < {min_stability - 0.2:.2f}): one group"
        )
    tied = [k for k, v in by_k.items() if 1.0 - v <= (1.0 + tolerance) * (1.0 - best) + 1e-9]
    k = max(tied)
    best_k = min(kk for kk, v in by_k.items() if v == best)
    why = f"k={k}: stability {by_k[k]:.3f}"
    if k != best_k:
        why += f", tied with the best ({by_k[best_k]:.3f} at k={best_k}; relative tolerance {tolerance:g})"
    else:
        why += " is the highest"
    others = [kk for kk in by_k if kk > k]
    if others:
        why += f"; larger k reproduce less (at most {max(by_k[kk] for kk in others):.3f})"
    if by_k[k] < min_stability:
        why += f"; below the {min_stability:g} target, read its sub-themes with care"
    return k, why


def document_hash(doc_id: str) -> float:
    """A document's place in [0, 1) for ``content_sample``: a hash of its id alone (no
    seed), the same in every process and on every machine."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8, person=b"tm-stab").digest()
    return int.from_bytes(digest, "big") / 2.0**64


def sample_rate(n: int, max_rows: int) -> float:
    """``2 ** (-j / 4)`` for the smallest ``j >= 0`` with ``n * 2 ** (-j / 4) <= max_rows``.

    Quantised so that the rate (and with it the sample) stays put while a theme grows by
    a few responses; it steps down only when the theme grows by a fifth (2 ** 0.25).
    Quarter-octave steps rather than halvings keep the sample between 84% and 100% of
    ``max_rows`` expected rows: with halvings it fell to half of it for some themes, and
    the chosen k varied more between seeds (measured on 1,000 generated responses).
    """
    j = 0
    while n * 2.0 ** (-j / 4) > max_rows:
        j += 1
    return 2.0 ** (-j / 4)


def content_sample(doc_ids: Sequence[str], *, max_rows: int) -> list[int]:
    """The rows (positions in ``doc_ids``, one per segment) whose stability curve chooses k.

    All rows when there are at most ``max_rows``. Otherwise the rows of the documents
    whose ``document_hash`` is below ``sample_rate(len(doc_ids), max_rows)``; should
    those overshoot ``max_rows``, rows are kept in hash order (then document id, then
    position) up to ``max_rows``, so the last document may be cut. The seed plays no
    part: every seed measures the same rows.

    Returns:
        Sorted positions.
    """
    n = len(doc_ids)
    if n <= max_rows:
        return list(range(n))
    rate = sample_rate(n, max_rows)
    where = {d: document_hash(d) for d in set(doc_ids)}
    rows = [i for i, d in enumerate(doc_ids) if where[d] < rate]
    if len(rows) > max_rows:
        rows = sorted(sorted(rows, key=lambda i: (where[doc_ids[i]], doc_ids[i], i))[:max_rows])
    return rows


def _max_k(x: sp.csr_matrix, *, max_k: int, min_size: int) -> int:
    """The largest k worth trying: clusters must be able to hold ``min_size`` rows."""
    if x.shape[1] < 2:
        return 1
    nonempty = np.asarray(x.getnnz(axis=1)).ravel() > 0
    return min(max_k, int(nonempty.sum()) // max(min_size, 1))


def stability_curve(
    x: sp.csr_matrix,
    *,
    max_k: int,
    seed: int,
    min_size: int,
    runs: int,
    sample: float,
    max_rows: int,
) -> dict[int, float]:
    """``stability`` of every k from 2 to the largest worth trying on ``x`` (empty if none)."""
    upper = _max_k(x, max_k=max_k, min_size=min_size)
    return {
        k: stability(x, k, seed=seed, runs=runs, sample=sample, max_rows=max_rows)
        for k in range(2, upper + 1)
    }


def cluster(
    x: sp.csr_matrix,
    *,
    max_k: int,
    seed: int,
    min_size: int,
    min_stability: float,
    runs: int,
    sample: float,
    max_rows: int,
    tolerance: float = 0.02,
    by_k: dict[int, float] | None = None,
) -> Partition:
    """Choose k by stability (``choose_k``) and fit the final NMF partition on all rows.

    ``by_k`` is a stability curve measured already (``stability_curve``, on a
    ``content_sample`` of these rows); without it the curve is measured on ``x`` itself.
    """
    n = x.shape[0]
    if _max_k(x, max_k=max_k, min_size=min_size) < 2:
        return Partition(
            np.zeros(n, dtype=int),
            np.ones(n),
            1,
            1.0,
            {1: 1.0},
            reason=f"too few segments to split into groups of {min_size} (k = 1)",
        )
    if by_k is None:
        by_k = stability_curve(
            x, max_k=max_k, seed=seed, min_size=min_size, runs=runs, sample=sample,
            max_rows=max_rows,
        )
    k, why = choose_k(by_k, min_stability=min_stability, tolerance=tolerance)
    if k == 1:
        logger.info("no k is stable (by k: %s): one sub-theme", by_k)
        return Partition(np.zeros(n, dtype=int), np.ones(n), 1, 1.0, by_k, reason=why)
    # The final fit starts from the SVD (NNDSVDA): the seed only drives the randomized
    # SVD, so other seeds give (nearly) the same partition once k is the same.
    model = _fit(x, k, seed)
    raw, w = _assign(model, x)
    # Components are unordered: name clusters by size (then first row) so ids are stable.
    sizes = Counter(raw.tolist())
    first = {c: int(np.argmax(raw == c)) for c in sizes}
    order = sorted(sizes, key=lambda c: (-sizes[c], first[c]))
    remap = {c: i for i, c in enumerate(order)}
    labels = np.array([remap[c] for c in raw], dtype=int)
    weights = w[np.arange(n), raw]
    logger.info(
        "k=%d chosen (stability by k: %s)", len(order), {kk: round(v, 3) for kk, v in by_k.items()}
    )
    components = model.components_[order]
    if len(order) < k:
        why += f"; {k - len(order)} component(s) won no segment, {len(order)} remain"
    return Partition(labels, weights, len(order), by_k.get(k, 1.0), by_k, components, why)


def readable(surface: str, lang: str) -> bool:
    """A label word fits its language's script (no Latin words for ar/zh/ru segments)."""
    want = _LANG_SCRIPT.get(lang)
    if want is None:
        return any(ch.isalpha() for ch in surface)
    return dominant_script(surface) == want


def label_word(surface: str, lang: str) -> bool:
    """A word may label a sub-theme: in its language's script, long enough to mean
    something (two Han characters, three letters elsewhere: no "wi" and "fi" from
    "Wi-Fi"), mostly letters, and not a stop word of the language."""
    if not readable(surface, lang):
        return False
    letters = sum(ch.isalpha() for ch in surface)
    if letters < (2 if lang == "zh" else 3) or letters < 0.5 * len(surface):
        return False
    return fold_text(surface, lang) not in stop_words(lang)


def top_terms(
    rows: np.ndarray,
    others: np.ndarray,
    tokens: Sequence[list[str]],
    surfaces: Sequence[Counter[str]] | Sequence[dict[str, Counter[str]]],
    lang: str,
    *,
    n_terms: int,
) -> list[str]:
    """Words that set ``rows`` apart from ``others`` (same language), as most-used surface forms.

    Args:
        rows: indices of the cluster's segments in this language.
        others: indices of the other segments of the theme in this language.
        tokens: keys per segment.
        surfaces: per segment, key -> Counter of surface forms.
        lang: the language (decides which scripts a label may use).
        n_terms: how many words.
    """
    inside: Counter[str] = Counter()
    for i in rows:
        inside.update(set(tokens[i]))
    outside: Counter[str] = Counter()
    for i in others:
        outside.update(set(tokens[i]))
    n_in, n_out = max(len(rows), 1), max(len(others), 1)
    scored = []
    for key, c in inside.items():
        share_in = c / n_in
        share_out = outside.get(key, 0) / n_out
        # Frequent inside, rarer outside; a word seen once in a big cluster is not a label.
        if c < 2 and n_in > 3:
            continue
        scored.append((share_in * (share_in - share_out + 0.05), c, key))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2]))
    # The written forms of every key, gathered in one pass over the rows (a segment's
    # surfaces may be built on each access).
    forms_of: dict[str, Counter[str]] = defaultdict(Counter)
    for i in rows:
        for key, c in surfaces[i].items():  # type: ignore[union-attr]
            forms_of[key].update(c)
    out: list[str] = []
    for _, _, key in scored:
        forms = forms_of.get(key)
        if not forms:
            continue
        word = min(forms.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if label_word(word, lang) and word not in out:
            out.append(word)
        if len(out) >= n_terms:
            break
    return out
