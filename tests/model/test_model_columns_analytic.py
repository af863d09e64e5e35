"""Column names, blocks and clinical encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _data import require_data
from radiomix.errors import InputError
from radiomix.model import FeatureName, column_block, encode_clinical, parse_ordinal
from radiomix.model.columns import select_columns, split_blocks

COLUMNS = [
    "patient_id",
    "lesion_id",
    "ct.original.glcm.contrast.3d_merged",
    "ct.original.stat.mean",
    "pet.log_s1p5mm.stat.mean",
    "ct.deep.resnet18_2p5d.f000",
    "ct.deep.resnet18_2p5d.f001",
    "age",
    "grade",
]


def test_feature_name_fields():
    f = FeatureName.parse("ct.original.glcm.contrast.3d_merged")
    assert (f.tag, f.filter, f.family, f.feature, f.aggregation) == (
        "ct",
        "original",
        "glcm",
        "contrast",
        "3d_merged",
    )
    f = FeatureName.parse("pet.log_s1p5mm.stat.mean")
    assert (f.filter, f.aggregation) == ("log_s1p5mm", None)
    assert FeatureName.parse("a.b.c") is None
    assert FeatureName.parse("a.b.c.d.e.f") is None
    assert FeatureName.parse("patient_id") is None


def test_blocks_from_the_filter_field():
    assert column_block("ct.deep.resnet18_2p5d.f000") == "deep"
    assert column_block("ct.original.glcm.contrast.3d_merged") == "radiomic"
    assert column_block("age") == "clinical"
    blocks = split_blocks(COLUMNS)
    assert blocks["deep"] == ["ct.deep.resnet18_2p5d.f000", "ct.deep.resnet18_2p5d.f001"]
    assert len(blocks["radiomic"]) == 3
    assert blocks["clinical"] == ["patient_id", "lesion_id", "age", "grade"]


def test_select_columns_by_name_wildcard_and_block():
    assert select_columns(COLUMNS, ["age", "ct.original.*"]) == [
        "ct.original.glcm.contrast.3d_merged",
        "ct.original.stat.mean",
        "age",
    ]
    assert select_columns(COLUMNS, ["clinical"]) == ["age", "grade"]  # ids excluded
    assert select_columns(COLUMNS, ["deep"]) == COLUMNS[5:7]
    with pytest.raises(InputError, match="did you mean age"):
        select_columns(COLUMNS, ["agee"])


def test_encode_clinical_ordinal_numeric_one_hot():
    t = pd.DataFrame(
        {
            "age": [50, 61, 70, 45],
            "grade": ["Low", "High", "N/A", "Intermediate"],
            "sex": ["Male", "Female", "Male", "--"],
            "size": ["3.5", "4", "--", "2"],
        }
    )
    X = encode_clinical(
        t, ["age", "grade", "sex", "size"], ordinal={"grade": ["Low", "Intermediate", "High"]}
    )
    assert list(X.columns) == ["age", "grade", "sex=Male", "size"]
    assert X["grade"].tolist()[:2] == [0.0, 2.0]
    assert np.isnan(X["grade"][2])
    assert X["grade"][3] == 1.0
    assert X["sex=Male"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(X["sex=Male"][3])
    assert X["size"].tolist()[:2] == [3.5, 4.0]
    assert np.isnan(X["size"][2])


def test_encode_sarcoma_clinical_table():
    t = pd.read_csv(require_data("sts", "clinical.csv"))
    X = encode_clinical(t, ["age", "grade"], ordinal={"grade": ["Low", "Intermediate", "High"]})
    # grade N/A for 3 patients (STS_040, STS_047, STS_051)
    assert X["grade"].isna().sum() == 3
    # counts from the csv module: High 28, Intermediate 15, Low 5, N/A 3
    assert X["grade"].value_counts().to_dict() == {2.0: 28, 1.0: 15, 0.0: 5}
    assert X["age"].tolist() == t["age"].astype(float).tolist()


def test_clinical_errors():
    t = pd.DataFrame({"grade": ["Low", "Very high"]})
    with pytest.raises(InputError, match=r"values \['Very high'\] outside its ordinal levels"):
        encode_clinical(t, ["grade"], ordinal={"grade": ["Low", "High"]})
    with pytest.raises(InputError, match="not found"):
        encode_clinical(t, ["stage"])
    with pytest.raises(InputError, match="COLUMN=LEVEL1,LEVEL2"):
        parse_ordinal("grade:Low,High")
    assert parse_ordinal("grade=Low, High") == ("grade", ["Low", "High"])
