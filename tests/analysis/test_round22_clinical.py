"""Round 22 (tester 22e): messy clinical tables that were accepted in silence.

Levels of one category written apart, missing-value codes read as levels or numbers, ages
typed ten times too large in more than a tenth of the rows, numbers with units advised to
be declared categorical, an ordinal covariate tested as unordered in Table 1, and a patient
id written as another number in the two tables. Each test failed before its fix.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort
from scipy import stats

from radiomix.analysis.data import MISSING_TOKENS, build_table, far_codes, number_like
from radiomix.analysis.engine import _table1, rank_test
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError, SettingsError

SEX = {"name": "sex", "kind": "categorical"}
GRADE = {"name": "grade", "kind": "ordinal", "levels": ["Low", "Intermediate", "High"]}


def _spec(*covariates):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": list(covariates),
                  "derived": ["outcome_text", "days_to_outcome"]},
        "arms": [{"name": "clin", "blocks": ["clinical"], "model": "logistic", "tune": False}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50},
    })


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- 1. levels of one category written apart -----------------------------------------------


@pytest.mark.parametrize(("spellings", "shown"), [
    (["Male", "male", "MALE"], r"'MALE' \(\d+ row\(s\)\), 'Male' \(\d+ row\(s\)\), 'male'"),
    (["TRUE", "True", "true"], r"'TRUE' \(\d+ row\(s\)\), 'True' \(\d+ row\(s\)\), 'true'"),
    (["1", "1.0"], r"'1' \(\d+ row\(s\)\), '1.0' \(\d+ row\(s\)\)"),
    (["M\u00e4nnlich", "Ma\u0308nnlich"], r"'Ma\u0308nnlich' \(\d+ row\(s\)\), 'M\u00e4nnlich'"),
])
def test_levels_that_differ_only_in_case_form_or_number_format_are_refused(spellings, shown):
    """'Male'/'male'/'MALE' became three levels (clinical AUC 0.694 -> 0.597)."""
    feats, clin = cohort(30)
    clin["sex"] = [spellings[i // 2 % len(spellings)] if i % 2 else "Female" for i in range(30)]
    with pytest.raises(InputError, match=rf"covariate 'sex' \(categorical\) holds {shown}.*one "
                                         r"value written apart \(letter case, Unicode form or "
                                         r"number format\).*write one spelling in every row"):
        build_table(feats, _spec(SEX), clinical=clin)


def test_an_ordinal_value_spelt_as_a_declared_level_otherwise_names_the_level():
    feats, clin = cohort(30)
    clin.loc[[3, 7], "grade"] = "low"
    with pytest.raises(InputError, match=r"covariate 'grade' \(ordinal\) holds 'Low' \(\d+ "
                                         r"row\(s\)\), 'low' \(2 row\(s\)\).*write it as its "
                                         r"declared level 'Low' in every row"):
        build_table(feats, _spec(GRADE), clinical=clin)


def test_spaces_around_a_level_and_different_words_stay_as_they_were():
    """Surrounding spaces are stripped (one level); 'M' beside 'Male' cannot be told from
    two categories and is kept."""
    feats, clin = cohort(30)
    clin["sex"] = ["Male " if i % 3 == 0 else "Male" if i % 3 == 1 else "Female"
                   for i in range(30)]
    assert build_table(feats, _spec(SEX), clinical=clin).blocks["clinical"] == ["sex=Male"]
    clin.loc[[1, 4, 7], "sex"] = "M"
    assert build_table(feats, _spec(SEX), clinical=clin).blocks["clinical"] == [
        "sex=M", "sex=Male"]


# -- 2. missing-value codes among the levels ------------------------------------------------


def test_excel_na_is_missing_in_numeric_and_categorical_columns():
    """'#N/A' (Excel's NA()) was a level of its own, and an unparsable age."""
    assert "#N/A" in MISSING_TOKENS
    feats, clin = cohort(30)
    clin.loc[[3, 5], "sex"] = "#N/A"
    clin.loc[4, "age"] = "#N/A"
    table = build_table(feats, _spec("age", SEX), clinical=clin)
    assert table.blocks["clinical"] == ["age", "sex=Male"]
    assert table.missing == {"age": 1, "sex=Male": 2}


def test_a_level_that_looks_like_a_missing_code_is_kept_and_named(caplog):
    feats, clin = cohort(30)
    clin.loc[[0, 3, 5, 8, 9], "sex"] = "unknown"
    with caplog.at_level(logging.WARNING):
        table = build_table(feats, _spec(SEX), clinical=clin)
    assert "sex=unknown" in table.blocks["clinical"]
    assert ("covariate 'sex' has the level 'unknown' (5 patients), which looks like a "
            "missing-value code: it is kept as a level of its own; leave those cells empty if "
            "it means missing") in _warnings(caplog)
    caplog.clear()
    clin.loc[[0, 3], "sex"] = "999"
    clin.loc[[5, 8, 9], "sex"] = "Not  known"
    with caplog.at_level(logging.WARNING):
        build_table(feats, _spec(SEX), clinical=clin)
    assert any("has the levels '999' (2 patients), 'Not  known' (3 patients), which look like"
               " missing-value codes: they are kept as levels of their own" in w
               for w in _warnings(caplog))


def test_a_numeric_level_is_a_missing_code_only_far_from_the_others(caplog):
    feats, clin = cohort(30)
    clin["stage"] = [["1", "2", "3"][i % 3] for i in range(30)]
    clin.loc[[2, 6], "stage"] = "999"
    with caplog.at_level(logging.WARNING):
        build_table(feats, _spec({"name": "stage", "kind": "categorical"}), clinical=clin)
    assert any("covariate 'stage' has the level '999' (2 patients)" in w
               for w in _warnings(caplog))
    caplog.clear()
    clin["stage"] = [["-1", "0", "1"][i % 3] for i in range(30)]  # a score, not a code
    with caplog.at_level(logging.WARNING):
        build_table(feats, _spec({"name": "stage", "kind": "categorical"}), clinical=clin)
    assert not any("missing-value code" in w for w in _warnings(caplog))


# -- 3. a missing code in a numeric covariate -----------------------------------------------


def test_a_missing_code_far_outside_a_numeric_column_is_named(caplog):
    """size_cm of 2.5 to 10.5 with four 999s entered the model as sizes of 999 cm."""
    feats, clin = cohort(30)
    clin["size_cm"] = [f"{(i % 9) + 2}.5" for i in range(30)]
    clin.loc[[1, 7, 12, 20], "size_cm"] = "999"
    with caplog.at_level(logging.WARNING):
        table = build_table(feats, _spec("size_cm"), clinical=clin)
    assert table.X["size_cm"].max() == 999.0  # used as given, and said
    assert ("covariate 'size_cm' holds 999 in 4 row(s), far outside its other values (2.5 to "
            "10.5), like a missing-value code: it is used as a number; leave those cells empty "
            "(or NA) if it means missing") in _warnings(caplog)


def test_far_codes_reads_the_quartiles_of_the_other_values():
    sizes = np.array([2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5])
    assert far_codes(np.r_[sizes, 999.0, 999.0, -99.0]) == {-99.0: 1, 999.0: 2}
    assert far_codes(np.r_[sizes, -1.0]) == {}  # within 5 IQR (4) of the quartiles
    # 99 in a percentage, -1 in a score from -2 to 2: values, not codes
    assert far_codes(np.r_[np.linspace(0, 100, 21), 99.0]) == {}
    assert far_codes(np.array([-2.0, -1.0, 0.0, 1.0, 2.0])) == {}
    # a 0/1 column with 999 for unknown; -1 beside one other value cannot be judged
    assert far_codes(np.array([0.0, 1.0, 1.0, 0.0, 999.0])) == {999.0: 1}
    assert far_codes(np.array([1.0, 1.0, -1.0])) == {}


# -- 4. ages typed ten times too large, in more than a tenth of the rows -----------------------


def test_impossible_ages_are_refused_whatever_their_share():
    """6 of 51 ages typed x10 passed (the share rule); 5 of 51 were refused."""
    feats, clin = cohort(51)
    clin.loc[[0, 1, 2, 3, 4, 5], "age"] = ["590", "610", "170", "220", "830", "640"]
    with pytest.raises(InputError, match=r"covariate 'age', row 2 \(patient_id P000\): 590 is "
                                         r"not an age in years \(0 to 120; 6 such value\(s\), "
                                         r"above 130, while 45 of the 51 ages are in years"):
        build_table(feats, _spec("age"), clinical=clin)


def test_an_age_column_in_another_unit_is_still_read_as_given():
    feats, clin = cohort(51)
    clin["age"] = (pd.to_numeric(clin["age"]) * 12).astype(str)  # months: none in years
    assert build_table(feats, _spec("age"), clinical=clin).X["age"].min() > 130


# -- 5. numbers with units, decimal commas, dates -------------------------------------------


@pytest.mark.parametrize(("cells", "what"), [
    (["1 cm", "2 cm", "35 mm"], r"numbers with a unit or a percent sign \('1 cm', '2 cm', "
                                r"'35 mm'\), which are no plain numbers: write plain numbers"),
    (["45%", "60%", "12 %"], r"numbers with a unit or a percent sign \('12 %', '45%'"),
    (["62,0", "1,200", "45,5"], r"numbers with a decimal comma or a thousands separator "
                                r"\('1,200', '45,5', '62,0'\)"),
    (["2021-03-04", "04/03/2021", "2020-12-31"], r"dates \('04/03/2021', '2020-12-31'"),
])
def test_numbers_in_another_form_are_not_called_a_category(cells, what):
    """'1 cm' was 'a category; declare it categorical', which one-hot encoded a size."""
    feats, clin = cohort(30)
    clin["size"] = [cells[i % len(cells)] for i in range(30)]
    with pytest.raises(InputError, match=rf"covariate 'size' is read as numeric but holds "
                                         rf"{what}.*declaring it categorical would make every "
                                         r"value a category of its own"):
        build_table(feats, _spec("size"), clinical=clin)
    with pytest.raises(SettingsError, match=r"holds words \('Female', 'Male'\): a category; "
                                            r"declare it categorical"):
        build_table(feats, _spec("sex"), clinical=clin)  # real words keep their advice


def test_a_categorical_covariate_of_numbers_with_units_is_named(caplog):
    feats, clin = cohort(30)
    clin["size"] = [f"{i % 5 + 1} cm" for i in range(30)]
    with caplog.at_level(logging.WARNING):
        build_table(feats, _spec({"name": "size", "kind": "categorical"}), clinical=clin)
    assert any(w.startswith("covariate 'size' (categorical) has levels that are numbers with "
                            "a unit or a percent sign ('1 cm', '2 cm', '3 cm', '4 cm'): each "
                            "value is a category of its own; if it is a measurement, write "
                            "plain numbers") for w in _warnings(caplog))


def test_number_like_tells_units_from_level_names():
    assert [number_like(v) for v in ("5cm", "62 y", "1.5 cm\u00b3", "20\u00b0C", ">5 cm")] == [
        "unit"] * 5
    assert [number_like(v) for v in ("3a", "T2", "IIIa", "grade 2", "2+", "<5")] == [None] * 6


# -- 6. Table 1 tests an ordinal covariate by its order ----------------------------------------


def test_table1_tests_an_ordinal_covariate_by_ranks_of_its_levels():
    """An ordinal grade was tested as unordered (Monte Carlo χ²)."""
    feats, clin = cohort(40, seed=3)
    y = (clin["outcome"] == "mets").to_numpy()
    clin["grade"] = np.where(y, ["Intermediate", "High", "High", "Low"] * 10,
                             ["Low", "Low", "Intermediate", "High"] * 10)
    spec = _spec(GRADE, SEX)
    rows = _table1(build_table(feats, spec, clinical=clin), spec)["rows"]
    grade = next(r for r in rows if r["variable"] == "grade")
    codes = clin["grade"].map({"Low": 0, "Intermediate": 1, "High": 2}).to_numpy()
    assert grade["kind"] == "ordinal"
    assert grade["test"] == "Mann–Whitney U (ordered levels)"
    assert grade["p_value"] == pytest.approx(stats.mannwhitneyu(codes[~y], codes[y]).pvalue,
                                             rel=1e-12)
    sex = next(r for r in rows if r["variable"] == "sex")  # unordered: as before
    assert sex["kind"] == "categorical"
    assert sex["test"].startswith(("χ²", "Fisher"))


def test_rank_test_takes_kruskal_wallis_beyond_two_groups():
    values = np.array([0.0, 1.0, 1.0, 2.0, 0.0, 2.0, 2.0, 1.0, 0.0])
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    test, p = rank_test(values, groups)
    assert test == "Kruskal–Wallis H"
    assert p == pytest.approx(stats.kruskal(values[:3], values[3:6], values[6:]).pvalue)


# -- 7. one patient id written as two numbers -------------------------------------------------


@pytest.mark.parametrize(("in_features", "in_clinical"), [("1", "1.0"), ("007", "7")])
def test_an_id_written_as_another_number_in_the_clinical_table_is_refused(in_features,
                                                                          in_clinical):
    """'1' beside '1.0' gave two warnings and dropped the patient when other ids matched."""
    feats, clin = cohort(30)
    feats.loc[0, "patient_id"] = in_features
    clin.loc[0, "patient_id"] = in_clinical
    with pytest.raises(InputError, match=rf"patient '{in_features}' of the feature table is "
                                         rf"'{in_clinical}' in the clinical table \(group "
                                         r"column 'patient_id'\): ids must match exactly, "
                                         r"number format \(a spreadsheet writes 1 as 1\.0 and "
                                         r"drops leading zeros\) included"):
        build_table(feats, _spec("age"), clinical=clin)
