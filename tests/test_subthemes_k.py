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


def test_default_takes_the_most_stable_k() -> None:
    from pipeline.config import ThemesConfig

    # Two seeds' curves of one small theme (sample connectivity): flat and low, so with
    # a relative tolerance of 0.25 the largest "tied" k went from 2 to 8 between seeds.
    # The most stable k is 2 on both.
    tol = ThemesConfig().stability_tolerance
    assert tol == 0.0
    seed42 = {2: 0.725, 3: 0.639, 4: 0.654, 5: 0.547, 6: 0.48, 7: 0.566, 8: 0.604}
    seed43 = {2: 0.696, 3: 0.643, 4: 0.637, 5: 0.555, 6: 0.481, 7: 0.576, 8: 0.626}
    assert choose_k(seed42, min_stability=0.7, tolerance=0.25)[0] == 2
    assert choose_k(seed43, min_stability=0.7, tolerance=0.25)[0] == 8
    assert choose_k(seed42, min_stability=0.7, tolerance=tol)[0] == 2
    assert choose_k(seed43, min_stability=0.7, tolerance=tol)[0] == 2
