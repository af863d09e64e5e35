"""IBSI texture-feature aggregation methods (IBSI 1 §3.6–3.11, "Aggregating features")."""

from __future__ import annotations

from enum import Enum


class Aggregation(Enum):
    """How texture matrices are built and combined across slices and directions.

    Each member carries its column token, its IBSI identifier and the text of the
    "aggr. method" column of the IBSI reference tables.

    GLCM and GLRLM use the six direction-aware methods; GLSZM, GLDZM, NGTDM and NGLDM
    (direction-free) use ``D2``, ``D2P5`` and ``D3``.
    """

    AVERAGED_2D = ("2d_averaged", "BTW3", "2D, averaged")
    SLICE_MERGED_2D = ("2d_slice_merged", "SUJT", "2D, slice-merged")
    DIRECTION_MERGED_2P5D = ("2p5d_direction_merged", "JJUI", "2.5D, direction-merged")
    MERGED_2P5D = ("2p5d_merged", "ZW7Z", "2.5D, merged")
    AVERAGED_3D = ("3d_averaged", "ITBB", "3D, averaged")
    MERGED_3D = ("3d_merged", "IAZD", "3D, merged")
    D2 = ("2d", "8QNN", "2D")
    D2P5 = ("2p5d", "62GR", "2.5D")
    D3 = ("3d", "KOBO", "3D")

    __hash__ = object.__hash__
    """Members are singletons compared by identity: hash them by identity too, in C (the
    inherited ``Enum.__hash__`` hashes the name in Python, for every cache key holding one)."""

    def __init__(self, token: str, ibsi: str, printed: str) -> None:
        self.token = token
        self.ibsi = ibsi
        self.printed = printed

    @property
    def is_2d(self) -> bool:
        """True for the slice-wise (2D) methods."""
        return self in (Aggregation.AVERAGED_2D, Aggregation.SLICE_MERGED_2D, Aggregation.D2)

    @property
    def is_2p5d(self) -> bool:
        """True for the 2.5D methods (2D matrices merged over slices)."""
        return self in (
            Aggregation.DIRECTION_MERGED_2P5D,
            Aggregation.MERGED_2P5D,
            Aggregation.D2P5,
        )

    @property
    def is_3d(self) -> bool:
        """True for the volumetric methods."""
        return self in (Aggregation.AVERAGED_3D, Aggregation.MERGED_3D, Aggregation.D3)

    @classmethod
    def from_token(cls, token: str) -> Aggregation:
        """Look an aggregation up by its column token (``3d_merged``) or IBSI code."""
        for member in cls:
            if token in (member.token, member.ibsi):
                return member
        valid = ", ".join(m.token for m in cls)
        from radiomix.errors import SettingsError

        raise SettingsError(f"unknown aggregation {token!r}; valid: {valid}")


DIRECTIONAL = (
    Aggregation.AVERAGED_2D,
    Aggregation.SLICE_MERGED_2D,
    Aggregation.DIRECTION_MERGED_2P5D,
    Aggregation.MERGED_2P5D,
    Aggregation.AVERAGED_3D,
    Aggregation.MERGED_3D,
)
"""Aggregations of GLCM and GLRLM."""

ZONAL = (Aggregation.D2, Aggregation.D2P5, Aggregation.D3)
"""Aggregations of GLSZM, GLDZM, NGTDM and NGLDM."""


def default_aggregations(dimensionality: str) -> tuple[Aggregation, ...]:
    """The aggregations computed by default: 2D and 2.5D for ``2d``, 3D for ``3d``."""
    return _DEFAULTS_2D if dimensionality == "2d" else _DEFAULTS_3D


_DEFAULTS_2D = tuple(a for a in Aggregation if a.is_2d or a.is_2p5d)
_DEFAULTS_3D = tuple(a for a in Aggregation if a.is_3d)
