"""Bad options and missing inputs of the demo give typed errors with clear messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from radiomix.deep.errors import WeightsError
from radiomix.demo import _resolve_deep_weights, choose_patients, run_demo
from radiomix.errors import InputError, SettingsError


def _clinical(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                         "lung_mets": ["1" if i % 3 == 0 else "0" for i in range(n)]})


def test_choose_patients_keeps_both_classes() -> None:
    c = _clinical()
    chosen = choose_patients(c, 9)
    assert len(chosen) == 9
    labels = c.set_index("patient_id").loc[chosen, "lung_mets"]
    # 7 of 20 have the event: round(9 * 7 / 20) = 3 events, 6 without
    assert (labels == "1").sum() == 3
    assert (labels == "0").sum() == 6
    assert chosen == sorted(chosen)
    assert choose_patients(c, None) == c["patient_id"].tolist()
    assert choose_patients(c, 50) == c["patient_id"].tolist()


@pytest.mark.parametrize("n", [3, 0, 5.5, True])
def test_choose_patients_refuses_bad_counts(n) -> None:
    with pytest.raises(SettingsError, match="patients must be an integer >= 6"):
        choose_patients(_clinical(), n)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_run_demo_refuses_bad_jobs(tmp_path: Path, jobs) -> None:
    with pytest.raises(SettingsError, match="jobs must be an integer >= 1"):
        run_demo(tmp_path, jobs=jobs, data_dir=tmp_path)


def test_run_demo_without_cohort(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"clinical table not found: .*sts.clinical\.csv"):
        run_demo(tmp_path / "out", data_dir=tmp_path)


def test_missing_weight_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    events = []
    with pytest.raises(WeightsError, match="no such file"):
        _resolve_deep_weights(tmp_path / "missing.pth", events.append)
    assert events == []


def test_missing_imagenet_file_falls_back_loudly(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path))  # an empty cache
    events = []
    weights, info, banner = _resolve_deep_weights(None, events.append)
    assert weights == "random"
    assert info["random_weights"] is True
    assert banner is not None
    assert "UNTRAINED" in banner
    assert "resnet18-f37072fd.pth" in banner
    assert str(tmp_path / "weights") in banner
    assert "http" not in banner  # the report references no external URL
    assert [e.level for e in events] == ["warning"]
    assert "UNTRAINED" in events[0].message


def test_random_weights_on_request_are_flagged(tmp_path: Path) -> None:
    events = []
    weights, info, banner = _resolve_deep_weights("random", events.append)
    assert weights == "random"
    assert info["random_weights"] is True
    assert banner is not None
    assert "requested" in banner
