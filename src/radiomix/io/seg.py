"""DICOM SEG (binary and fractional, multi-segment) read with highdicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import DicomError, InputError, LabelNotFoundError


def read_seg(
    path: str | Path,
    *,
    segment: int | str | None = None,
    fraction_threshold: float = 0.5,
) -> sitk.Image:
    """Read one segment of a DICOM SEG as a mask image.

    Parameters
    ----------
    path : str or Path
        DICOM SEG file.
    segment : int or str, optional
        Segment number or segment label; may be omitted when the SEG has one segment.
    fraction_threshold : float
        For FRACTIONAL segmentations, voxels with fraction >= threshold form the mask.

    Returns
    -------
    mask : SimpleITK.Image
        uint8 mask (0/1) on the SEG's own frame-of-reference grid; geometry against the
        image is checked by :mod:`radiomix.check`.

    Raises
    ------
    LabelNotFoundError
        Segment not present (the message lists the segments) or not chosen.
    """
    import highdicom as hd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"SEG file not found: {path}")
    try:
        seg = hd.seg.segread(path)
    except Exception as exc:
        raise DicomError(f"{path.name} is not a readable DICOM SEG: {exc}") from exc
    segments = {int(d.SegmentNumber): str(d.SegmentLabel) for d in seg.SegmentSequence}
    listing = ", ".join(f"{n}: {label!r}" for n, label in segments.items())
    if segment is None:
        if len(segments) != 1:
            raise LabelNotFoundError(
                f"SEG {path.name} holds {len(segments)} segments ({listing}); choose one "
                "with --label (number) or --roi-name (label)"
            )
        number = next(iter(segments))
    elif isinstance(segment, int) or str(segment).isdigit():
        number = int(segment)
        if number not in segments:
            raise LabelNotFoundError(f"segment {number} not in SEG {path.name} ({listing})")
    else:
        hits = [n for n, label in segments.items() if label == segment]
        if not hits:
            raise LabelNotFoundError(f"segment {segment!r} not in SEG {path.name} ({listing})")
        number = hits[0]
    fractional = str(seg.SegmentationType) == "FRACTIONAL"
    volume = seg.get_volume(
        segment_numbers=[number], combine_segments=True, rescale_fractional=fractional
    )
    array = np.asarray(volume.array)  # (slices, rows, columns), axis order of the affine
    if fractional:
        array = array >= fraction_threshold
    affine = np.asarray(volume.affine)  # maps (slice, row, column) indices to LPS mm
    # SimpleITK wants (x=column, y=row, z=slice) order.
    rot = affine[:3, :3][:, [2, 1, 0]]
    spacing = np.linalg.norm(rot, axis=0)
    direction = rot / spacing[None, :]
    image = sitk.GetImageFromArray(np.ascontiguousarray(array).astype(np.uint8))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(v) for v in affine[:3, 3]))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    return image
