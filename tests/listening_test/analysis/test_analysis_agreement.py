import numpy as np
import pandas as pd
import pytest

from listening_test.analysis import agreement

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 4 observers x 12 units
# with missing values; published alpha: nominal 0.743, ordinal 0.815, interval 0.849.
TEXTBOOK = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])


def _long(matrix: np.ndarray) -> pd.DataFrame:
    rows = [{"rater": f"obs{r}", "unit": f"u{u:02d}", "value": v}
            for (r, u), v in np.ndenumerate(matrix) if not np.isnan(v)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815)])
def test_alpha_reproduces_krippendorffs_textbook_example(level, published):
    alpha, units, raters = agreement.alpha_from_long(_long(TEXTBOOK), level)
    # unit 12 has a single value: not pairable, left out (it does not change alpha)
    assert alpha == pytest.approx(published, abs=5e-4) and (units, raters) == (11, 4)


def test_alpha_is_nan_without_two_distinct_values():
    values = pd.DataFrame({"rater": ["a", "b"], "unit": ["u", "u"], "value": [3.0, 3.0]})
    assert np.isnan(agreement.alpha_from_long(values, "ordinal")[0])


def test_agreement_on_a_study_covers_every_attribute_and_preference(sim_valid):
    measures = [a.measure for a in agreement.rating_agreement(sim_valid)]
    measures.append(agreement.preference_agreement(sim_valid).measure)
    assert measures == ["rhythm", "harmony", "coherence", "preference"]
