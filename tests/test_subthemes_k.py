"""How the number of sub-themes follows the stability curve (``choose_k``)."""

from __future__ import annotations

from pipeline.subthemes import choose_k


def test_the_most_stable_k_wins_not_the_cap() -> None:
    # Every k clears the 0.7 target (the old rule took the cap, 8); 5 reproduces best.
    curve = {2: 0.77, 3: 0.91, 4: 0.957, 5: 0.977, 6: 0.92, 7: 0.90, 8: 0.918}
    k, why = choose_k(curve, min_stability=0.7, tolerance=0.5)
    assert k == 5
    assert "highest" in why and "0.977" in why


def test_near_ties_go_to_the_larger_k() -> None:
    curve = {2: 0.978, 3: 0.818, 4: 0.97, 5: 0.959, 6: 0.99, 7: 0.986, 8: 0.964}
    k, why = choose_k(curve, min_stability=0.7, tolerance=0.5)
    assert k == 7  # 1 - 0.986 = 0.014 <= 1.5 x 0.010; 8 (0.036) is not tied
    assert "tied with the best (0.990 at k=6" in why


def test_ties_are_relative_to_how_far_the_best_is_from_one() -> None:
    # Regression: with an absolute tolerance of 0.05, a perfect k=2 (1.0) tied with
    # k=3 (0.968) on one seed and not on another, and the partitions differed.
    assert choose_k({2: 1.0, 3: 0.968, 4: 0.626}, min_stability=0.7, tolerance=0.5)[0] == 2
    # Low, noisy curves tie more widely: 0.753 is not clearly worse than 0.764.
    assert choose_k({2: 0.53, 4: 0.764, 8: 0.753}, min_stability=0.7, tolerance=0.5)[0] == 8


def test_no_reproducible_split_gives_one_group() -> None:
    k, why = choose_k({2: 0.31, 3: 0.42}, min_stability=0.7, tolerance=0.5)
    assert k == 1
    assert "one group" in why


def test_a_weak_best_is_flagged() -> None:
    k, why = choose_k({2: 0.55, 3: 0.64}, min_stability=0.7, tolerance=0.5)
    assert k == 3
    assert "with care" in why
