"""Write ``manifest.csv`` of the sarcoma example from the cohort's ``clinical.csv``.

Usage: ``python examples/sts/make_manifest.py [DATA_DIR]`` where DATA_DIR is the
``shared/data`` folder (default: ``$RADIOMIX_DATA`` or ``../shared/data`` beside the
checkout). Image and mask paths are written relative to ``DATA_DIR/sts``, the study's
``data_root``.

Columns written
---------------
patient_id, lesion_id
    ``STS_001`` … ``STS_051``; one lesion (the primary tumour, ``1``) per patient.
ct_image, ct_mask, pet_image, pet_mask, mr_t1_image, mr_t1_mask
    The NIfTI image and GTV mask of each modality.
centre
    ``A``: the cohort comes from a single centre.
lung_mets
    1 when the recorded outcome was lung metastasis, else 0 (the label of Vallières et
    al. 2015), copied from clinical.csv.
lung_mets_days
    Time to lung metastasis, in days from diagnosis: ``days_dx_to_outcome`` for patients
    with lung metastasis, else ``days_dx_to_last_fu`` (censored at last follow-up; the 8
    patients whose first event was another one are censored there too, as in the label).
days_dx_to_outcome, days_dx_to_last_fu
    Copied from clinical.csv (``--``, "no event", written as an empty cell).
age, sex, grade, histology, mskcc_type, treatment
    Clinical covariates, copied.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAGS = ("ct", "pet", "mr_t1")
COVARIATES = ("age", "sex", "grade", "histology", "mskcc_type", "treatment")


def main(data_dir: Path) -> Path:
    sts = data_dir / "sts"
    with (sts / "clinical.csv").open(encoding="utf-8", newline="") as fh:
        clinical = list(csv.DictReader(fh))
    header = ["patient_id", "lesion_id"]
    header += [f"{t}_{k}" for t in TAGS for k in ("image", "mask")]
    header += ["centre", "lung_mets", "lung_mets_days", "days_dx_to_outcome", "days_dx_to_last_fu"]
    header += list(COVARIATES)
    rows = []
    for c in clinical:
        pid = c["patient_id"]
        row = {"patient_id": pid, "lesion_id": "1", "centre": "A"}
        for t in TAGS:
            for k in ("image", "mask"):
                rel = f"nifti/{pid}/{t}/{k}.nii.gz"
                if not (sts / rel).is_file():
                    raise SystemExit(f"missing {sts / rel}")
                row[f"{t}_{k}"] = rel
        outcome = "" if c["days_dx_to_outcome"].strip() == "--" else c["days_dx_to_outcome"]
        row["lung_mets"] = c["lung_mets"]
        row["lung_mets_days"] = outcome if c["lung_mets"] == "1" else c["days_dx_to_last_fu"]
        row["days_dx_to_outcome"] = outcome
        row["days_dx_to_last_fu"] = c["days_dx_to_last_fu"]
        for k in COVARIATES:
            row[k] = c[k]
        rows.append(row)
    out = HERE / "manifest.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    default = os.environ.get("RADIOMIX_DATA") or HERE.parents[2] / "shared" / "data"
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else default)))
