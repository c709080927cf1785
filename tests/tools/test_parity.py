import warnings

import numpy as np
import pytest

from hafm.frechet import FewFramesWarning, frechet_distance, gaussian_stats
from tools.parity import CASES, exact_distance, make_embeddings, markdown, sqrtm_distance


@pytest.mark.parametrize("case", CASES)
def test_ours_matches_the_exact_frame_based_value(case):
    ref, ev = make_embeddings(32, case, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewFramesWarning)  # the singular case has n < d on purpose
        ours = frechet_distance(*gaussian_stats(ref), *gaussian_stats(ev))
    assert ours == pytest.approx(exact_distance(ref, ev), rel=1e-9)


def test_sqrtm_route_matches_on_a_well_conditioned_case():
    ref, ev = make_embeddings(32, "well", seed=2)
    stats = (*gaussian_stats(ref), *gaussian_stats(ev))
    assert sqrtm_distance(*stats) == pytest.approx(frechet_distance(*stats), rel=1e-9)


def test_ill_conditioned_cases_reach_their_condition_numbers():
    ref, _ = make_embeddings(64, "extreme", seed=3)
    w = np.linalg.eigvalsh(np.cov(ref, rowvar=False))
    assert w[-1] / w[0] > 1e7


def test_report_states_pass_or_fail():
    row = {"d": 8, "case": "well", "n_frames": 80, "cond_sigma1": 10.0, "exact": 1.0, "gated_error": 2e-9,
           **{k: 0.0 for k in ("rel_err_vs_sqrtm", "rel_err_vs_package", "rel_err_song_stats_vs_package",
                              "rel_err_vs_exact", "rel_err_song_stats_vs_exact", "rel_err_sqrtm_vs_exact",
                              "rel_err_package_vs_exact")}}
    meta = {"package_route": "x", "numpy": "1", "scipy": "1", "python": "3", "machine": "m", "date": "d"}
    assert markdown([row], meta).splitlines()[2].startswith("FAIL")
