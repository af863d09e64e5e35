"""Bad input to the intensity histogram family raises typed errors with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.intensity_histogram import DiscretisedHistogram


@pytest.mark.parametrize("levels", [[0, 1, 2], [-3, 1], [1.5, 2.0]])
def test_levels_must_be_integers_from_one(levels) -> None:
    with pytest.raises(InputError, match="integer grey levels >= 1"):
        DiscretisedHistogram.of(np.array(levels), n_levels=3)


def test_empty_levels() -> None:
    with pytest.raises(EmptyRoiError, match="intensity mask holds no voxel"):
        DiscretisedHistogram.of(np.array([], dtype=np.int64), n_levels=3)
