"""``count_non_finite`` (the fast finite check of every read float image) against the
plain count ``size - count_nonzero(isfinite)``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.io.integrity import count_non_finite

FLOATS = st.sampled_from([np.float16, np.float32, np.float64])


@settings(max_examples=300, deadline=None)
@given(
    values=FLOATS.flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
            elements=st.floats(allow_nan=True, allow_infinity=True,
                               width=np.dtype(dt).itemsize * 8),
        )
    )
)
def test_equals_the_plain_count(values: np.ndarray) -> None:
    assert count_non_finite(values) == int(values.size - np.count_nonzero(np.isfinite(values)))


def test_single_bad_value_anywhere_is_counted() -> None:
    base = np.linspace(-1000.0, 3000.0, 4096, dtype=np.float32).reshape(16, 16, 16)
    for bad in (np.nan, np.inf, -np.inf):
        for index in (0, 1234, base.size - 1):
            arr = base.copy()
            arr.flat[index] = bad
            assert count_non_finite(arr) == 1


def test_integer_and_complex_arrays() -> None:
    assert count_non_finite(np.arange(10, dtype=np.int16)) == 0
    c = np.ones(5, dtype=np.complex128)
    c[2] = complex(np.nan, 0.0)
    c[4] = complex(0.0, np.inf)
    assert count_non_finite(c) == 2
