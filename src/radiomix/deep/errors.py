"""Errors of the deep-feature module (subclasses of :class:`radiomix.errors.InputError`)."""

from __future__ import annotations

from radiomix.errors import InputError


class WeightsError(InputError):
    """Network weights cannot be used: not found, wrong hash, or not the expected layout."""


class WeightsNotFoundError(WeightsError):
    """A known weight file is neither cached nor downloadable; the message says where to put it."""


class CheckpointMismatchError(WeightsError):
    """A checkpoint's keys or shapes differ from the network; the message names them."""
