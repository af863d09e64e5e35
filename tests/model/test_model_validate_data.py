"""``radiomix.model._validation.validate_data`` behaves as scikit-learn's function.

The fast path (a DataFrame of numpy numeric columns checked as one array) must give the
same array, the same ``feature_names_in_`` / ``n_features_in_`` and the same warnings and
errors as :func:`sklearn.utils.validation.validate_data`, which is the independent reference.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data as sk_validate_data

from radiomix.model._validation import validate_data


class _Probe(BaseEstimator):
    """A bare estimator to hold what validation records."""


def _both(X: object, y: object = "no_validation", **kw: object) -> tuple[tuple, tuple]:
    ours, ref = _Probe(), _Probe()
    out = [validate_data(ours, X, y, **kw), sk_validate_data(ref, X, y, **kw)]
    return (ours, out[0]), (ref, out[1])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), p=st.integers(1, 9), seed=st.integers(0, 2**16),
       ints=st.booleans(), with_nan=st.booleans(), with_y=st.booleans())
def test_numeric_frames_match_sklearn(n: int, p: int, seed: int, ints: bool, with_nan: bool,
                                      with_y: bool) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"ct.original.stat.f{j}"
                                                           for j in range(p)])
    if ints:  # mixed int and float columns convert as scikit-learn converts them
        frame[frame.columns[0]] = rng.integers(-5, 5, size=n)
    if with_nan:
        frame.iloc[0, p - 1] = np.nan
    y = rng.integers(0, 2, size=n) if with_y else "no_validation"
    kw = {"dtype": np.float64, "ensure_all_finite": "allow-nan"}
    (ours, got), (ref, want) = _both(frame, y, **kw)
    got_x, want_x = (got[0], want[0]) if with_y else (got, want)
    assert got_x.dtype == want_x.dtype
    assert got_x.shape == want_x.shape
    np.testing.assert_array_equal(got_x, want_x)
    if with_y:
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(ours.feature_names_in_, ref.feature_names_in_)
    assert ours.n_features_in_ == ref.n_features_in_ == p


def test_nan_refused_as_sklearn_refuses() -> None:
    frame = pd.DataFrame({"a.b.c.d": [1.0, np.nan], "a.b.c.e": [0.0, 1.0]})
    with pytest.raises(ValueError, match="NaN") as ref:
        sk_validate_data(_Probe(), frame, dtype=np.float64)
    with pytest.raises(ValueError, match="NaN") as ours:
        validate_data(_Probe(), frame, dtype=np.float64)
    assert str(ours.value) == str(ref.value)


def test_predict_time_checks_match_sklearn() -> None:
    fit = pd.DataFrame({"x1": [1.0, 2.0, 3.0], "x2": [0.0, 1.0, 0.0]})
    ours, ref = _Probe(), _Probe()
    validate_data(ours, fit)
    sk_validate_data(ref, fit)
    swapped = fit[["x2", "x1"]]
    with pytest.raises(ValueError) as a:  # noqa: PT011  # message compared below
        validate_data(ours, swapped, reset=False)
    with pytest.raises(ValueError) as b:  # noqa: PT011  # message compared below
        sk_validate_data(ref, swapped, reset=False)
    assert str(a.value) == str(b.value)
    narrower = fit[["x1"]].rename(columns={"x1": "x1"})
    with pytest.raises(ValueError) as a:  # noqa: PT011  # message compared below
        validate_data(ours, narrower, reset=False)
    with pytest.raises(ValueError) as b:  # noqa: PT011  # message compared below
        sk_validate_data(ref, narrower, reset=False)
    assert str(a.value) == str(b.value)
    with warnings.catch_warnings(record=True) as w_ours:
        warnings.simplefilter("always")
        validate_data(ours, fit.to_numpy(), reset=False)
    with warnings.catch_warnings(record=True) as w_ref:
        warnings.simplefilter("always")
        sk_validate_data(ref, fit.to_numpy(), reset=False)
    assert [str(w.message) for w in w_ours] == [str(w.message) for w in w_ref]
    assert w_ref, "scikit-learn warns about an array after a fit on names"


def test_other_frames_go_to_sklearn_unchanged() -> None:
    text = pd.DataFrame({"a": ["1.5", "x"], "b": [1.0, 2.0]})
    with pytest.raises(ValueError) as a:  # noqa: PT011  # message compared below
        validate_data(_Probe(), text, dtype=np.float64)
    with pytest.raises(ValueError) as b:  # noqa: PT011  # message compared below
        sk_validate_data(_Probe(), text, dtype=np.float64)
    assert str(a.value) == str(b.value)
    nullable = pd.DataFrame({"a": pd.array([1.0, None], dtype="Float64"), "b": [1.0, 2.0]})
    (_, got), (_, want) = _both(nullable, dtype=np.float64, ensure_all_finite="allow-nan")
    np.testing.assert_array_equal(got, want)
