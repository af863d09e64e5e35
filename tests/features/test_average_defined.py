"""average_defined: the mean over the matrices where a texture feature is defined.

Checked against an independent exact mean (``math.fsum``) over the non-NaN values, with
the note in ``ctx.notes`` written exactly when some matrix leaves the feature undefined,
and NaN (no note, no warning) when none defines it.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from radiomix.features.glcm import average_defined

values = st.lists(
    st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=0, max_size=13
)


@given(values)
def test_mean_over_defined_values_and_note(xs: list[float]) -> None:
    ctx = SimpleNamespace(notes={})
    spec = SimpleNamespace(name="glcm.contrast")
    agg = SimpleNamespace(token="3D_avg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice"
        got = average_defined(ctx, spec, agg, np.array(xs, dtype=np.float64))  # type: ignore[arg-type]
    defined = [x for x in xs if not math.isnan(x)]
    if not defined:
        assert math.isnan(got)
        assert ctx.notes == {}
        return
    expected = math.fsum(defined) / len(defined)
    assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-9)
    if len(defined) < len(xs):
        assert ctx.notes == {
            "glcm.contrast.3D_avg": f"mean over the {len(defined)} of {len(xs)} matrices "
            "where the feature is defined"
        }
    else:
        assert ctx.notes == {}
