"""QC thumbnails of an analysis: the mask over the image for a few analysed patients.

A reader checks that the segmentations are where they should be before trusting any
number. For an even spread of the analysed patients (sorted by id) and every image tag that
is not registered onto another one, the largest ROI slice is drawn with the mask contour,
in a window fixed per modality (:func:`radiomix.report.figures.modality_window`: CT in HU,
PET in SUV, declared by the tag's ``modality``) and with a 10 mm scale bar. The document's
``qc`` section lists the PNG files (``docs/analysis-schema.md``).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from radiomix.errors import InputError
from radiomix.settings.study import Study

__all__ = ["QC_DIR", "qc_section"]

log = logging.getLogger(__name__)

QC_DIR = "qc"
"""Folder of the thumbnails inside the analysis folder."""


def _spread(ids: list[str], n: int) -> list[str]:
    """``n`` ids evenly spread over the sorted list (all when there are fewer)."""
    ids = sorted(ids)
    if len(ids) <= n:
        return ids
    return [ids[int(i)] for i in np.linspace(0, len(ids) - 1, n).round().astype(int)]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _file_name(patient: str, lesion: str, tag: str) -> str:
    """The thumbnail's file name: the ids made safe for a file system, and a short hash of
    the ids as given, so that two lesions whose ids differ only in characters a file name
    cannot hold (``x y`` and ``x_y``, ``肝 1`` and ``肺 1``) get two files."""
    import hashlib

    key = hashlib.sha256("\0".join((patient, lesion, tag)).encode()).hexdigest()[:8]
    return f"{_safe(patient)}_{_safe(lesion)}_{_safe(tag)}_{key}.png"


def qc_section(study: Study, patients: list[str], out_dir: str | Path, *,
               n_patients: int = 6, scale_bar_mm: float = 10.0) -> dict[str, Any] | None:
    """Write QC thumbnails into ``out_dir/qc`` (removing an earlier analysis's) and return
    the document's ``qc`` section.

    Parameters
    ----------
    study : Study
        The loaded study (manifest, tags, ROI options).
    patients : list of str
        Ids of the analysed patients; ``n_patients`` of them, evenly spread over the sorted
        ids, are drawn (each lesion of theirs, each unregistered tag).
    out_dir : path
        Analysis folder.
    n_patients : int
    scale_bar_mm : float

    Returns
    -------
    dict or None
        ``{"description", "items": [...]}``; None when no thumbnail could be drawn (each
        failure is logged with the case id: those cases are in the extraction errors).
    """
    from radiomix.case import load_case
    from radiomix.cohort import case_warnings, manifest_rows
    from radiomix.privacy import redact_paths
    from radiomix.report.figures import largest_slice, modality_window, qc_thumbnail

    chosen = set(_spread([str(p) for p in dict.fromkeys(patients)], n_patients))
    folder = Path(out_dir) / QC_DIR
    for old in folder.glob("*.png"):  # an earlier analysis's patients are not this one's
        old.unlink()
    items: list[dict[str, Any]] = []
    drawn: set[tuple[str, str]] = set()  # tags sharing an image and mask are drawn once
    for row in manifest_rows(study):
        if str(row.patient_id) not in chosen:
            continue
        for tag in study.tags:
            ts = study.settings.tags[tag]
            spec = row.inputs.get(tag)
            if ts.register_to is not None or spec is None or spec.problem is not None \
                    or spec.image is None or spec.mask is None:
                continue
            if (str(spec.image), str(spec.mask)) in drawn:
                continue
            drawn.add((str(spec.image), str(spec.mask)))
            case_id = f"{row.patient_id}/{row.lesion_id}/{tag}"
            label = spec.label if spec.label is not None else ts.roi.label
            roi_name = spec.roi_name if spec.roi_name is not None else ts.roi.roi_name
            names = {f"<{tag} image>": spec.image, f"<{tag} mask>": spec.mask}
            try:
                # what reading the case says (a header's qform/sform) names files by tag, as
                # the run said it: file names may name the patient
                redact = functools.partial(redact_paths, inputs=names, keep=(case_id,))
                with case_warnings(redact) as said:
                    checked = load_case(spec.image, spec.mask, label=label, roi_name=roi_name,
                                        resample_mask=ts.roi.resample_mask, case_id=case_id)
                for message in said:
                    log.warning("%s: %s", case_id, message)
            except (InputError, OSError, RuntimeError) as exc:
                log.warning("QC thumbnail of %s not drawn: %s", case_id,
                            redact_paths(str(exc), names, keep=(case_id,)))
                continue
            img = np.array(checked.image.array, dtype=float)
            mask = checked.mask.array > 0
            spacing = checked.image.spacing_zyx
            win = modality_window(ts.modality)
            png = qc_thumbnail(img, mask, spacing,
                               title=f"{row.patient_id} · lesion {row.lesion_id} · {tag}",
                               window=win[:2] if win else None, scale_bar_mm=scale_bar_mm)
            folder.mkdir(parents=True, exist_ok=True)
            name = _file_name(str(row.patient_id), str(row.lesion_id), tag)
            (folder / name).write_bytes(png)
            items.append({"patient_id": str(row.patient_id), "lesion_id": str(row.lesion_id),
                          "tag": tag, "modality": ts.modality, "image": f"{QC_DIR}/{name}",
                          "slice_index": int(largest_slice(mask)),
                          "window": list(win[:2]) if win else None,
                          "window_unit": win[2] if win else None,
                          "scale_bar_mm": scale_bar_mm})
    if not items:
        return None
    return {"description": (
        f"Mask contour (the segmentation of the manifest, before resampling and before any "
        f"derived ROI such as a ring) over the largest ROI slice of {len(chosen)} patients "
        "spread evenly over the sorted ids, each image that is not registered onto another "
        "(tags sharing an image and mask are drawn once). CT and PET use one fixed window "
        "for every patient (declared by the tag's modality); other images are shown from "
        f"their 1st to 99th percentile around the ROI. The white bar is {scale_bar_mm:g} mm."),
        "items": items}
