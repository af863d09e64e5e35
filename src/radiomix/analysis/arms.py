"""Arms as data: from an :class:`~radiomix.analysis.spec.Arm` to a fitted-inside-the-folds
scikit-learn estimator, with the exact columns it uses.

Every arm is one pipeline ``fuse -> model``: :class:`~radiomix.model.fuse.BlockFuser`
imputes and scales each block, reduces it (the radiomic block by the arm's selector, the deep
block by PCA) and, when an arm fuses several blocks, weights each block so that it carries
the same total variance; then the model. All of it is fitted on training rows only.

Standard baselines are added to every outcome and labelled as such: the declared clinical
covariates, **tumour volume only** (the size confound: many texture features rank outcomes
because they grow with the tumour) and, for binary outcomes, the **prevalence** (a model
that predicts the training prevalence: the Brier-score reference, AUC 0.5 by construction).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from radiomix.analysis.data import BATCH_COLUMN, AnalysisTable
from radiomix.analysis.spec import SELF_TUNING_MODELS, AnalysisSettings, Arm, Outcome
from radiomix.errors import SettingsError

log = logging.getLogger(__name__)

MODEL_TEXT: dict[str, str] = {
    "logistic": "logistic regression (L2, C tuned)",
    "penalised_logistic": "penalised logistic regression (penalty tuned)",
    "knn": "k-nearest neighbours (k tuned)",
    "svm": "RBF support-vector machine",
    "rf": "random forest",
    "gb": "gradient boosting",
    "voting": "soft-voting ensemble (logistic, random forest, SVM)",
    "stacking": "stacking ensemble (patient-grouped internal folds)",
    "radscore": "LASSO logistic rad-score",
    "nomogram": "logistic nomogram: cross-fitted LASSO rad-score + clinical covariates",
    "auto": "model search inside the training folds",
    "prevalence": "training prevalence (no features)",
    "cox": "Cox proportional hazards (ridge penalty tuned)",
    "coxnet": "LASSO Cox (penalty path, chosen inside the training folds)",
    "cox_nomogram": "Cox nomogram: cross-fitted LASSO-Cox rad-score + clinical covariates",
}
INTERNAL_TUNING: dict[str, str] = {
    "penalised_logistic": ("inside each fit: the penalty (LASSO or ridge) and C with the lowest "
                           "log-loss over stratified patient-grouped internal folds"),
    "auto": "inside each fit: the model and its parameters, by patient-grouped internal folds",
    "coxnet": ("inside each fit: the LASSO penalty on scikit-survival's path, by an internal "
               "cross-validation grouped by patient and stratified by the event"),
    "cox_nomogram": ("inside each fit: the rad-score's LASSO-Cox penalty on the path, by an "
                     "internal cross-validation grouped by patient"),
}
"""How the models that tune themselves inside ``fit`` (no grid of the arm,
:data:`~radiomix.analysis.spec.SELF_TUNING_MODELS`) choose their parameters, for the report's
arm table."""

UNTUNED_TEXT: dict[str, str] = {
    "logistic": "logistic regression (L2, C fixed at its default)",
    "knn": "k-nearest neighbours (k fixed at its default)",
    "cox": "Cox proportional hazards (ridge penalty fixed at its default)",
}
""":data:`MODEL_TEXT` of the models whose words name a tuned parameter, for an arm that tunes
nothing (``tune: false``, ``--no-tune``, or a grid left empty by few training rows)."""


def model_text(model: str, *, tuned: bool) -> str:
    """The words for an arm's model, its tuning said as it is run.

    Examples
    --------
    >>> model_text("logistic", tuned=True), model_text("logistic", tuned=False)
    ('logistic regression (L2, C tuned)', 'logistic regression (L2, C fixed at its default)')
    >>> model_text("coxnet", tuned=False) == MODEL_TEXT["coxnet"]  # tunes itself
    True
    """
    if not tuned and model in UNTUNED_TEXT:
        return UNTUNED_TEXT[model]
    return MODEL_TEXT.get(model, model)


def tuning_of(model: str, grid: dict[str, Any]) -> str:
    """How an arm's parameters are set: ``"grid"`` (an inner-CV grid), ``"internal"`` (the
    model tunes itself inside ``fit``, :data:`INTERNAL_TUNING`), ``"none"`` (the prevalence
    baseline has no parameter) or ``"fixed"`` (defaults, as with ``--no-tune``).

    Examples
    --------
    >>> tuning_of("logistic", {"model__C": [0.1, 1.0]}), tuning_of("coxnet", {})
    ('grid', 'internal')
    >>> tuning_of("logistic", {}), tuning_of("prevalence", {})
    ('fixed', 'none')
    """
    if grid:
        return "grid"
    if model == "prevalence":
        return "none"
    return "internal" if model in SELF_TUNING_MODELS else "fixed"


def untuned_words(arms: Sequence[BuiltArm]) -> tuple[bool, str]:
    """Whether any arm of a validation run is tuned, and the sentence that names its declared
    arms that are not ("" when none is, or when none is tuned: the run's description then
    says so itself).

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> def arm(key, model, grid):
    ...     return BuiltArm(key, key.title(), "", "declared", "binary", [], [], None, model,
    ...                     DummyClassifier(), grid)
    >>> untuned_words([arm("a", "logistic", {}), arm("b", "knn", {"model__k": [3, 5]})])
    (True, ' Not tuned (fixed default hyper-parameters): A.')
    >>> untuned_words([arm("a", "logistic", {})])
    (False, '')
    """
    state = {a.key: tuning_of(a.model, a.grid) for a in arms}
    tuned = any(s in ("grid", "internal") for s in state.values())
    fixed = [a.label for a in arms if a.kind == "declared" and state[a.key] == "fixed"]
    if not tuned or not fixed:
        return tuned, ""
    return tuned, f" Not tuned (fixed default hyper-parameters): {', '.join(fixed)}."

SELECTOR_TEXT: dict[str, str] = {
    "variance": "zero-variance filter",
    "correlation": "correlation clustering (|r| > 0.9)",
    "fdr": "univariate test with FDR control",
    "lasso": "LASSO selection",
    "mrmr": "mRMR to 10 features",
}


@dataclass
class BuiltArm:
    """An arm ready to evaluate.

    Attributes
    ----------
    key, label, description : str
    kind : {"declared", "baseline"}
    outcome_kind : {"binary", "survival"}
    blocks : list of str
    columns : list of str
        The exact input columns (the estimator receives ``X[columns]``).
    selector : str or None
    model : str
    estimator : estimator
    grid : dict
        Inner-loop grid (empty: no tuning).
    untrained_deep : bool
    """

    key: str
    label: str
    description: str
    kind: str
    outcome_kind: str
    blocks: list[str]
    columns: list[str]
    selector: str | None
    model: str
    estimator: BaseEstimator
    grid: dict[str, list[Any]] = field(default_factory=dict)
    untrained_deep: bool = False
    not_estimable: str | None = None
    """Why the arm cannot be estimated from this table (listed as not estimable, with this
    reason, under every scheme; ``None``: it can)."""
    unstable: int = 0
    """Columns the arm's stability filter drops whatever the data (ICC below its threshold,
    or not assessed): never candidates."""

    @property
    def n_candidates(self) -> int:
        """Candidate predictors: the columns but the batch codes that only ComBat reads
        (``__centre__``, ``__batch__.<column>``) and those the stability filter drops."""
        return sum(not c.startswith("__") for c in self.columns) - self.unstable

    def to_doc(self) -> dict[str, Any]:
        """The arm's entry of the results document."""
        used = [] if self.model == "prevalence" else list(self.columns)
        batch = [c for c in used if c.startswith("__")]
        return {"label": self.label, "description": self.description, "kind": self.kind,
                "blocks": list(self.blocks), "columns": used,
                "n_columns": len(used) - len(batch), "batch_columns": batch,
                "n_unstable": self.unstable,
                "selector": self.selector,
                "model": self.model, "grid": {k: list(v) for k, v in self.grid.items()},
                "tuned": None if self.grid else INTERNAL_TUNING.get(self.model),
                "tuning": tuning_of(self.model, self.grid),
                "untrained_deep": self.untrained_deep}


def match_columns(columns: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Columns named in ``patterns`` (exact names, or fnmatch patterns with ``*?[``), in
    table order."""
    exact = {p for p in patterns if not any(ch in p for ch in "*?[")}
    wild = [p for p in patterns if p not in exact]
    return [c for c in columns if c in exact or any(fnmatchcase(c, p) for p in wild)]


def arm_columns(arm: Arm, table: AnalysisTable) -> dict[str, list[str]]:
    """Columns of each block of ``arm`` in ``table`` (a block may come out empty).

    Raises
    ------
    SettingsError
        A ``radiomic:`` or ``deep:`` pattern of the arm matches no column of its block
        while the block has columns (a misspelt feature, a tag the study does not have):
        the arm would silently run on the columns the other patterns match.
    """
    out: dict[str, list[str]] = {}
    for b in arm.blocks:
        if b in ("radiomic", "deep"):
            patterns = arm.radiomic if b == "radiomic" else arm.deep
            cols = match_columns(table.blocks[b], patterns)
            if table.blocks[b]:
                _refuse_unmatched(arm.name, b, table.blocks[b], patterns)
        elif b == "clinical":
            wanted = arm.clinical
            if wanted is not None:
                unknown = sorted(set(wanted) - set(table.sources.values()))
                if unknown:
                    raise SettingsError(f"arm {arm.name}: clinical lists {unknown}, which are "
                                        "not declared covariates (roles.covariates)")
            cols = [c for c in table.blocks["clinical"]
                    if wanted is None or table.sources[c] in wanted]
        else:
            cols = list(table.blocks["volume"])
        out[b] = cols
    return out


def _refuse_unmatched(arm: str, block: str, columns: Sequence[str],
                      patterns: Sequence[str]) -> None:
    """Refuse the first of ``patterns`` that matches none of the block's ``columns``."""
    for pattern in patterns:
        if match_columns(columns, [pattern]):
            continue
        import difflib

        close = difflib.get_close_matches(pattern, list(columns), n=3)
        hint = f" (closest: {', '.join(close)})" if close else ""
        raise SettingsError(
            f"arm {arm}: {block} pattern {pattern!r} matches no {block} column of the table "
            f"({len(columns)} columns); correct it or remove it from the arm's {block}: "
            f"list{hint}"
        )


def _clip_grid(grid: dict[str, list[Any]], n_fit: int) -> dict[str, list[Any]]:
    """Neighbour counts no larger than the rows an inner training fold holds."""
    out = {}
    for k, values in grid.items():
        if k.endswith("n_neighbors"):
            ok = [v for v in values if v <= n_fit]
            values = ok or [max(1, n_fit)]
        out[k] = list(values)
    return out


def smallest_training_fold(n_patients: int, spec: AnalysisSettings) -> int:
    """Patients in the smallest inner training fold of the planned validation (the bound of
    a neighbour count or any other size-limited hyper-parameter)."""
    v = spec.validation
    outer_train = n_patients - int(np.ceil(n_patients / v.outer_splits))
    if "holdout" in v.schemes:
        outer_train = min(outer_train, int(np.floor(n_patients * (1 - v.test_size))))
    return max(1, outer_train - int(np.ceil(outer_train / v.inner_splits)))


def batch_column(arm: Arm) -> str:
    """Column of the table's ``X`` that the arm's ComBat step reads as the batch."""
    return f"__batch__.{arm.harmonise_batch}" if arm.harmonise_batch else BATCH_COLUMN


def _add_batch(arm: Arm, table: AnalysisTable) -> None:
    """Put the arm's ``harmonise_batch`` column into ``table.X`` as codes (read by the
    ComBat step only; a missing value is a batch of its own, as for the centre)."""
    col = arm.harmonise_batch
    if col is None or batch_column(arm) in table.X.columns:
        return
    if col not in table.raw.columns:
        raise SettingsError(f"arm {arm.name}: harmonise_batch column {col!r} is not in the "
                            "table (manifest or clinical table)")
    text = table.raw[col].astype("string").str.strip().fillna("(missing)")
    codes = {c: float(i) for i, c in enumerate(sorted(text.unique()))}
    table.X[batch_column(arm)] = text.map(codes).to_numpy(dtype=float)


def _name_batches(est: BaseEstimator, arm: Arm, table: AnalysisTable) -> None:
    """Give the arm's ComBat step the batch column and values as the user wrote them (the
    step reads codes from an internal column; its messages name the user's)."""
    from radiomix.model.harmonise import ComBatHarmoniser

    col = batch_column(arm)
    if col not in table.X.columns:
        return
    if arm.harmonise_batch:
        label = arm.harmonise_batch
        values = table.raw[label].astype("string").str.strip().fillna("(missing)")
    elif table.centre is not None:
        label = str(table.roles.get("centre") or "centre")
        values = table.centre
    else:
        return
    names = {str(c): str(v) for c, v in zip(table.X[col].tolist(), list(values), strict=True)}
    params: dict[str, Any] = {}
    for k, v in est.get_params(deep=True).items():
        if isinstance(v, ComBatHarmoniser):
            params[f"{k}__batch_label"] = label
            params[f"{k}__batch_names"] = names
    if params:
        est.set_params(**params)


def _log1p_names(transformer: Any, names: Any) -> np.ndarray:
    """Output names of the volume baseline's log step: ``log1p(<column>)``, so that its
    coefficient (a hazard or odds ratio per unit of log volume) is not read per mm³."""
    return np.asarray([f"log1p({name})" for name in names], dtype=object)


def stability_path(arm: Arm, base_dir: Path | None) -> Path:
    """The arm's stability table (relative to ``base_dir``, the study file's folder).

    Raises
    ------
    SettingsError
        The file does not exist (the message names the command that writes it).
    """
    assert arm.stability is not None
    path = Path(arm.stability)
    path = path if path.is_absolute() or base_dir is None else base_dir / path
    if not path.is_file():
        raise SettingsError(f"arm {arm.name}: stability table {path} not found; write it "
                            "with radiomix stability STUDY.yaml --out DIR")
    return path


def check_stability_settings(arm: Arm, path: Path, features: dict[str, Any],
                             declared: dict[str, str] | None = None, *,
                             confirmed: bool = False) -> list[str]:
    """Refuse an arm's stability table computed with other extraction settings than the
    features (compared per tag: ``radiomix stability`` records the settings hash of each
    tag, the cohort table each case's).

    Parameters
    ----------
    arm : Arm
    path : Path
        The arm's stability table.
    features : dict
        Provenance of the feature table (:func:`radiomix.table.read_provenance`).
    declared : dict, optional
        Settings hash of each tag as the study file declares it: what a feature table
        without per-case provenance (saved by another tool, or re-saved by pandas) is
        compared with instead; ``None`` when the table's settings are known to be other
        than the study file's (then nothing can be compared).
    confirmed : bool
        The feature table's own settings hash (its ``settings_hash`` column) is the study
        file's: the declaration is what the features were extracted with.

    Returns
    -------
    list of str
        Warnings: the check that could not be made, and why.

    Raises
    ------
    SettingsError
        A tag's settings differ; the message names the tag and the commands that recompute
        either table.
    InputError
        The table cannot be read or lacks its columns.
    """
    from radiomix.model.stability_filter import read_stability_table
    from radiomix.table import read_provenance

    read_stability_table(path)  # a usable table, or its one-line error, before any arm runs
    try:
        recorded = read_provenance(path).get("tag_settings_hash")
    except (OSError, ValueError, KeyError):  # no provenance (a CSV, a table made by hand)
        recorded = None
    if not recorded:
        text = (f"arm {arm.name}: {path.name} does not record the extraction settings it was "
                "computed with (written by an older radiomix, or re-saved by another tool): "
                "they were not checked against the features'; rerun radiomix stability to "
                "have them checked")
        log.warning(text)
        return [text]
    cases = {(c.get("tag"), c.get("settings_hash")) for c in features.get("cases") or []
             if c.get("status") == "ok" and c.get("settings_hash")}
    source = "the features"
    warnings: list[str] = []
    if not cases and declared is None:
        text = (f"arm {arm.name}: the feature table was extracted with other settings than "
                "the study file declares and records none per tag: stability table "
                f"{path.name} could not be checked against them; use the table radiomix run "
                "wrote")
        log.warning(text)
        return [text]
    if not cases:
        # the features' own per-tag record is missing: the study file's declaration is what
        # the analysis takes them to be (confirmed by the table's settings hash, or assumed)
        cases = {(t, h) for t, h in (declared or {}).items()}
        source = ("the features (their settings hash is the study file's)" if confirmed
                  else "the study file's declaration")
        if not confirmed:
            text = (f"arm {arm.name}: the feature table records no extraction settings (not "
                    "written by radiomix run, or re-saved by another tool without its "
                    f"settings_hash column): stability table {path.name} was checked against "
                    "the study file's settings only, not the features' own; use the table "
                    "radiomix run wrote to have them checked")
            log.warning(text)
            warnings.append(text)
    for tag, want in sorted(recorded.items()):
        found = sorted({h for t, h in cases if t == tag})
        if found and found != [want]:
            raise SettingsError(
                f"arm {arm.name}: stability table {path.name} was computed with other "
                f"extraction settings for tag {tag} than {source} (settings hash {want} "
                f"against {', '.join(found)}); recompute the one that is out of date "
                "(radiomix stability STUDY.yaml --out DIR for the table, radiomix run for "
                "the features)")
    return warnings


def _prefix(arm: Arm, base_dir: Path | None) -> list[tuple[str, Any]]:
    """Steps before the fuser: stability filter, then ComBat (DataFrame in, DataFrame out)."""
    steps: list[tuple[str, Any]] = []
    if arm.stability:
        from radiomix.model.stability_filter import StabilitySelector

        path = stability_path(arm, base_dir)
        steps.append(("stable", StabilitySelector(stability=str(path),
                                                  threshold=arm.stability_threshold)))
    if arm.harmonise:
        from radiomix.model.harmonise import ComBatHarmoniser

        steps.append(("combat", ComBatHarmoniser(batch=batch_column(arm))))
    return steps


def _fuser_blocks(arm: Arm, cols: dict[str, list[str]]) -> dict[str, Any]:
    """BlockFuser block arguments: explicit column lists, or (after a step that may drop
    columns) blocks by column name."""
    if not (arm.stability or arm.harmonise):
        return {"blocks": dict(cols)}
    include = tuple(dict.fromkeys("radiomic" if b == "volume" else b for b in cols))
    return {"blocks": "auto", "include": include}


def _classifier(arm: Arm, cols: dict[str, list[str]], seed: int,
                base_dir: Path | None = None) -> tuple[Any, dict]:
    from radiomix.model import BlockFuser, RadScore, default_param_grid, make_classifier
    from radiomix.model.nomogram import Nomogram

    rad = cols.get("radiomic", [])
    reduce = {"radiomic": list(arm.selector)} if arm.selector and rad else None
    fb = _fuser_blocks(arm, cols)
    pre = _prefix(arm, base_dir)
    deep_pca = arm.deep_pca if cols.get("deep") else None
    if arm.model == "radscore":
        fuser = BlockFuser(**fb, reduce=reduce, random_state=seed)
        est = Pipeline([*pre, ("fuse", fuser.set_output(transform="pandas")),
                        ("model", RadScore(random_state=seed))])
        grid = {"model__C": [0.03, 0.1, 0.3, 1.0]}
    elif arm.model == "nomogram":
        fuser = BlockFuser(**fb, reduce=reduce, scale=None, deep_pca=deep_pca,
                           random_state=seed)
        auto = reduce or pre
        est = Pipeline([*pre, ("fuse", fuser.set_output(transform="pandas")),
                        ("model", Nomogram(radiomic_columns="auto" if auto else rad,
                                           random_state=seed))])
        grid = {"model__radscore_C": [0.03, 0.1, 0.3, 1.0]}
    else:
        fuser = BlockFuser(**fb, reduce=reduce, deep_pca=deep_pca,
                           balance_blocks=len(cols) > 1, random_state=seed)
        model = make_classifier(arm.model, random_state=seed)
        if arm.budget is not None:
            model.set_params(budget=arm.budget)
        est = Pipeline([*pre, ("fuse", fuser), ("model", model)])
        grid = default_param_grid(arm.model)
    if pre:
        est.set_output(transform="pandas")
    return est, grid


def _survival(arm: Arm, cols: dict[str, list[str]], seed: int,
              base_dir: Path | None = None) -> tuple[Any, dict]:
    from radiomix.model import BlockFuser
    from radiomix.model.nomogram import CoxNomogram
    from radiomix.model.survival import CoxPH

    rad = cols.get("radiomic", [])
    reduce = {"radiomic": list(arm.selector)} if arm.selector and rad else None
    deep_pca = arm.deep_pca if cols.get("deep") else None
    pre = _prefix(arm, base_dir)
    fuser = BlockFuser(**_fuser_blocks(arm, cols), reduce=reduce, deep_pca=deep_pca,
                       scale=None, random_state=seed).set_output(transform="pandas")
    if arm.model == "cox":
        model: Any = CoxPH(penalizer=0.1)
        grid: dict[str, list[Any]] = {"model__penalizer": [0.01, 0.1, 1.0]}
    elif arm.model == "coxnet":
        model, grid = _coxnet(seed), {}
    else:
        # the rad-score by LASSO-Cox on scikit-survival's path (p >> n), cross-fitted
        model, grid = CoxNomogram(radiomic_columns="auto" if reduce or pre else rad,
                                  radscore_penalizer=None, random_state=seed), {}
    est = Pipeline([*pre, ("fuse", fuser), ("model", model)])
    if pre:
        est.set_output(transform="pandas")
    return est, grid


def _coxnet(seed: int) -> BaseEstimator:
    """LASSO-Cox for p >> n on scikit-survival's penalty path, chosen inside the folds."""
    from radiomix.model.survival import CoxNet

    return CoxNet(random_state=seed)


def _deep_pca_words(k: int | float, n_fit: int) -> str:
    """What the deep block's PCA keeps, in words: ``k`` components (at most as many as a
    fit's training rows and columns allow: scikit-learn's bound, which
    :class:`~radiomix.model.fuse.BlockFuser` applies), or a variance fraction.

    Examples
    --------
    >>> _deep_pca_words(10, 40)
    'deep block reduced to 10 principal components'
    >>> "deep_pca 50 is more than the 16 patients" in _deep_pca_words(50, 16)
    True
    >>> _deep_pca_words(0.9, 16)
    'deep block reduced to the principal components holding 90% of its variance'
    """
    if isinstance(k, float) and k < 1:
        return f"deep block reduced to the principal components holding {k:.0%} of its variance"
    if k > n_fit:
        return (f"deep block reduced to principal components: deep_pca {k} is more than the "
                f"{n_fit} patients of the smallest training fold, so each fit keeps at most "
                "as many components as its training rows")
    return f"deep block reduced to {k} principal components"


def build_arm(arm: Arm, table: AnalysisTable, outcome: Outcome, *, seed: int, n_fit: int,
              kind: str = "declared", untrained_deep: bool = False,
              base_dir: Path | None = None) -> BuiltArm | None:
    """The estimator of one arm for one outcome, or ``None`` when its blocks are empty.

    Raises
    ------
    SettingsError
        The arm's model does not fit the outcome kind.
    """
    if arm.kind != outcome.kind:
        return None
    cols = arm_columns(arm, table)
    empty = [b for b, c in cols.items() if not c]
    if empty:
        return None
    _add_batch(arm, table)
    est, grid = (_classifier if outcome.kind == "binary" else _survival)(arm, cols, seed,
                                                                          base_dir)
    if arm.harmonise:
        _name_batches(est, arm, table)
    grid = _clip_grid(grid, n_fit) if arm.tune else {}
    columns = [c for b in arm.blocks for c in cols[b]]
    if arm.harmonise:
        columns.append(batch_column(arm))  # read by the ComBat step only, never by a model
    sel = ", ".join(SELECTOR_TEXT[s] for s in arm.selector) or None
    desc = " + ".join(f"{b} ({len(cols[b])} columns)" for b in arm.blocks)
    if "deep" in cols and arm.deep_pca:
        desc += "; " + _deep_pca_words(arm.deep_pca, n_fit)
    if len(cols) > 1 and arm.model not in ("nomogram", "cox_nomogram"):
        desc += "; blocks weighted to equal total variance"
    if sel:
        desc += f"; radiomic block: {sel}"
    unstable = _unstable(arm, cols, columns, base_dir)
    if arm.stability:
        desc = (f"radiomic features with ICC lower bound ≥ {arm.stability_threshold:g} "
                f"({Path(arm.stability).name}: the {unstable} column(s) below it, or not "
                "assessed, are dropped from those listed); ") + desc
    if arm.harmonise:
        desc += (f"; ComBat by {arm.harmonise_batch or 'centre'} fitted on the training "
                 "folds")
    desc += f" → {model_text(arm.model, tuned=bool(grid))}"
    return BuiltArm(key=arm.name, label=arm.label or arm.name.replace("_", " "),
                    description=desc, kind=kind, outcome_kind=outcome.kind,
                    blocks=list(arm.blocks), columns=columns, selector=sel, model=arm.model,
                    estimator=est, grid=grid,
                    untrained_deep=untrained_deep and "deep" in arm.blocks,
                    unstable=unstable)


def _unstable(arm: Arm, cols: dict[str, list[str]], columns: list[str],
              base_dir: Path | None) -> int:
    """How many of ``columns`` the arm's stability filter drops: it reads the names and the
    stability table only (no data, no outcome), so the count is known before any fit.

    Raises
    ------
    SettingsError
        The filter drops every column of one of the arm's blocks: the arm would silently
        be another one (or fit nothing).
    """
    if not arm.stability:
        return 0
    import pandas as pd

    from radiomix.model.stability_filter import StabilitySelector, read_stability_table

    path = stability_path(arm, base_dir)
    screen = StabilitySelector(stability=str(path), threshold=arm.stability_threshold)
    screen.fit(pd.DataFrame(columns=columns))
    kept = dict(zip(columns, screen.support_, strict=True))
    for block in arm.blocks:
        names = cols.get(block, [])
        if names and not any(kept[c] for c in names):
            table = read_stability_table(path)
            bound = table.set_index(table["feature"].astype(str))["ci_low"].astype(float)
            found = bound.reindex(names).dropna()
            best = (f"the highest 95 % lower bound among them is {found.max():.6g}"
                    if len(found) else "none of them is in the table")
            raise SettingsError(
                f"arm {arm.name}: the stability filter keeps none of the {len(names)} "
                f"{block} column(s) at stability_threshold {arm.stability_threshold:g} "
                f"({best}; {path.name}): lower stability_threshold, or recompute the table "
                "with radiomix stability")
    return int(sum(not keep and not c.startswith("__") for c, keep in kept.items()))


def baseline_arms(spec: AnalysisSettings, table: AnalysisTable, outcome: Outcome, *,
                  seed: int, n_fit: int) -> list[BuiltArm]:
    """The standard baselines that the table supports, labelled as baselines."""
    from sklearn.dummy import DummyClassifier

    from radiomix.model.classifiers import PatientPrevalence

    out: list[BuiltArm] = []
    binary = outcome.kind == "binary"
    model = "logistic" if binary else "cox"
    if "clinical" in spec.baselines and table.blocks["clinical"]:
        arm = Arm(name="clinical", blocks=("clinical",), model=model,
                  label="Clinical covariates" + ("" if binary else " (Cox)"))
        built = build_arm(arm, table, outcome, seed=seed, n_fit=n_fit, kind="baseline")
        if built is not None:
            out.append(built)
    if "volume" in spec.baselines and table.blocks["volume"]:
        vol = table.blocks["volume"][0]
        from sklearn.preprocessing import FunctionTransformer, StandardScaler

        from radiomix.model import BlockFuser, make_classifier
        from radiomix.model.survival import CoxPH

        tail: Any = make_classifier("logistic", random_state=seed) if binary else CoxPH(
            penalizer=0.01)
        steps: list[tuple[str, Any]] = [
            ("fuse", BlockFuser(blocks={"volume": [vol]}, scale=None)),
            ("log", FunctionTransformer(np.log1p, feature_names_out=_log1p_names)),
        ]
        if binary:
            steps.append(("scale", StandardScaler()))
        steps.append(("model", tail))
        keep = table.targets[outcome.name].keep if outcome.name in table.targets else None
        out.append(BuiltArm(
            key="volume", label="Tumour volume only", kind="baseline",
            description=f"log tumour volume (log1p of {vol}: its ratio is per unit of log "
                        "volume, e-fold) → "
                        + ("logistic regression" if binary
                           else "Cox model with a fixed ridge penalty of 0.01 (not tuned)")
                        + "; the size confound: an imaging arm must beat it",
            outcome_kind=outcome.kind, blocks=["volume"], columns=[vol], selector=None,
            model=model, estimator=Pipeline(steps).set_output(transform="pandas"), grid={},
            not_estimable=volume_not_estimable(table.X[vol] if keep is None
                                               else table.X.loc[keep, vol], vol)))
    if "prevalence" in spec.baselines and binary:
        first = table.X.columns[:1].tolist()
        patients = spec.validation.level == "patient"
        out.append(BuiltArm(
            key="prevalence", label="Prevalence (no features)", kind="baseline",
            description="predicts the training prevalence ("
                        + ("of patients, each once" if patients else "of rows")
                        + ") for every patient: the reference Brier score (no "
                        "discrimination)",
            outcome_kind="binary", blocks=["none"], columns=first, selector=None,
            model="prevalence",
            estimator=PatientPrevalence() if patients else DummyClassifier(strategy="prior"),
            grid={}))
    return out


def volume_not_estimable(values: Any, column: str) -> str | None:
    """Why the tumour-volume baseline cannot rank patients from ``values`` (every value
    missing, one value for all, or values of 0 or below, whose log is undefined: a
    standardised table), or ``None``. Imputing such a column gives every patient
    the same prediction: the prevalence arm under another name, not a volume baseline.

    Examples
    --------
    >>> volume_not_estimable([np.nan, np.nan], "ct.original.morph.volume_mesh")[:50]
    'the tumour-volume column ct.original.morph.volume_'
    >>> volume_not_estimable([1.0, 2.0, np.nan], "v") is None
    True
    """
    v = np.asarray(values, dtype=float)
    known = v[np.isfinite(v)]
    if known.size == 0:
        return (f"the tumour-volume column {column} is missing for all {v.size} rows; the "
                "tumour volume only baseline needs measured volumes (extract the morphology "
                "family, or leave 'volume' out of analysis.baselines)")
    if np.unique(known).size < 2:
        return (f"the tumour-volume column {column} takes a single value ({known[0]:g}) in "
                f"all {known.size} rows that have one; a constant cannot rank patients "
                "(check the extraction of the volume)")
    if known.min() <= 0:
        return (f"the tumour-volume column {column} holds values of 0 or below (smallest "
                f"{known.min():.4g}), which no volume in mm³ is: the table was standardised or "
                "normalised, and the log of the volume is undefined; give the volumes as "
                "extracted to run this baseline")
    return None


def _foreign_hint(table: AnalysisTable, empty: Sequence[str]) -> str:
    """Why an image block is empty when the table's other columns are another tool's
    features: the blocks take radiomix's column names only."""
    from radiomix.model.columns import FeatureName

    if not {"radiomic", "deep"} & set(empty):
        return ""
    other = [c for c in table.roles.get("unused", []) if FeatureName.parse(c) is None]
    if not other:
        return ""
    shown = ", ".join(other[:3]) + (f" … ({len(other)} in all)" if len(other) > 3 else "")
    return (f". The radiomic and deep blocks take the columns named as radiomix writes them "
            f"(<tag>.<filter>.<family>.<feature>[.<aggregation>], e.g. "
            f"ct.original.stat.mean); the table's other columns ({shown}) are not read as "
            "image features: rename them so, or model them with radiomix model --columns")


def build_arms(spec: AnalysisSettings, table: AnalysisTable, outcome: Outcome, *,
               untrained_deep: bool = False, base_dir: Path | None = None) -> list[BuiltArm]:
    """Baselines then declared arms that apply to ``outcome``.

    Raises
    ------
    SettingsError
        An arm named for this outcome whose blocks are empty in the table.
    """
    seed = spec.validation.seed
    n_fit = smallest_training_fold(table.n_patients, spec)
    arms = baseline_arms(spec, table, outcome, seed=seed, n_fit=n_fit)
    for arm in spec.arms:
        if arm.outcomes is not None and outcome.name not in arm.outcomes:
            continue
        built = build_arm(arm, table, outcome, seed=seed, n_fit=n_fit,
                          untrained_deep=untrained_deep, base_dir=base_dir)
        if built is None:
            if arm.outcomes is not None or arm.kind == outcome.kind:
                empty = [b for b, c in arm_columns(arm, table).items() if not c]
                if empty and arm.kind == outcome.kind:
                    raise SettingsError(
                        f"arm {arm.name}: no column of the table for block(s) {empty}; check "
                        "the block patterns and the feature table" + _foreign_hint(table, empty))
            continue
        arms.append(built)
    return arms
