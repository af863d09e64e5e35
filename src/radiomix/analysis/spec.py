"""The ``analysis:`` section of a study file: outcomes, column roles, arms, validation.

One specification drives every analysis (the demo is one study among others): what to
predict, which column plays which role, which arms to compare and how to validate them.
It is read by the same strict loader as the rest of the study file (an unknown key is
refused with the nearest valid key), and ``radiomix model`` builds the same object from its
flags.

Example
-------
.. code-block:: yaml

    analysis:
      title: Lung metastasis in soft-tissue sarcoma
      outcomes:
        - {name: lung_mets, kind: binary, column: lung_mets, positive: "1",
           label: lung metastasis}
        - {name: time_to_lung_mets, kind: survival, time: lung_mets_days, event: lung_mets,
           time_unit: days, horizons_years: [1, 2], label: time to lung metastasis}
      roles:
        group: patient_id
        centre: centre
        covariates:
          - {name: age}
          - {name: sex, kind: categorical}
          - {name: grade, kind: ordinal, levels: [Low, Intermediate, High]}
        derived: [days_dx_to_outcome, days_dx_to_last_fu]   # never model inputs
      arms:
        - {name: radiomics_knn, blocks: [radiomic], selector: [variance, correlation, mrmr],
           model: knn}
        - {name: fused_knn, blocks: [radiomic, deep], selector: [variance, correlation, mrmr],
           model: knn}
      validation: {schemes: [nested_cv], outer_splits: 5, inner_splits: 3, repeats: 5}

Column roles
------------
``group`` (patient id: no split puts one patient on both sides), ``lesion``, ``centre``, the
outcome columns (``column``, ``time``, ``event`` of every outcome), ``derived`` (anything
computed from an outcome: dates or days to the event, status at last follow-up, the outcome
text), ``covariates`` (numeric, categorical or ordinal), ``excluded`` and ``allow``
(covariates kept although the leak guard finds them outcome-derived). Outcome columns and
derived columns can never become a model input; a clinical column that is not declared as a
covariate is not used. Feature columns (``<tag>.<filter>.<family>.<feature>``) are the
radiomic and deep blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from radiomix.errors import SettingsError

OutcomeKind = Literal["binary", "survival"]
CovariateKind = Literal["numeric", "categorical", "ordinal"]
Scheme = Literal["nested_cv", "holdout", "external", "training_internal_external"]

SCHEMES: tuple[str, ...] = ("nested_cv", "holdout", "external", "training_internal_external")
BLOCK_NAMES: tuple[str, ...] = ("radiomic", "deep", "clinical", "volume")
BASELINES: tuple[str, ...] = ("clinical", "volume", "prevalence")
CLASSIFIERS: tuple[str, ...] = (
    "logistic", "penalised_logistic", "knn", "svm", "rf", "gb", "voting", "stacking",
    "radscore", "nomogram", "auto",
)
SURVIVAL_MODELS: tuple[str, ...] = ("cox", "coxnet", "cox_nomogram")
_MODELS: dict[str, tuple[str, ...]] = {"binary": CLASSIFIERS, "survival": SURVIVAL_MODELS}
"""The models of each outcome kind."""
SELF_TUNING_MODELS: frozenset[str] = frozenset({"penalised_logistic", "auto", "coxnet",
                                                "cox_nomogram"})
"""Models that choose their penalty (or pipeline) inside each fit, with no grid of the arm
(:data:`radiomix.analysis.arms.INTERNAL_TUNING` says how): ``tune: false`` changes nothing
for them and is refused."""
SELECTORS: tuple[str, ...] = ("variance", "correlation", "fdr", "lasso", "mrmr")
TIME_UNITS: dict[str, float] = {"days": 365.25, "months": 12.0, "years": 1.0}
"""Units of a survival time column, as the number of units per year."""
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*$")
_THRESHOLD = re.compile(
    r"^(0?\.\d+|youden|(sensitivity|specificity)=(0?\.\d+|1(\.0*)?))$")
"""A fixed probability in (0, 1), Youden's rule, or a sensitivity/specificity in (0, 1]."""


def _fail(msg: str) -> None:
    raise SettingsError(msg)


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _fail(f"{where} must be one of {', '.join(choices)}; got {value!r}{hint}")


def _names(where: str, value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
        _fail(f"{where} must be a list of names, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Covariate:
    """A clinical covariate: a model input of the ``clinical`` block.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical", "ordinal"}
        ``numeric`` values must parse as numbers (an unparsable cell is an error naming its
        row); ``categorical`` is one-hot coded with the first level as reference;
        ``ordinal`` is coded 0, 1, 2 … in the order of ``levels``.
    levels : tuple of str, optional
        Level order (ordinal: required; categorical: reference level first).
    """

    name: str
    kind: CovariateKind = "numeric"
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            _fail(f"a covariate needs a column name, got {self.name!r}")
        _choice(f"covariate {self.name}: kind", self.kind, ("numeric", "categorical", "ordinal"))
        if self.levels is not None:
            _names(f"covariate {self.name}: levels", tuple(str(v) for v in self.levels))
            object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))
            twice = sorted({v for v in self.levels if self.levels.count(v) > 1})
            if twice:  # the later place would win: Low coded above High
                _fail(f"covariate {self.name}: levels {list(self.levels)} name "
                      f"{', '.join(map(repr, twice))} more than once; give each level once, "
                      "in order")
        if self.kind == "ordinal" and not self.levels:
            _fail(f"covariate {self.name}: an ordinal covariate needs its levels in order")


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What to predict: a binary outcome or a time to event.

    Parameters
    ----------
    name : str
        Key of the outcome in the results.
    kind : {"binary", "survival"}
    label : str, optional
        Readable name for the report (default ``name``).
    column : str
        Binary: the outcome column.
    positive : str, optional
        Binary: the positive class as written in the column. Required unless the column
        holds 0/1 (or true/false); never guessed.
    time, event : str
        Survival: time column (in ``time_unit``) and event column.
    event_value : str
        Value of ``event`` that marks an observed event (default ``"1"``); every other
        value is censored.
    time_unit : {"days", "months", "years"}
    horizons_years : tuple of float
        Horizons of the time-dependent AUC and of survival calibration, in years.
    event_definition : str, optional
        The event in words (for the report).
    """

    name: str
    kind: OutcomeKind
    label: str | None = None
    column: str | None = None
    positive: str | None = None
    time: str | None = None
    event: str | None = None
    event_value: str = "1"
    time_unit: str = "days"
    horizons_years: tuple[float, ...] = ()
    event_definition: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            _fail(f"outcome name {self.name!r} must be an identifier (letters, digits, _)")
        _choice(f"outcome {self.name}: kind", self.kind, ("binary", "survival"))
        if self.positive is not None:
            object.__setattr__(self, "positive", str(self.positive))
        object.__setattr__(self, "event_value", str(self.event_value))
        if self.kind == "binary":
            if not self.column:
                _fail(f"outcome {self.name}: a binary outcome needs its column")
            for key in ("time", "event"):
                if getattr(self, key) is not None:
                    _fail(f"outcome {self.name}: {key} belongs to a survival outcome")
        else:
            if not (self.time and self.event):
                _fail(f"outcome {self.name}: a survival outcome needs time and event columns")
            if self.column is not None:
                _fail(f"outcome {self.name}: column belongs to a binary outcome; give time and "
                      "event")
        _choice(f"outcome {self.name}: time_unit", self.time_unit, tuple(TIME_UNITS))
        if not isinstance(self.horizons_years, tuple) or not all(
            isinstance(h, int | float) and not isinstance(h, bool) and h > 0
            for h in self.horizons_years
        ):
            _fail(f"outcome {self.name}: horizons_years must be positive numbers, got "
                  f"{self.horizons_years!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this outcome reads (never model inputs)."""
        return tuple(c for c in (self.column, self.time, self.event) if c)

    @property
    def title(self) -> str:
        """Readable name."""
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True, kw_only=True, slots=True)
class Roles:
    """Roles of the table's non-feature columns (see the module docstring).

    ``allow`` lists covariates kept deliberately although the leak guard finds them derived
    from an outcome (they separate a binary outcome or a survival event perfectly, or follow
    a survival time monotonically); the guard refuses them otherwise.
    """

    group: str = "patient_id"
    lesion: str | None = "lesion_id"
    centre: str | None = None
    covariates: tuple[Covariate, ...] = ()
    derived: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.group, str) or not self.group:
            _fail(f"roles.group must name the patient id column, got {self.group!r}")
        _names("roles.derived", self.derived)
        _names("roles.excluded", self.excluded)
        _names("roles.allow", self.allow)
        for bad, where in ((set(self.allow) & set(self.derived), "derived"),
                           (set(self.allow) & set(self.excluded), "excluded")):
            if bad:
                _fail(f"roles.allow: {sorted(bad)} are declared {where}; a column is either "
                      "an input kept deliberately or never an input")
        if not isinstance(self.covariates, tuple) or not all(
                isinstance(c, Covariate) for c in self.covariates):
            _fail(f"roles.covariates must be a list of covariates, e.g. [age, {{name: sex, "
                  f"kind: categorical}}]; got {self.covariates!r}")
        names = [c.name for c in self.covariates]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            _fail(f"roles.covariates lists {dup} twice")
        ids = {c for c in (self.group, self.lesion, self.centre) if c is not None}
        clash = sorted(ids & set(names))
        if clash:
            _fail(f"roles: {clash} are identifier/centre columns and cannot be covariates")
        for bad, where in ((set(names) & set(self.derived), "derived"),
                           (set(names) & set(self.excluded), "excluded")):
            if bad:
                _fail(f"roles: {sorted(bad)} are declared {where} and cannot be covariates")

    def covariate(self, name: str) -> Covariate:
        """The covariate called ``name``."""
        for c in self.covariates:
            if c.name == name:
                return c
        raise SettingsError(f"{name!r} is not a declared covariate")


@dataclass(frozen=True, kw_only=True, slots=True)
class Arm:
    """One model arm: feature blocks, a selector and a model.

    Parameters
    ----------
    name : str
    label : str, optional
    blocks : tuple of str
        ``radiomic``, ``deep``, ``clinical``, ``volume`` (the tumour-volume column).
    radiomic, deep : tuple of str
        Column patterns of the block (exact names or wildcards such as ``pet.*``,
        ``*.glcm.*``); default every column of the block.
    clinical : tuple of str, optional
        Covariates of the clinical block (default every declared covariate).
    selector : tuple of str
        Selection steps of the radiomic block, in order (``variance``, ``correlation``,
        ``fdr``, ``lasso``, ``mrmr``).
    model : str
        Binary outcomes: ``logistic``, ``penalised_logistic``, ``knn``, ``svm``, ``rf``,
        ``gb``, ``voting``, ``stacking``, ``radscore`` (LASSO rad-score), ``nomogram``
        (rad-score + clinical covariates in one logistic model), ``auto``. Survival: ``cox``,
        ``coxnet`` (LASSO/elastic-net Cox), ``cox_nomogram``.
    deep_pca : int or None
        Principal components of the deep block (fitted inside the training folds).
    tune : bool
        Tune the model's hyper-parameters in the inner folds (grid clipped to what the
        training folds can support).
    outcomes : tuple of str, optional
        Outcomes the arm applies to (default: every outcome its model fits).
    stability : str, optional
        A ``stability.parquet`` of ``radiomix stability`` (relative to the study file):
        radiomic columns whose ICC lower bound is below ``stability_threshold`` are dropped
        (first step of the arm; the ICC uses no outcome, so it may come from all cases);
        columns the table does not assess are dropped too.
    stability_threshold : float
    harmonise : bool
        ComBat harmonisation of the radiomic and deep columns by the declared centre
        (``roles.centre``), fitted on each training fold only and applied to its test rows
        (:class:`radiomix.model.harmonise.ComBatHarmoniser`). A training fold with a single
        batch makes the arm not estimable, with ComBat's message.
    harmonise_batch : str, optional
        A column of the table whose values are ComBat's batches instead of the centre (a
        scanner or reconstruction column that varies within the training centres). It is
        read by the ComBat step only and never reaches a model.
    budget : int, optional
        ``model: auto`` only: how many pipelines its search draws in each training fold
        (:class:`radiomix.model.search.AutoClassifier`; default 30).
    """

    name: str
    blocks: tuple[str, ...]
    label: str | None = None
    radiomic: tuple[str, ...] = ("*",)
    deep: tuple[str, ...] = ("*",)
    clinical: tuple[str, ...] | None = None
    selector: tuple[str, ...] = ()
    model: str = "logistic"
    deep_pca: int | None = 10
    tune: bool = True
    outcomes: tuple[str, ...] | None = None
    stability: str | None = None
    stability_threshold: float = 0.75
    harmonise: bool = False
    harmonise_batch: str | None = None
    budget: int | None = None

    def __post_init__(self) -> None:
        if self.budget is not None and (
                isinstance(self.budget, bool) or not isinstance(self.budget, int)
                or self.budget < 1 or self.model != "auto"):
            _fail(f"arm {self.name}: budget must be an integer >= 1, with model: auto "
                  f"(got {self.budget!r} with model {self.model})")
        if not isinstance(self.stability_threshold, float) or not \
                -1.0 <= self.stability_threshold <= 1.0:
            _fail(f"arm {self.name}: stability_threshold must be an ICC bound in [-1, 1]")
        if not isinstance(self.harmonise, bool):
            _fail(f"arm {self.name}: harmonise must be true or false")
        if self.harmonise_batch is not None and (
                not isinstance(self.harmonise_batch, str) or not self.harmonise_batch
                or not self.harmonise):
            _fail(f"arm {self.name}: harmonise_batch must name a column, with harmonise: true")
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            _fail(f"arm name {self.name!r} must be an identifier (letters, digits, _, +, -)")
        _names(f"arm {self.name}: blocks", self.blocks)
        for key in ("radiomic", "deep", "selector", "clinical", "outcomes"):
            if getattr(self, key) is not None:
                _names(f"arm {self.name}: {key}", getattr(self, key))
        if not self.blocks:
            _fail(f"arm {self.name}: list at least one block ({', '.join(BLOCK_NAMES)})")
        for b in self.blocks:
            _choice(f"arm {self.name}: block", b, BLOCK_NAMES)
        for s in self.selector:
            _choice(f"arm {self.name}: selector", s, SELECTORS)
        _choice(f"arm {self.name}: model", self.model, (*CLASSIFIERS, *SURVIVAL_MODELS))
        if self.model in ("radscore", "nomogram", "cox_nomogram") and "radiomic" not in \
                self.blocks:
            _fail(f"arm {self.name}: model {self.model} needs the radiomic block")
        if self.model in ("nomogram", "cox_nomogram") and "clinical" not in self.blocks:
            _fail(f"arm {self.name}: model {self.model} needs the clinical block")
        if self.deep_pca is not None and (
            not isinstance(self.deep_pca, int) or isinstance(self.deep_pca, bool)
            or self.deep_pca < 1
        ):
            _fail(f"arm {self.name}: deep_pca must be a positive integer or null")
        if not isinstance(self.tune, bool):
            _fail(f"arm {self.name}: tune must be true or false")
        if not self.tune and self.model in SELF_TUNING_MODELS:
            _fail(f"arm {self.name}: tune: false does not apply to model {self.model}, which "
                  "tunes its penalty inside each fit (nothing would change): leave tune out, "
                  "or use model logistic or knn, whose parameter tune: false fixes at its "
                  "default")

    @property
    def kind(self) -> OutcomeKind:
        """The outcome kind the arm's model predicts."""
        return "survival" if self.model in SURVIVAL_MODELS else "binary"


@dataclass(frozen=True, kw_only=True, slots=True)
class Validation:
    """How every arm is validated (the same splits for every arm).

    Parameters
    ----------
    schemes : tuple of str
        ``nested_cv`` (patient-grouped, stratified, repeated nested CV), ``holdout``
        (patient-level split, ``test_size``), ``external`` (train on the other centres, score
        only the ``test_centres``), ``training_internal_external`` (one table: apparent on
        the training centres, nested CV within them, external on the test centres).
    outer_splits, inner_splits, repeats : int
    test_size : float
    test_centres : tuple of str
    bootstrap : int
        Patient-bootstrap replicates of every interval.
    level : {"row", "patient"}
        Score rows, or patients (the mean prediction of a patient's rows, e.g. slices);
        intervals resample patients either way.
    threshold : str
        Operating threshold of accuracy, sensitivity and specificity: a probability
        (``"0.5"``), ``youden`` or ``sensitivity=0.9`` / ``specificity=0.9``; rules are
        fixed on the training folds' inner cross-validated predictions, never on test rows.
    seed : int
    """

    schemes: tuple[str, ...] = ("nested_cv",)
    outer_splits: int = 5
    inner_splits: int = 3
    repeats: int = 5
    test_size: float = 0.3
    test_centres: tuple[str, ...] = ()
    bootstrap: int = 1000
    threshold: str = "0.5"
    level: str = "row"
    seed: int = 0

    def __post_init__(self) -> None:
        _names("validation.schemes", self.schemes)
        _choice("validation.level", self.level, ("row", "patient"))
        if not self.schemes:
            _fail("validation.schemes must list at least one scheme")
        for s in self.schemes:
            _choice("validation.schemes", s, SCHEMES)
        for key, low in (("outer_splits", 2), ("inner_splits", 2), ("repeats", 1),
                         ("bootstrap", 50)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                _fail(f"validation.{key} must be an integer >= {low}, got {v!r}")
        if not isinstance(self.test_size, float) or not 0.05 <= self.test_size <= 0.7:
            _fail(f"validation.test_size must be a fraction in [0.05, 0.7], got "
                  f"{self.test_size!r}")
        object.__setattr__(self, "test_centres", tuple(str(c) for c in self.test_centres))
        external = [s for s in self.schemes if s in ("external", "training_internal_external")]
        if external and not self.test_centres:
            _fail("validation.test_centres (--test-centre on the command line) must name the "
                  "external centre(s) for the external scheme, and roles.centre (--centre) "
                  "the column that holds the centres")
        if self.test_centres and not external:
            _fail(f"validation.test_centres [{', '.join(self.test_centres)}] (--test-centre "
                  "on the command line) are read by the external and training_internal_external "
                  f"schemes only, and the schemes are {', '.join(self.schemes)}: drop "
                  "test_centres, or add one of those schemes")
        object.__setattr__(self, "threshold", str(self.threshold).strip().lower())
        if not _THRESHOLD.match(self.threshold):
            _fail("validation.threshold must be a probability such as 0.5, 'youden', or "
                  "'sensitivity=S' / 'specificity=S' with S in (0, 1] (e.g. 0.9); got "
                  f"{self.threshold!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            _fail(f"validation.seed must be an integer, got {self.seed!r}")
        top = 2**32 - self.repeats  # repeat r seeds its splits with seed + r (numpy's range)
        if not 0 <= self.seed <= top:
            _fail(f"validation.seed must be an integer from 0 to {top} (--seed), got "
                  f"{self.seed!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class LeakageAudit:
    """Slice-level leakage audit: the same model scored with naive slice-level splits and
    with patient-grouped splits (the lung study's 98.6 % is what the naive split gives).

    Parameters
    ----------
    table : str
        Slice-level table (one row per slice, carrying ``patient_id``): a path relative to
        the study file, or the name of a table the cohort runner wrote beside the features
        (``deep_slices.parquet``, written with ``deep: {mode: slices, keep_slices: true}``).
    outcome : str
        Binary outcome (name in ``outcomes``); each slice takes its patient's label.
    columns : tuple of str
        Feature column patterns (fnmatch; default every deep-embedding column).
    model : {"knn", "logistic"}
        The model fitted on both sides: k-nearest neighbours (``n_neighbors``) or an L2
        logistic regression, after standardisation and a PCA to ``pca`` components.
    pca : int or None
        Components of the PCA (``None``: none).
    n_neighbors : int
    repeats : int
        Repeats of the hold-out and of the cross-validation (the splits of
        ``validation``: ``test_size`` and ``outer_splits``).
    """

    table: str
    outcome: str
    columns: tuple[str, ...] = ("*.deep.*",)
    model: str = "knn"
    pca: int | None = 10
    n_neighbors: int = 5
    repeats: int = 3

    def __post_init__(self) -> None:
        _choice("leakage_audit.model", self.model, ("knn", "logistic"))
        for name in ("n_neighbors", "repeats"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                _fail(f"leakage_audit.{name} must be a positive integer, got {v!r}")
        if self.pca is not None and (not isinstance(self.pca, int) or isinstance(self.pca, bool)
                                     or self.pca < 1):
            _fail(f"leakage_audit.pca must be a positive integer or null, got {self.pca!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class AnalysisSettings:
    """The ``analysis:`` section (see the module docstring).

    Parameters
    ----------
    outcomes : tuple of Outcome
    roles : Roles
    arms : tuple of Arm
        Declared arms (the baselines are added automatically).
    baselines : tuple of str
        Standard arms added and labelled as baselines: ``clinical`` (the declared
        covariates), ``volume`` (tumour volume only: the size confound), ``prevalence``
        (predicts the training prevalence: the Brier reference). Default all three.
    reference_arm : str, optional
        Arm the others are tested against (default ``clinical`` when present, else the
        first arm).
    validation : Validation
    clinical : str, optional
        A clinical table (CSV/Parquet, one row per patient) joined on ``roles.group``,
        relative to the study file; default: the clinical columns carried in the feature
        table.
    title : str, optional
    leakage_audit : LeakageAudit, optional
    """

    outcomes: tuple[Outcome, ...]
    roles: Roles = field(default_factory=Roles)
    arms: tuple[Arm, ...] = ()
    baselines: tuple[str, ...] = BASELINES
    reference_arm: str | None = None
    validation: Validation = field(default_factory=Validation)
    clinical: str | None = None
    title: str | None = None
    leakage_audit: LeakageAudit | None = None

    def __post_init__(self) -> None:
        if not self.outcomes:
            _fail("analysis.outcomes must declare at least one outcome")
        names = [o.name for o in self.outcomes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            _fail(f"analysis.outcomes: {dup} declared twice")
        arm_names = [a.name for a in self.arms]
        dup = sorted({n for n in arm_names if arm_names.count(n) > 1})
        if dup:
            _fail(f"analysis.arms: {dup} declared twice")
        clash = sorted(set(arm_names) & set(self.baselines))
        if clash:
            _fail(f"analysis.arms: {clash} are baseline names; rename the arm(s)")
        for b in self.baselines:
            _choice("analysis.baselines", b, BASELINES)
        for a in self.arms:
            self._check_arm_outcomes(a)
            if a.harmonise and not (a.harmonise_batch or self.roles.centre):
                _fail(f"arm {a.name}: harmonise needs the centre column declared "
                      "(roles.centre) or a harmonise_batch column")
            if a.harmonise_batch in {*self.outcome_columns, *self.roles.derived}:
                _fail(f"arm {a.name}: harmonise_batch {a.harmonise_batch!r} is an outcome or "
                      "derived column")
        roles = self.roles
        used = {c.name for c in roles.covariates}
        for o in self.outcomes:
            bad = sorted(used & set(o.columns))
            if bad:
                _fail(f"roles.covariates: {bad} are columns of the outcome {o.name!r}; an "
                      "outcome column can never be a model input")
        if self.leakage_audit is not None:
            _choice("leakage_audit.outcome", self.leakage_audit.outcome, tuple(names))
            if next(o for o in self.outcomes
                    if o.name == self.leakage_audit.outcome).kind != "binary":
                _fail("leakage_audit.outcome must be a binary outcome (the audit compares "
                      "AUCs)")
        for o in self.outcomes:
            if not self.arms_for(o):
                _fail(f"outcome {o.name}: no arm runs for this {o.kind} outcome (baselines: "
                      f"[{', '.join(self.baselines)}], and no declared arm has a {o.kind} "
                      f"model); declare an arm with one of {', '.join(_MODELS[o.kind])}, or "
                      "keep a baseline in analysis.baselines")
        self._check_reference_arm()

    def _check_arm_outcomes(self, arm: Arm) -> None:
        """Refuse an arm that would run for no outcome: ``outcomes: []``, an outcome of the
        other kind than its model's, or (without ``outcomes``) no outcome of its kind; the
        arm would otherwise vanish from the results without a word."""
        names = tuple(o.name for o in self.outcomes)
        if arm.outcomes is not None and not arm.outcomes:
            _fail(f"arm {arm.name}: outcomes is empty, so the arm runs for no outcome; list "
                  f"the outcomes it is for (one of {', '.join(names)}), or leave the key out "
                  f"for every {arm.kind} outcome")
        for wanted in arm.outcomes or ():
            _choice(f"arm {arm.name}: outcomes", wanted, names)
            kind = next(o.kind for o in self.outcomes if o.name == wanted)
            if kind != arm.kind:
                _fail(f"arm {arm.name}: model {arm.model} is for {arm.kind} outcomes, and "
                      f"{wanted} is a {kind} outcome; for it use one of "
                      f"{', '.join(_MODELS[kind])} (or drop {wanted} from the arm's outcomes)")
        if arm.outcomes is None and not any(o.kind == arm.kind for o in self.outcomes):
            shown = ", ".join(f"{o.name} ({o.kind})" for o in self.outcomes)
            other = self.outcomes[0].kind
            _fail(f"arm {arm.name}: model {arm.model} is for {arm.kind} outcomes, and the "
                  f"study declares none (outcomes: {shown}); for {other} outcomes use one "
                  f"of {', '.join(_MODELS[other])}")

    def arms_for(self, outcome: Outcome) -> list[str]:
        """Names of the arms that run for ``outcome`` as far as the study file says (a
        baseline may still find no column in the table: the volume baseline)."""
        baselines = [b for b in self.baselines
                     if (b != "clinical" or self.roles.covariates)
                     and (b != "prevalence" or outcome.kind == "binary")]
        declared = [a.name for a in self.arms if a.kind == outcome.kind
                    and (a.outcomes is None or outcome.name in a.outcomes)]
        return [*baselines, *declared]

    def _check_reference_arm(self) -> None:
        """Refuse a ``reference_arm`` that is no arm, or that does not run for every
        outcome (each outcome's arms are tested against it)."""
        ref = self.reference_arm
        if ref is None:
            return
        every = (*self.baselines, *(a.name for a in self.arms))
        _choice("analysis.reference_arm", ref, every)
        for o in self.outcomes:
            if ref not in self.arms_for(o):
                _fail(f"analysis.reference_arm {ref} does not run for the {o.kind} outcome "
                      f"{o.name} (its arms: {', '.join(self.arms_for(o))}); choose an arm "
                      "that runs for every outcome, or leave reference_arm out (clinical "
                      "when present)")

    @property
    def outcome_columns(self) -> tuple[str, ...]:
        """Every column read by an outcome."""
        return tuple(dict.fromkeys(c for o in self.outcomes for c in o.columns))


def analysis_from_dict(data: Any) -> AnalysisSettings:
    """Build :class:`AnalysisSettings` from the study file's ``analysis:`` mapping.

    Raises
    ------
    SettingsError
        Unknown key (with the nearest valid key), missing or invalid value.
    """
    from radiomix.settings.loader import settings_from_dict

    if not isinstance(data, dict):
        raise SettingsError("analysis must be a mapping (outcomes, roles, arms, validation)")
    if "outcomes" not in data:
        import difflib

        near = [k for k in map(str, data) if difflib.get_close_matches(k, ["outcomes"], n=1)]
        hint = (f"; the key {near[0]!r} is not one of its keys: did you mean 'outcomes'?"
                if near else "")
        raise SettingsError(f"analysis needs an 'outcomes' list{hint}")
    data = dict(data)
    for key in ("outcomes", "arms"):
        if key in data and not isinstance(data[key], list):
            raise SettingsError(f"analysis.{key} must be a list of mappings")
    _refuse_text_for_lists(data, AnalysisSettings, "analysis")
    _refuse_unused_keys(data)
    _refuse_float_pca(data)
    roles = data.get("roles")
    if isinstance(roles, dict) and isinstance(roles.get("covariates"), list):
        roles = dict(roles)
        roles["covariates"] = [{"name": c} if isinstance(c, str) else c
                               for c in roles["covariates"]]
        data["roles"] = roles
    for key in ("outcomes", "arms"):
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict):
                raise SettingsError(f"analysis.{key}[{i}] must be a mapping, got {item!r}")
    return settings_from_dict(data, cls=AnalysisSettings, _where="analysis")


def _refuse_text_for_lists(data: dict[str, Any], cls: type, where: str) -> None:
    """Refuse text where the ``analysis:`` section expects a list, at every level (an
    arm's ``outcomes: lung_mets`` would otherwise be read letter by letter).

    Raises
    ------
    SettingsError
        ``KEY must be a list, e.g. [...]``, naming the user's text.
    """
    import dataclasses
    import types
    import typing

    from radiomix.settings.loader import _item, text_as_list

    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        if key not in hints:
            continue  # an unknown key: the loader names it with the nearest valid one
        hint = hints[key]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        path = f"{where}.{key}"
        if typing.get_origin(hint) is tuple:
            if isinstance(value, str):
                _fail(f"{path} must be a list, e.g. {text_as_list(value)}; got the text "
                      f"{value!r}")
            inner = typing.get_args(hint)[0]
            if isinstance(inner, type) and dataclasses.is_dataclass(inner) and \
                    isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        _refuse_text_for_lists(item, inner, _item(path, i, item))
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint) and \
                isinstance(value, dict):
            _refuse_text_for_lists(value, hint, path)


_ARM_KEY_BLOCK: dict[str, str] = {"radiomic": "radiomic", "selector": "radiomic",
                                  "deep": "deep", "deep_pca": "deep", "clinical": "clinical"}
"""Keys of an arm that set up one of its blocks: given without that block, ignored."""


def _refuse_float_pca(data: dict[str, Any]) -> None:
    """Refuse an arm's ``deep_pca`` written as a float: a count of components is an
    integer, and ``1.0`` reads as "all the variance" as easily as "one component" (other
    integer keys take a whole float as its integer).

    Raises
    ------
    SettingsError
        Naming the arm, the value and the two readings.
    """
    for arm in data.get("arms") or []:
        value = arm.get("deep_pca") if isinstance(arm, dict) else None
        if isinstance(value, float):
            _fail(f"arm {arm.get('name')}: deep_pca is a number of principal components, an "
                  f"integer; {value!r} could also read as a share of the variance: write "
                  f"{int(value) if value.is_integer() and value >= 1 else 10} for that many "
                  "components, or null to keep every deep column")


def _refuse_unused_keys(data: dict[str, Any]) -> None:
    """Refuse keys the study file gives that would change nothing (the dataclasses cannot
    tell them from their defaults): an arm key for a block the arm does not have,
    ``stability_threshold`` without ``stability``, ``validation.test_size`` with no
    hold-out (neither the holdout scheme nor the leakage audit).

    Raises
    ------
    SettingsError
        One line naming the key, why it is unused and the fix.
    """
    for arm in data.get("arms") or []:
        if not isinstance(arm, dict) or not isinstance(arm.get("blocks"), list):
            continue  # the loader refuses it
        name, blocks = arm.get("name"), arm["blocks"]
        for key, block in _ARM_KEY_BLOCK.items():
            if arm.get(key) not in (None, []) and block not in blocks:
                _fail(f"arm {name}: {key} sets up the {block} block, which the arm does not "
                      f"have (blocks: [{', '.join(map(str, blocks))}]); add {block} to its "
                      f"blocks, or drop {key}")
        if "stability_threshold" in arm and not arm.get("stability"):
            _fail(f"arm {name}: stability_threshold is the ICC bound of the stability "
                  "filter, which runs only with stability: FILE (a table of radiomix "
                  "stability); give stability, or drop stability_threshold")
    validation = data.get("validation")
    if isinstance(validation, dict) and "test_size" in validation:
        schemes = validation.get("schemes", list(Validation().schemes))
        if isinstance(schemes, list) and "holdout" not in schemes and \
                data.get("leakage_audit") is None:
            _fail(f"analysis.validation.test_size is the share of patients the holdout "
                  f"scheme (and the leakage audit) scores, and the schemes are "
                  f"[{', '.join(map(str, schemes))}]: drop test_size, or add holdout to "
                  "validation.schemes")
