"""Settings of convolutional image filters (IBSI 2) and Gaussian smoothing.

One frozen dataclass, :class:`FilterSettings`, describes one response map: the filter kind,
its parameters, the boundary condition (padding), 2D (slice by slice, axial plane) or 3D
filtering and, for directional filters, rotation invariance by pooling. Parameters that do
not apply to the chosen kind must stay ``None``: a setting is never silently ignored.

Conventions
-----------
- Arrays are indexed (z, y, x) and ``spacing`` is (z, y, x) in mm, as everywhere in radiomix.
- Filter *names* follow the IBSI 2 manual, which writes them in (x, y, z) order: the Laws
  kernel ``"E5L5S5"`` applies E5 along x (array axis 2), L5 along y (axis 1) and S5 along z
  (axis 0); the wavelet sub-band ``"LHL"`` applies the low-pass filter along x, the high-pass
  along y and the low-pass along z; the Riesz order ``riesz_order_xyz = (1, 0, 0)`` is a first
  derivative-like transform along x.
- Lengths given in mm (``sigma_mm``, ``wavelength_mm``) are converted to voxels with the image
  spacing; the Laws, mean, wavelet and Simoncelli filters are defined on the voxel grid.

The IBSI 2 phase-1 configurations are available as :data:`IBSI2_PHASE1_PRESETS` (keyed by
test id, e.g. ``"2.a"``), with the digital phantom each test filters in
:data:`IBSI2_PHASE1_PHANTOMS`.

References
----------
Depeursinge A, Andrearczyk V, Whybra P, et al. Standardised convolutional filtering for
radiomics. arXiv:2006.05470 (IBSI 2 reference manual). Whybra P, et al. The Image Biomarker
Standardization Initiative: standardized convolutional filters for reproducible radiomics and
enhanced clinical insights. Radiology 2024;310(2):e231319.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from radiomix.errors import SettingsError

FilterKind = Literal["mean", "gaussian", "log", "laws", "gabor", "wavelet", "simoncelli"]
Padding = Literal["constant", "nearest", "periodic", "mirror"]
Pooling = Literal["average", "max", "min"]
GaborResponse = Literal["modulus", "real", "imaginary", "angle"]
FilterDimensionality = Literal["2d", "3d"]

FILTER_KINDS: tuple[str, ...] = (
    "mean",
    "gaussian",
    "log",
    "laws",
    "gabor",
    "wavelet",
    "simoncelli",
)
"""Filter kinds accepted by :class:`FilterSettings`."""

PADDINGS: tuple[str, ...] = ("constant", "nearest", "periodic", "mirror")
"""IBSI 2 boundary conditions: zero (constant 0), nearest (edge value), periodic (wrap) and
mirror (symmetric reflection, the edge voxel repeated: ``c b a | a b c | c b a``)."""

DEFAULT_PADDING: MappingProxyType[str, str] = MappingProxyType(
    {
        "mean": "mirror",
        "gaussian": "mirror",
        "log": "mirror",
        "laws": "mirror",
        "gabor": "mirror",
        "wavelet": "mirror",
        "simoncelli": "periodic",
    }
)
"""Boundary condition of each filter kind when ``padding`` is not given.

Mirror for the filters with a kernel in the spatial domain (the IBSI 2 recommendation).
Periodic for the Simoncelli wavelet (LODD), which is defined by its Fourier transform: the
filter is applied as the FFT of the image as given, whose implied boundary is periodic. That
is what the IBSI 2 reference maps (8.a.1–8.a.3) and the consensus implementations of phases 2
and 3 compute; padding the image with a mirror before the FFT (radiomix before issue 20)
changes statistics near the border and up to 15 % on PET (IBSI 2 phase 3)."""

POOLINGS: tuple[str, ...] = ("average", "max", "min")

LAWS_KERNELS: tuple[str, ...] = ("L3", "E3", "S3", "L5", "E5", "S5", "W5", "R5")
"""Laws 1D kernels (IBSI 2 §Laws kernels)."""

SYMMETRIC_LAWS: frozenset[str] = frozenset({"L3", "S3", "L5", "S5", "R5"})
"""The Laws 1D kernels equal to their own reverse (the others, E and W, change sign)."""


def _symmetric_laws(name: str) -> bool:
    return name.upper() in SYMMETRIC_LAWS

DAUBECHIES_MAX = 20
COIFLET_MAX = 3


def _wavelet_names() -> tuple[str, ...]:
    return (
        "haar",
        *(f"db{n}" for n in range(1, DAUBECHIES_MAX + 1)),
        *(f"coif{n}" for n in range(1, COIFLET_MAX + 1)),
    )


WAVELETS: tuple[str, ...] = _wavelet_names()
"""Separable wavelets with coefficients implemented in
:mod:`radiomix.process.filters.wavelets`: Haar, Daubechies db1–db20, Coiflets coif1–coif3."""

_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "support": ("mean",),
    "sigma_mm": ("gaussian", "log", "gabor"),
    "truncation": ("gaussian", "log", "gabor"),
    "laws_kernel": ("laws",),
    "energy_distance": ("laws",),
    "wavelength_mm": ("gabor",),
    "gamma": ("gabor",),
    "theta_deg": ("gabor",),
    "theta_step_deg": ("gabor",),
    "response": ("gabor",),
    "allow_aliasing": ("gabor",),
    "wavelet": ("wavelet",),
    "subband": ("wavelet",),
    "level": ("wavelet", "simoncelli"),
    "riesz_order_xyz": ("log", "simoncelli"),
}


def _fail(msg: str) -> None:
    raise SettingsError(msg)


def _num(value: float) -> str:
    """Number as a column-name token: ``1.5 -> 1p5``, ``-2 -> m2``, ``10.0 -> 10``."""
    return f"{value:.6g}".replace("-", "m").replace(".", "p").replace("+", "")


def _positive(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(f"filter.{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        _fail(f"filter.{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterSettings:
    """One convolutional filter (IBSI 2) or Gaussian smoothing, and how to apply it.

    Parameters
    ----------
    kind : {"mean", "gaussian", "log", "laws", "gabor", "wavelet", "simoncelli"}
        Mean filter (IBSI 2 S60F), Gaussian smoothing (not an IBSI 2 filter; a preprocessing
        step of the lung reference study), Laplacian of Gaussian (L6PA), Laws kernels (JTXT),
        Gabor (Q88H), separable undecimated wavelets (25BO) or the non-separable Simoncelli
        wavelet (LODD).
    dimensionality : {"3d", "2d"}
        ``3d``: volumetric filter. ``2d``: each axial slice (y, x) is filtered on its own. For
        Gabor, which is a planar filter, ``2d`` filters the axial plane and ``3d`` filters the
        three orthogonal planes and pools the three responses (IBSI 2 §Gabor).
    padding : {"mirror", "constant", "nearest", "periodic"} or None
        Boundary condition (IBSI 2 §boundary conditions): ``constant`` pads with 0,
        ``nearest`` repeats the edge voxel, ``periodic`` wraps around, ``mirror`` reflects
        symmetrically about the edge (the edge voxel is repeated). ``None`` (default) takes
        the kind's default, :data:`DEFAULT_PADDING`: ``mirror``, except ``periodic`` for the
        Simoncelli wavelet (and its Riesz-steered variants), which is applied as the FFT of
        the image as given, as the IBSI 2 consensus implementations do. The resolved value
        is stored, so it is what settings dicts, hashes and provenance record. For the
        Simoncelli filter a non-periodic boundary pads the image before the FFT (see
        :func:`radiomix.process.filters.simoncelli.simoncelli_filter`).
    support : int or None
        Mean filter: support M in voxels (odd, >= 1); the filter averages M×M(×M) voxels.
    sigma_mm : float or None
        Gaussian, LoG and Gabor: standard deviation σ of the Gaussian envelope, in mm.
    truncation : float or None
        Gaussian, LoG and Gabor: the kernel is cut at ``truncation`` standard deviations;
        ``None`` means 4 (IBSI 2 uses 4σ; a 4 written out is stored as ``None``, so both
        spellings give one settings hash). The kernel radius in voxels is
        ``floor(truncation * σ_vox + 0.5)`` (for Gabor, σ_vox is the larger of σ and σ/γ).
    laws_kernel : str or None
        Laws kernel name, the 1D kernels in (x, y, z) order, e.g. ``"E5L5S5"`` (3D) or
        ``"L5S5"`` (2D). Case-insensitive; stored upper-case.
    energy_distance : int or None
        Laws: compute the texture energy map, the mean absolute response in a cubic (square
        for 2D) neighbourhood of Chebyshev distance δ = ``energy_distance`` voxels, i.e.
        (2δ+1)³ voxels. ``None``: no energy map (the raw response).
    wavelength_mm : float or None
        Gabor: wavelength λ of the complex sinusoid, in mm.
    gamma : float or None
        Gabor: spatial aspect ratio γ (the envelope's standard deviation across the wave is
        σ/γ). Required for Gabor.
    theta_deg : float or None
        Gabor: orientation θ in degrees, measured in the filtered plane from the column axis
        (x in the axial plane) towards the row axis (y). ``None`` means 0. With rotation
        invariance this is the first orientation.
    theta_step_deg : float or None
        Gabor with ``rotation_invariant``: the orientations are ``theta_deg + k * step`` for
        k = 0 … 360/step − 1; 360 must be a multiple of the step.
    response : {"modulus", "real", "imaginary", "angle"} or None
        Gabor: which part of the complex response is returned; ``None`` means ``modulus``.
    allow_aliasing : bool or None
        Gabor: ``True`` computes a filter whose wavelength is below 2 voxels (the sampling
        limit), which is otherwise refused: the kernel is sampled as defined, but its
        oscillation is finer than the grid holds and folds back (aliases) onto a longer
        one, so the response is not that of a Gabor filter of this wavelength. Only to
        reproduce a study that used such settings (the IBSI 2 phase-3 PET configuration:
        λ = 3 mm on 3 mm voxels); the response map's tag ends in ``_aliased`` and its
        provenance note says what the grid made of the wavelength. ``False`` is stored as
        ``None`` (one settings hash).
    wavelet : str or None
        Separable wavelet: ``haar``, ``db1`` … ``db20``, ``coif1`` … ``coif3``.
    subband : str or None
        Separable wavelet: the sub-band in (x, y, z) order, one ``L`` (low-pass) or ``H``
        (high-pass) per filtered axis, e.g. ``"LHL"`` (3D) or ``"HL"`` (2D).
    level : int or None
        Wavelet and Simoncelli: decomposition level (>= 1). Required for both.
    rotation_invariant : bool
        Laws, Gabor, wavelet: pool the responses of the rotated filters (the 24 right-angle
        rotations in 3D, the 4 in-plane ones in 2D; all orientations for Gabor) with
        ``pooling``.
    pooling : {"average", "max", "min"} or None
        How rotated responses (and, for 3D Gabor, the three planes) are combined. Required
        exactly when something is pooled, ``None`` otherwise.
    riesz_order_xyz : tuple of int or None
        LoG and Simoncelli: apply the Riesz transform of this order (l_x, l_y, l_z) (2 values
        for 2D) to the response (IBSI 2 §Riesz). Orders are non-negative, sum >= 1.

    Raises
    ------
    SettingsError
        A required parameter is missing, a parameter does not apply to ``kind``, or a value
        is out of range.

    Notes
    -----
    **Response maps are computed on the index axes of the stored array.** Kernel
    directions (the (x, y, z) order of ``laws_kernel`` and ``subband``, Gabor's ``theta_deg``,
    ``riesz_order_xyz``) refer to the array's column, row and slice axes as stored, not to
    patient directions (the direction cosines are not consulted). The same physical image
    stored with an axis reversed (an LPS/RAS re-export flips x, a series sorted the other way
    flips z) therefore gives the same response map only for filters that are symmetric under
    that reversal:

    - unchanged: mean, Gaussian and LoG (symmetric kernels and symmetric boundary
      conditions);
    - changed: a Laws response whose kernel holds an odd 1D kernel (``E3``, ``E5``,
      ``W5``) along the reversed axis changes sign (e.g. ``E5L5`` when x is reversed); a
      Gabor orientation ``theta_deg`` acts as ``-theta_deg``; a separable wavelet sub-band
      with a high-pass (for Daubechies wavelets also asymmetric) filter along the reversed
      axis changes; a Riesz transform of odd order along it changes sign. Laws energy maps
      (absolute values) and pooling over the right-angle rotations (``rotation_invariant``)
      remove much of this dependence, but pooling over rotations is not pooling over
      reflections, so it is not guaranteed to remove all of it;
    - the Simoncelli wavelet is radially symmetric, but it is sampled on the IBSI 2
      centred frequency grid, which for an even number of voxels along an axis is offset
      by half a frequency bin from the DFT frequencies
      (:func:`radiomix.process.filters.simoncelli.centred_frequency_radius`). That grid is
      kept on purpose: it is the one the IBSI 2 reference response maps are computed on
      (the phase-1 tests fail on the exact DFT grid). Its response, and the features of it,
      change when an axis with an even number of voxels (after cropping) is stored
      reversed; odd sizes are unaffected.

    Store the images of a cohort in one orientation (resample or re-export them
    consistently) when comparing the features of such filters; the features that are not
    of response maps do not depend on it.

    Examples
    --------
    >>> FilterSettings(kind="log", sigma_mm=1.5).tag
    'log_s1p5mm'
    >>> FilterSettings(kind="laws", laws_kernel="L5E5E5", rotation_invariant=True,
    ...                pooling="max", energy_distance=7).tag
    'laws_l5e5e5_rimax_energy_d7'
    >>> FilterSettings(kind="mean", support=4)
    Traceback (most recent call last):
    ...
    radiomix.errors.SettingsError: filter.support must be an odd integer >= 1, got 4
    """

    kind: FilterKind
    dimensionality: FilterDimensionality = "3d"
    padding: Padding | None = None
    support: int | None = None
    sigma_mm: float | None = None
    truncation: float | None = None
    laws_kernel: str | None = None
    energy_distance: int | None = None
    wavelength_mm: float | None = None
    gamma: float | None = None
    theta_deg: float | None = None
    theta_step_deg: float | None = None
    response: GaborResponse | None = None
    allow_aliasing: bool | None = None
    wavelet: str | None = None
    subband: str | None = None
    level: int | None = None
    rotation_invariant: bool = False
    pooling: Pooling | None = None
    riesz_order_xyz: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            import difflib

            near = difflib.get_close_matches(str(self.kind), FILTER_KINDS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            _fail(f"unknown filter kind {self.kind!r}{hint} Valid: {', '.join(FILTER_KINDS)}")
        if self.dimensionality not in ("2d", "3d"):
            _fail(f"filter.dimensionality must be 2d or 3d, got {self.dimensionality!r}")
        if self.padding is None:
            object.__setattr__(self, "padding", DEFAULT_PADDING[self.kind])
        if self.padding not in PADDINGS:
            _fail(f"filter.padding must be one of {', '.join(PADDINGS)}; got {self.padding!r}")
        for name, kinds in _ONLY_FOR.items():
            if getattr(self, name) is not None and self.kind not in kinds:
                _fail(
                    f"filter.{name} does not apply to the {self.kind} filter (only to "
                    f"{', '.join(kinds)}); remove it"
                )
        ndim = 2 if self.dimensionality == "2d" else 3
        k = self.kind
        if k == "mean":
            s = self.support
            if s is None or isinstance(s, bool) or not isinstance(s, int) or s < 1 or s % 2 == 0:
                _fail(f"filter.support must be an odd integer >= 1, got {s!r}")
            if s == 1:
                _fail("filter.support 1 averages each voxel with itself: the response is the "
                      "image; give an odd support of 3 or more")
        if k in ("gaussian", "log", "gabor"):
            if self.sigma_mm is None:
                _fail(f"filter.sigma_mm (in mm) is required for the {k} filter")
            _positive("sigma_mm", self.sigma_mm)
            _positive("truncation", self.truncation)
            if self.truncation is not None and float(self.truncation) == 4.0:
                # the default written out: the same settings, the same hash
                object.__setattr__(self, "truncation", None)
        if k == "laws":
            self._check_laws(ndim)
        if k == "gabor":
            self._check_gabor()
        if k == "wavelet":
            if self.wavelet not in WAVELETS:
                import difflib

                near = difflib.get_close_matches(str(self.wavelet), WAVELETS, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                _fail(
                    f"filter.wavelet {self.wavelet!r} is not available{hint} Valid: haar, "
                    f"db1..db{DAUBECHIES_MAX}, coif1..coif{COIFLET_MAX}"
                )
            sb = self.subband
            if not isinstance(sb, str) or not re.fullmatch(rf"[LHlh]{{{ndim}}}", sb):
                _fail(
                    f"filter.subband must be {ndim} letters L or H in (x, y, z) order for a "
                    f"{self.dimensionality} wavelet, e.g. {'LHL' if ndim == 3 else 'HL'!r}; "
                    f"got {sb!r}"
                )
            object.__setattr__(self, "subband", str(sb).upper())
        if k in ("wavelet", "simoncelli"):
            lv = self.level
            if lv is None or isinstance(lv, bool) or not isinstance(lv, int) or lv < 1:
                _fail(f"filter.level must be an integer >= 1 for the {k} filter, got {lv!r}")
        if self.rotation_invariant and k not in ("laws", "gabor", "wavelet"):
            _fail(
                f"filter.rotation_invariant applies to laws, gabor and wavelet filters; the "
                f"{k} filter is {'isotropic' if k != 'mean' else 'symmetric'} already"
            )
        pooled = self.rotation_invariant or (k == "gabor" and self.dimensionality == "3d")
        if pooled and self.pooling not in POOLINGS:
            why = "rotation_invariant" if self.rotation_invariant else "3d gabor (three planes)"
            _fail(
                f"filter.pooling must be one of {', '.join(POOLINGS)} with {why}; "
                f"got {self.pooling!r}"
            )
        if not pooled and self.pooling is not None:
            _fail(
                "filter.pooling applies only when responses are pooled (rotation_invariant, "
                f"or a 3d gabor filter); got pooling={self.pooling!r} without either"
            )
        if self.riesz_order_xyz is not None:
            order = self.riesz_order_xyz
            if (
                len(order) != ndim
                or any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in order)
                or sum(order) < 1
            ):
                _fail(
                    f"filter.riesz_order_xyz needs {ndim} non-negative integers (x, y"
                    f"{', z' if ndim == 3 else ''}) with sum >= 1, got {order!r}"
                )

    def _check_laws(self, ndim: int) -> None:
        name = self.laws_kernel
        if not isinstance(name, str):
            _fail(
                f"filter.laws_kernel is required for the laws filter, e.g. 'E5L5S5'; got {name!r}"
            )
            return
        parts = re.findall(r"[A-Za-z]\d", name)
        if "".join(parts) != name or len(parts) != ndim:
            _fail(
                f"filter.laws_kernel must name {ndim} 1D kernels in (x, y, z) order for a "
                f"{self.dimensionality} filter, e.g. {'E5L5S5' if ndim == 3 else 'L5S5'!r}; "
                f"got {name!r}"
            )
        for p in parts:
            if p.upper() not in LAWS_KERNELS:
                _fail(f"unknown Laws kernel {p!r} in {name!r}. Valid: {', '.join(LAWS_KERNELS)}")
        object.__setattr__(self, "laws_kernel", name.upper())
        if self.rotation_invariant and len(set(parts)) == 1 and all(
                _symmetric_laws(p) for p in parts):
            _fail(f"filter.rotation_invariant with laws_kernel {name.upper()}: every rotation "
                  "of this kernel (one symmetric 1D kernel along every axis) is the kernel "
                  "itself, so nothing is pooled; leave rotation_invariant out")
        d = self.energy_distance
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            _fail(f"filter.energy_distance must be an integer >= 0 (voxels), got {d!r}")

    def _check_gabor(self) -> None:
        if self.allow_aliasing is not None and not isinstance(self.allow_aliasing, bool):
            _fail(f"filter.allow_aliasing must be true or false, got {self.allow_aliasing!r}")
        if self.allow_aliasing is False:  # the default written out: one settings hash
            object.__setattr__(self, "allow_aliasing", None)
        if self.wavelength_mm is None:
            _fail("filter.wavelength_mm (λ, in mm) is required for the gabor filter")
        _positive("wavelength_mm", self.wavelength_mm)
        if self.gamma is None:
            _fail("filter.gamma (spatial aspect ratio γ) is required for the gabor filter")
        _positive("gamma", self.gamma)
        if self.theta_deg is not None and not math.isfinite(self.theta_deg):
            _fail(f"filter.theta_deg must be finite, got {self.theta_deg!r}")
        if self.rotation_invariant:
            step = self.theta_step_deg
            if step is None:
                _fail("filter.theta_step_deg is required for a rotation-invariant gabor filter")
            _positive("theta_step_deg", step)
            assert step is not None
            n = 360.0 / step
            if abs(n - round(n)) > 1e-9:
                _fail(f"filter.theta_step_deg must divide 360 degrees, got {step!r}")
            if round(n) < 2:
                _fail(f"filter.theta_step_deg {step:g} gives one orientation: nothing is "
                      "pooled and the response is not rotation invariant; give a step below "
                      "360 (e.g. 45), or leave rotation_invariant out")
        elif self.theta_step_deg is not None:
            _fail("filter.theta_step_deg applies only with rotation_invariant=True")
        if self.response is not None and self.response not in (
            "modulus",
            "real",
            "imaginary",
            "angle",
        ):
            _fail(
                f"filter.response must be modulus, real, imaginary or angle; got {self.response!r}"
            )

    # -- derived values -------------------------------------------------------------------

    @property
    def effective_truncation(self) -> float:
        """Kernel truncation in standard deviations (``truncation`` or the default 4)."""
        return 4.0 if self.truncation is None else float(self.truncation)

    @property
    def boundary(self) -> str:
        """The boundary condition in force (``padding``, resolved from the kind's default)."""
        return str(self.padding or DEFAULT_PADDING[self.kind])

    @property
    def ndim(self) -> int:
        """Number of filtered axes: 2 (slice by slice) or 3."""
        return 2 if self.dimensionality == "2d" else 3

    @property
    def tag(self) -> str:
        """Column-name token of the response map, without dots.

        Parameters appear with ``p`` for the decimal point; options that differ from their
        defaults are appended: ``_2d``, ``_ri<pooling>`` (rotation invariance),
        ``_pad<mode>`` for a padding other than the kind's default (:data:`DEFAULT_PADDING`:
        mirror, periodic for Simoncelli), ``_riesz<lx><ly>[<lz>]``, and last ``_aliased``
        for a Gabor filter computed beyond the sampling limit (``allow_aliasing``).

        Examples
        --------
        >>> FilterSettings(kind="mean", support=5).tag
        'mean_d5'
        >>> FilterSettings(kind="wavelet", wavelet="db3", subband="LLL", level=1).tag
        'wavelet_db3_lll_l1'
        >>> FilterSettings(kind="gabor", sigma_mm=10, wavelength_mm=4, gamma=0.5,
        ...                theta_deg=60, dimensionality="2d", padding="constant").tag
        'gabor_s10mm_w4mm_g0p5_t60deg_2d_padzero'
        >>> FilterSettings(kind="simoncelli", level=1).tag
        'simoncelli_l1'
        >>> FilterSettings(kind="simoncelli", level=1, padding="mirror").tag
        'simoncelli_l1_padmirror'
        """
        k = self.kind
        if k == "mean":
            parts = [f"mean_d{self.support}"]
        elif k in ("gaussian", "log"):
            parts = [f"{'gauss' if k == 'gaussian' else 'log'}_s{_num(self.sigma_mm or 0)}mm"]
        elif k == "laws":
            parts = [f"laws_{(self.laws_kernel or '').lower()}"]
        elif k == "gabor":
            parts = [
                f"gabor_s{_num(self.sigma_mm or 0)}mm_w{_num(self.wavelength_mm or 0)}mm"
                f"_g{_num(self.gamma or 0)}_t{_num(self.theta_deg or 0.0)}deg"
            ]
            if self.rotation_invariant:
                parts.append(f"step{_num(self.theta_step_deg or 0)}deg")
            if self.response not in (None, "modulus"):
                parts.append(str(self.response))
        elif k == "wavelet":
            parts = [f"wavelet_{self.wavelet}_{(self.subband or '').lower()}_l{self.level}"]
        else:
            parts = [f"simoncelli_l{self.level}"]
        if self.truncation is not None and self.truncation != 4.0:
            parts.append(f"t{_num(self.truncation)}")
        if self.riesz_order_xyz is not None:
            parts.append("riesz" + "".join(str(o) for o in self.riesz_order_xyz))
        if self.dimensionality == "2d":
            parts.append("2d")
        if self.rotation_invariant or (k == "gabor" and self.dimensionality == "3d"):
            parts.append({"average": "riavg", "max": "rimax", "min": "rimin"}[self.pooling or ""])
        if k == "laws" and self.energy_distance is not None:
            parts.append(f"energy_d{self.energy_distance}")
        if self.padding != DEFAULT_PADDING[k]:
            mode = str(self.padding)
            parts.append("pad" + ("zero" if mode == "constant" else mode))
        if self.allow_aliasing:
            parts.append("aliased")
        return "_".join(parts)


# -- IBSI 2 phase 1 ---------------------------------------------------------------------------

_P1: dict[str, tuple[str, FilterSettings]] = {
    "1.a.1": ("checkerboard", FilterSettings(kind="mean", support=15, padding="constant")),
    "1.a.2": ("checkerboard", FilterSettings(kind="mean", support=15, padding="nearest")),
    "1.a.3": ("checkerboard", FilterSettings(kind="mean", support=15, padding="periodic")),
    "1.a.4": ("checkerboard", FilterSettings(kind="mean", support=15, padding="mirror")),
    "1.b.1": (
        "impulse",
        FilterSettings(kind="mean", support=15, padding="constant", dimensionality="2d"),
    ),
    "2.a": ("impulse", FilterSettings(kind="log", sigma_mm=3.0, padding="constant")),
    "2.b": ("checkerboard", FilterSettings(kind="log", sigma_mm=5.0, padding="mirror")),
    "2.c": (
        "checkerboard",
        FilterSettings(kind="log", sigma_mm=5.0, padding="mirror", dimensionality="2d"),
    ),
    "3.a.1": ("impulse", FilterSettings(kind="laws", laws_kernel="E5L5S5", padding="constant")),
    "3.a.2": (
        "impulse",
        FilterSettings(
            kind="laws",
            laws_kernel="E5L5S5",
            padding="constant",
            rotation_invariant=True,
            pooling="max",
        ),
    ),
    "3.a.3": (
        "impulse",
        FilterSettings(
            kind="laws",
            laws_kernel="E5L5S5",
            padding="constant",
            rotation_invariant=True,
            pooling="max",
            energy_distance=7,
        ),
    ),
    "3.b.1": ("checkerboard", FilterSettings(kind="laws", laws_kernel="E3W5R5", padding="mirror")),
    "3.b.2": (
        "checkerboard",
        FilterSettings(
            kind="laws",
            laws_kernel="E3W5R5",
            padding="mirror",
            rotation_invariant=True,
            pooling="max",
        ),
    ),
    "3.b.3": (
        "checkerboard",
        FilterSettings(
            kind="laws",
            laws_kernel="E3W5R5",
            padding="mirror",
            rotation_invariant=True,
            pooling="max",
            energy_distance=7,
        ),
    ),
    "3.c.1": (
        "checkerboard",
        FilterSettings(kind="laws", laws_kernel="L5S5", padding="mirror", dimensionality="2d"),
    ),
    "3.c.2": (
        "checkerboard",
        FilterSettings(
            kind="laws",
            laws_kernel="L5S5",
            padding="mirror",
            dimensionality="2d",
            rotation_invariant=True,
            pooling="max",
        ),
    ),
    "3.c.3": (
        "checkerboard",
        FilterSettings(
            kind="laws",
            laws_kernel="L5S5",
            padding="mirror",
            dimensionality="2d",
            rotation_invariant=True,
            pooling="max",
            energy_distance=7,
        ),
    ),
    "4.a.1": (
        "impulse",
        FilterSettings(
            kind="gabor",
            sigma_mm=10.0,
            wavelength_mm=4.0,
            gamma=0.5,
            theta_deg=60.0,
            padding="constant",
            dimensionality="2d",
        ),
    ),
    "4.a.2": (
        "impulse",
        FilterSettings(
            kind="gabor",
            sigma_mm=10.0,
            wavelength_mm=4.0,
            gamma=0.5,
            theta_deg=0.0,
            theta_step_deg=45.0,
            rotation_invariant=True,
            pooling="average",
            padding="constant",
            dimensionality="3d",
        ),
    ),
    "4.b.1": (
        "sphere",
        FilterSettings(
            kind="gabor",
            sigma_mm=20.0,
            wavelength_mm=8.0,
            gamma=2.5,
            theta_deg=225.0,
            padding="mirror",
            dimensionality="2d",
        ),
    ),
    "4.b.2": (
        "sphere",
        FilterSettings(
            kind="gabor",
            sigma_mm=20.0,
            wavelength_mm=8.0,
            gamma=2.5,
            theta_deg=0.0,
            theta_step_deg=22.5,
            rotation_invariant=True,
            pooling="average",
            padding="mirror",
            dimensionality="3d",
        ),
    ),
    "5.a.1": (
        "impulse",
        FilterSettings(kind="wavelet", wavelet="db2", subband="LHL", level=1, padding="constant"),
    ),
    "5.a.2": (
        "impulse",
        FilterSettings(
            kind="wavelet",
            wavelet="db2",
            subband="LHL",
            level=1,
            padding="constant",
            rotation_invariant=True,
            pooling="average",
        ),
    ),
    "6.a.1": (
        "sphere",
        FilterSettings(kind="wavelet", wavelet="coif1", subband="HHL", level=1, padding="periodic"),
    ),
    "6.a.2": (
        "sphere",
        FilterSettings(
            kind="wavelet",
            wavelet="coif1",
            subband="HHL",
            level=1,
            padding="periodic",
            rotation_invariant=True,
            pooling="average",
        ),
    ),
    "7.a.1": (
        "checkerboard",
        FilterSettings(
            kind="wavelet",
            wavelet="haar",
            subband="LLL",
            level=2,
            padding="mirror",
            rotation_invariant=True,
            pooling="average",
        ),
    ),
    "7.a.2": (
        "checkerboard",
        FilterSettings(
            kind="wavelet",
            wavelet="haar",
            subband="HHH",
            level=2,
            padding="mirror",
            rotation_invariant=True,
            pooling="average",
        ),
    ),
    "8.a.1": ("checkerboard", FilterSettings(kind="simoncelli", level=1, padding="periodic")),
    "8.a.2": ("checkerboard", FilterSettings(kind="simoncelli", level=2, padding="periodic")),
    "8.a.3": ("checkerboard", FilterSettings(kind="simoncelli", level=3, padding="periodic")),
    "9.a": (
        "impulse",
        FilterSettings(kind="log", sigma_mm=3.0, padding="constant", riesz_order_xyz=(1, 0, 0)),
    ),
    "9.b.1": (
        "sphere",
        FilterSettings(kind="log", sigma_mm=3.0, padding="constant", riesz_order_xyz=(0, 2, 0)),
    ),
    "10.b.1": (
        "pattern_1",
        FilterSettings(kind="simoncelli", level=1, padding="nearest", riesz_order_xyz=(0, 2, 0)),
    ),
}

IBSI2_PHASE1_PRESETS: MappingProxyType[str, FilterSettings] = MappingProxyType(
    {test: settings for test, (_, settings) in _P1.items()}
)
"""Filter settings of the 33 IBSI 2 phase-1 tests that have a reference response map, keyed
by test id (``"1.a.1"`` … ``"10.b.1"``). All phantoms have 2 mm isotropic voxels, so lengths
in mm are twice the manual's voxel values. Test 7.a.1 uses rotation-invariant (average)
pooling, as the consensus map requires."""

IBSI2_PHASE1_PHANTOMS: MappingProxyType[str, str] = MappingProxyType(
    {test: phantom for test, (phantom, _) in _P1.items()}
)
"""IBSI 2 digital phantom filtered by each phase-1 test (folder name under
``ibsi2/digital_phantom``)."""


def ibsi2_preset(test_id: str) -> FilterSettings:
    """Filter settings of one IBSI 2 phase-1 test.

    Parameters
    ----------
    test_id : str
        Test id as in the IBSI 2 manual, e.g. ``"3.a.2"`` (underscores are accepted too).

    Returns
    -------
    FilterSettings

    Raises
    ------
    SettingsError
        Unknown test id (with the nearest valid one).

    Examples
    --------
    >>> ibsi2_preset("2_a").tag
    'log_s3mm_padzero'
    """
    key = test_id.replace("_", ".")
    if key not in IBSI2_PHASE1_PRESETS:
        import difflib

        near = difflib.get_close_matches(key, list(IBSI2_PHASE1_PRESETS), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        _fail(
            f"unknown IBSI 2 phase-1 test {test_id!r}{hint} Valid: "
            f"{', '.join(IBSI2_PHASE1_PRESETS)}"
        )
    return IBSI2_PHASE1_PRESETS[key]


# -- IBSI 2 phases 2 and 3: packaged extraction presets ---------------------------------------

IBSI2_PHASE2_PRESETS: tuple[str, ...] = tuple(
    f"ibsi2-{n}{c}" for n in range(1, 10) for c in ("A", "B")
)
"""Names of the packaged IBSI 2 phase-2 presets (``settings/presets/ibsi2-<n><A|B>.yaml``):
filter configuration n = 1 (no filter), 2 mean, 3 LoG, 4 Laws, 5 Gabor, 6 and 7 Daubechies 3
wavelets, 8 and 9 Simoncelli levels 1 and 2; A = 2D on the original grid, B = 3D at 1 mm
(IBSI 2 manual, phase 2, on the IBSI lung CT phantom)."""

IBSI2_PHASE3_PRESETS: tuple[str, ...] = ("ibsi2-phase3-CT", "ibsi2-phase3-PET", "ibsi2-phase3-MR")
"""Names of the packaged IBSI 2 phase-3 processing presets (soft-tissue sarcoma cohort): the
per-modality interpolation and re-segmentation with the eight filters of configurations 2–9."""

IBSI2_PRESETS: tuple[str, ...] = IBSI2_PHASE2_PRESETS + IBSI2_PHASE3_PRESETS
"""All packaged IBSI 2 presets (registered in :data:`radiomix.settings.loader.PRESETS`)."""
