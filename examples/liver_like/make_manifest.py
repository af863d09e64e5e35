"""Write ``manifest.csv`` of the liver-like example from ``../sts/manifest.csv``.

Usage: ``python examples/liver_like/make_manifest.py`` (the CSV is committed; users need not
run this; it reads the PET headers under ``$RADIOMIX_DATA/sts``, default
``../shared/data/sts`` beside the checkout). It adds, per lesion:

- ``ct2d_image``, ``ct2d_mask``: the CT again, for the tag analysed on its largest slice
  in 2D (``preprocess.roi: largest_slice``, ``dimensionality: 2d``);
- ``ct_ring_image``, ``ct_ring_mask``: the CT again, for the 5 mm peritumoral ring tag;
- ``centre``: a PSEUDO-centre for the demonstration of external validation. The sarcoma
  cohort comes from one centre; the last 16 patients (by id) are labelled ``B`` and play
  the external centre. Read the external row as a held-out split, not as another hospital.
- ``pet_pixel_mm``: the in-plane pixel size of the PET reconstruction (read from the image
  header: 3.91, 4.69 or 5.47 mm, i.e. a 128-matrix reconstruction over a 50, 60 or 70 cm
  field of view), a real acquisition difference within the cohort;
- ``pet_grid``: the same as two batches for ComBat, ``fine`` (3.91 or 4.69 mm) and
  ``coarse`` (5.47 mm). The 4.69 mm group alone (5 training patients) is too small to
  appear at least twice in every inner training fold; both batches occur in centre A and
  in centre B, so ComBat estimates learnt on training rows apply to every test row.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
COARSE_MM = 5.0  # pixel sizes above this are the "coarse" PET reconstruction


def _data_root() -> Path:
    env = os.environ.get("RADIOMIX_DATA")
    root = Path(env) if env else HERE.parents[2] / "shared" / "data"
    return root / "sts"


def _pet_pixel_mm(root: Path, rel: str) -> float:
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(root / rel))
    reader.ReadImageInformation()
    return round(float(reader.GetSpacing()[0]), 2)


def main() -> Path:
    with (HERE.parent / "sts" / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    extra = ["ct2d_image", "ct2d_mask", "ct_ring_image", "ct_ring_mask"]
    at = header.index("ct_mask") + 1
    header = header[:at] + extra + header[at:]
    at = header.index("centre") + 1
    header = [*header[:at], "pet_pixel_mm", "pet_grid", *header[at:]]
    ids = sorted(r["patient_id"] for r in rows)
    external = set(ids[-16:])
    root = _data_root()
    for r in rows:
        for tag in ("ct2d", "ct_ring"):
            r[f"{tag}_image"], r[f"{tag}_mask"] = r["ct_image"], r["ct_mask"]
        r["centre"] = "B" if r["patient_id"] in external else "A"
        mm = _pet_pixel_mm(root, r["pet_image"])
        r["pet_pixel_mm"] = f"{mm:.2f}"
        r["pet_grid"] = "coarse" if mm > COARSE_MM else "fine"
    out = HERE / "manifest.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    print(main())
