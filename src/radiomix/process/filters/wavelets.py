"""Separable undecimated wavelet filters (IBSI 2 25BO) and their filter coefficients.

The coefficients are computed here, not taken from a wavelet library: Haar and Daubechies
filters by spectral factorisation of the Daubechies polynomial; Coiflet 1 in closed form;
Coiflets 2 and 3 tabulated from a numerical solution of the Coiflet conditions (orthonormality,
2N vanishing wavelet moments, 2N − 1 vanishing scaling-function moments), which
``tests/process/filters`` checks to 1e-10.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.errors import SettingsError
from radiomix.process.filters._convolve import (
    Step,
    convolve_separable,
    rotation_pooled_separable,
)
from radiomix.settings.filters import COIFLET_MAX, DAUBECHIES_MAX, FilterSettings
from radiomix.types import FloatArray

# Reconstruction low-pass filters (sum √2) of the Coiflets of order 2 and 3, as solved from
# the Coiflet conditions with the scaling-function moments centred on index 2N (Daubechies,
# Ten Lectures on Wavelets, 1992, §8.2; the solution with the largest centre coefficient).
_COIF_REC_LO: dict[int, tuple[float, ...]] = {
    2: (
        1.6387336463201750e-02,
        -4.1464936786868571e-02,
        -6.7372554723719891e-02,
        3.8611006682275029e-01,
        8.1272363544940929e-01,
        4.1700518442325751e-01,
        -7.6488599078283440e-02,
        -5.9434418646443297e-02,
        2.3680171946852503e-02,
        5.6114348193719151e-03,
        -1.8232088709126504e-03,
        -7.2054944552036888e-04,
    ),
    3: (
        -3.7935128643872703e-03,
        7.7825964256833177e-03,
        2.3452696142111824e-02,
        -6.5771911281535686e-02,
        -6.1123390003038021e-02,
        4.0517690240928428e-01,
        7.9377722262612826e-01,
        4.2848347637715534e-01,
        -7.1799821619128013e-02,
        -8.2301927106150433e-02,
        3.4555027573243115e-02,
        1.5880544863618829e-02,
        -9.0079761367019423e-03,
        -2.5745176881318502e-03,
        1.1175187708264650e-03,
        4.6621695982063208e-04,
        -7.0983302506920251e-05,
        -3.4599773196972958e-05,
    ),
}


def daubechies_rec_lo(order: int) -> FloatArray:
    """Reconstruction low-pass filter of the Daubechies wavelet dbN (length 2N, sum √2).

    Spectral factorisation: :math:`|m_0(\\omega)|^2 = \\cos^{2N}(\\omega/2)\\,P(\\sin^2(\\omega/2))`
    with :math:`P(y) = \\sum_{k=0}^{N-1} \\binom{N-1+k}{k} y^k`; each root y of P gives a
    reciprocal pair of z-roots of :math:`z^2 - (2 - 4y)z + 1`, of which the one inside the
    unit circle is kept (extremal phase), as in Daubechies (1988).

    Examples
    --------
    >>> np.round(daubechies_rec_lo(2), 6)
    array([ 0.482963,  0.836516,  0.224144, -0.12941 ])
    """
    if not 1 <= order <= DAUBECHIES_MAX:
        raise SettingsError(f"Daubechies order must be 1..{DAUBECHIES_MAX}, got {order}")
    poly = np.array([1.0])
    for _ in range(order):
        poly = np.convolve(poly, [1.0, 1.0])
    if order > 1:
        p = [math.comb(order - 1 + k, k) for k in range(order)]
        for y in np.roots(p[::-1]):
            pair = np.roots([1.0, -(2.0 - 4.0 * y), 1.0])
            z = pair[np.argmin(np.abs(pair))]
            poly = np.convolve(poly, [1.0, -z])
    h = np.real(poly)
    return h / h.sum() * math.sqrt(2.0)


def coiflet_rec_lo(order: int) -> FloatArray:
    """Reconstruction low-pass filter of the Coiflet coifN (length 6N, sum √2).

    coif1 in closed form: :math:`\\frac{1}{16\\sqrt{2}}(1-\\sqrt7, 5+\\sqrt7, 14+2\\sqrt7,
    14-2\\sqrt7, 1-\\sqrt7, -3+\\sqrt7)`; coif2 and coif3 tabulated (see module docstring).
    """
    if order == 1:
        s7 = math.sqrt(7.0)
        h = np.array([1 - s7, 5 + s7, 14 + 2 * s7, 14 - 2 * s7, 1 - s7, -3 + s7])
        return h / (16.0 * math.sqrt(2.0))
    if order in _COIF_REC_LO:
        return np.array(_COIF_REC_LO[order])
    raise SettingsError(f"Coiflet order must be 1..{COIFLET_MAX}, got {order}")


def wavelet_filters(name: str) -> tuple[FloatArray, FloatArray]:
    """Decomposition (analysis) low-pass and high-pass filters of a wavelet, as convolution
    kernels: ``lo[k] = rec_lo[n−1−k]`` and ``hi[k] = (−1)^(k+1) rec_lo[k]``.

    Parameters
    ----------
    name : str
        ``haar``, ``db1`` … ``db20`` or ``coif1`` … ``coif3``.

    Returns
    -------
    lo, hi : (n,) ndarray of float64

    Examples
    --------
    >>> lo, hi = wavelet_filters("haar")
    >>> np.round(lo, 4), np.round(hi, 4)
    (array([0.7071, 0.7071]), array([-0.7071,  0.7071]))
    """
    if name == "haar":
        rec = daubechies_rec_lo(1)
    elif name.startswith("db") and name[2:].isdigit():
        rec = daubechies_rec_lo(int(name[2:]))
    elif name.startswith("coif") and name[4:].isdigit():
        rec = coiflet_rec_lo(int(name[4:]))
    else:
        raise SettingsError(f"unknown wavelet {name!r}; use haar, dbN or coifN")
    signs = np.where(np.arange(rec.shape[0]) % 2 == 0, -1.0, 1.0)
    return rec[::-1].copy(), signs * rec


def _dilate(kernel: FloatArray, level: int) -> tuple[FloatArray, int]:
    """À trous kernel of ``level``: 2^(level−1) − 1 zeros between taps; anchor scaled too."""
    step = 2 ** (level - 1)
    out = np.zeros((kernel.shape[0] - 1) * step + 1)
    out[::step] = kernel
    return out, (kernel.shape[0] // 2) * step


def wavelet_filter(image: FloatArray, settings: FilterSettings) -> FloatArray:
    """Separable undecimated (stationary, à trous) wavelet sub-band response (IBSI 2 25BO).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Validated image.
    settings : FilterSettings
        ``kind="wavelet"`` with ``wavelet``, ``subband`` (x, y, z order), ``level``,
        ``rotation_invariant`` + ``pooling`` and ``padding``.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Notes
    -----
    Level 1 convolves each filtered axis with the decomposition low-pass (``L``) or
    high-pass (``H``) filter named by the sub-band letter (x → array axis 2, y → 1, z → 0).
    Level j > 1 first applies the all-low-pass filter of levels 1 … j−1 and then the
    sub-band filter dilated by 2^(j−1) (zeros inserted between the taps). An even-length
    kernel of n taps is anchored at tap ⌊n/2⌋ (scaled by the dilation), which reproduces the
    IBSI 2 reference maps. Rotation invariance pools the 24 (3D) or 4 (2D) right-angle
    rotations, each distinct 1D convolution computed once
    (:func:`~radiomix.process.filters._convolve.rotation_pooled_separable`).

    References
    ----------
    IBSI 2 reference manual (arXiv:2006.05470), section "Separable wavelets"; Mallat S.
    A Wavelet Tour of Signal Processing, 3rd ed., 2009, §5.2 (à trous algorithm).
    """
    lo, hi = wavelet_filters(settings.wavelet or "")
    level = int(settings.level or 1)
    subband = settings.subband or ""
    axes_xyz = [2 - i for i in range(len(subband))]  # x -> axis 2, y -> 1, z -> 0

    stages: list[list[Step]] = []
    for j in range(1, level):
        k, anchor = _dilate(lo, j)
        stages.append([(a, k, anchor) for a in axes_xyz])
    kernels: list[Step] = []
    for letter, axis in zip(subband, axes_xyz, strict=True):
        k, anchor = _dilate(lo if letter == "L" else hi, level)
        kernels.append((axis, k, anchor))
    stages.append(kernels)
    if settings.rotation_invariant:
        return rotation_pooled_separable(
            image, settings.ndim, settings.pooling or "average", stages, settings.boundary)
    return convolve_separable(image, [step for stage in stages for step in stage],
                              settings.boundary)
