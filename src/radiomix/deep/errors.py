"""Errors of the deep-feature module; defined in :mod:`radiomix.errors`, re-exported here."""

from radiomix.errors import CheckpointMismatchError, WeightsError, WeightsNotFoundError

__all__ = ["CheckpointMismatchError", "WeightsError", "WeightsNotFoundError"]
