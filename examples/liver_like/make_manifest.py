"""Write ``manifest.csv`` of the liver-like example from ``../sts/manifest.csv``.

Usage: ``python examples/liver_like/make_manifest.py`` (the CSV is committed; users need not
run this). It adds, per lesion:

- ``ct2d_image``, ``ct2d_mask``: the CT again, for the tag analysed on its largest slice
  in 2D (``preprocess.roi: largest_slice``, ``dimensionality: 2d``);
- ``ct_ring_image``, ``ct_ring_mask``: the CT again, for the 5 mm peritumoral ring tag;
- ``centre``: a PSEUDO-centre for the demonstration of external validation. The sarcoma
  cohort comes from one centre; the last 16 patients (by id) are labelled ``B`` and play
  the external centre. Read the external row as a held-out split, not as another hospital.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> Path:
    with (HERE.parent / "sts" / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    extra = ["ct2d_image", "ct2d_mask", "ct_ring_image", "ct_ring_mask"]
    at = header.index("ct_mask") + 1
    header = header[:at] + extra + header[at:]
    ids = sorted(r["patient_id"] for r in rows)
    external = set(ids[-16:])
    for r in rows:
        for tag in ("ct2d", "ct_ring"):
            r[f"{tag}_image"], r[f"{tag}_mask"] = r["ct_image"], r["ct_mask"]
        r["centre"] = "B" if r["patient_id"] in external else "A"
    out = HERE / "manifest.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    print(main())
