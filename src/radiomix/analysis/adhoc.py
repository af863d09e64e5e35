"""An analysis specification from flat options (``radiomix model``), the same object a
study file's ``analysis:`` section gives.

Where no roles are declared (a bare CSV), nothing is guessed in the model's favour: clinical
columns enter only when named as covariates. The features are the columns that are not role
columns (group, lesion, centre, outcome, time, event, derived, excluded) and:

- in a table with radiomix's feature names (``<tag>.<image type>.<family>.<feature>``,
  ``<tag>.deep.…``), those columns only. Such a table (``radiomix run``'s) carries the study's
  clinical and outcome columns beside the features; a numeric one (a follow-up time, an age)
  enters only when ``--columns`` names it, for a time-to-event column that does not separate
  the outcome perfectly would pass every guard and inflate the model's metrics. The columns
  left out are listed in a warning and a banner of the report;
- in a wide table of another tool (no radiomix feature name at all), the columns that
  ``--columns`` names, and it must name them: such a table may carry the follow-up time the
  outcome was built from under any name (``fu_days``), and nothing in a name tells a
  feature from it, so radiomix refuses to guess.

The leak guard of :func:`~radiomix.analysis.data.build_table` then checks every input without
a radiomix feature name against the outcome, the survival time and the ``--derived`` columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from radiomix.analysis.data import MISSING_TOKENS, PROVENANCE_COLUMNS, _listing
from radiomix.analysis.spec import (
    SELF_TUNING_MODELS,
    AnalysisSettings,
    Arm,
    Covariate,
    Outcome,
    Roles,
    Validation,
)
from radiomix.errors import InputError, SettingsError

log = logging.getLogger(__name__)

STANDARD_ARMS: tuple[str, ...] = ("radiomics", "deep", "fused", "radscore", "clinical+radscore")
"""Arms ``--arms all`` adds (each when the table has its blocks)."""


def parse_covariates(items: Sequence[str], ordinal: Sequence[str] = ()) -> tuple[Covariate, ...]:
    """Covariates from ``NAME`` or ``NAME:categorical|numeric`` items and ordinal specs
    ``NAME=LOW,MID,HIGH``.

    Examples
    --------
    >>> [c.kind for c in parse_covariates(["age", "sex:categorical"], ["grade=Low,High"])]
    ['numeric', 'categorical', 'ordinal']
    """
    ords: dict[str, tuple[str, ...]] = {}
    for spec in ordinal:
        name, sep, levels = spec.partition("=")
        values = tuple(v.strip() for v in levels.split(",") if v.strip())
        if not sep or not name.strip() or len(values) < 2:
            raise SettingsError(f"ordinal spec {spec!r} must read COLUMN=LOW,...,HIGH, e.g. "
                                "grade=Low,Intermediate,High")
        if name.strip() in ords:  # the later one would win without a word
            raise SettingsError(f"--ordinal gives {name.strip()!r} twice; give each ordinal "
                                "covariate once, with its levels in order")
        ords[name.strip()] = values
    out = []
    names = []
    for item in items:
        name, _, kind = item.partition(":")
        name = name.strip()
        names.append(name)
        if name in ords:
            if kind.strip() and kind.strip() != "ordinal":  # it became ordinal without a word
                raise SettingsError(f"--covariates declares {name!r} {kind.strip()} and "
                                    f"--ordinal declares it ordinal; declare it once")
            out.append(Covariate(name=name, kind="ordinal", levels=ords[name]))
        else:
            out.append(Covariate(name=name, kind=(kind.strip() or "numeric")))  # type: ignore[arg-type]
    for name, ordered in ords.items():
        if name not in names:
            out.append(Covariate(name=name, kind="ordinal", levels=ordered))
    return tuple(out)


def numeric_columns(frame: pd.DataFrame, reserved: set[str]) -> list[str]:
    """Columns of ``frame`` that hold numbers (all but at most a few cells parse), excluding
    ``reserved``. A column with a few unparsable cells is kept, so that the analysis table
    names the bad cell instead of dropping the column in silence."""
    out = []
    for c in frame.columns:
        name = str(c)
        if name in reserved or name in PROVENANCE_COLUMNS:
            continue
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            out.append(name)
            continue
        text = s.astype(str).str.strip()
        text = text[~text.isin(MISSING_TOKENS)]
        if text.empty:
            continue
        ok = pd.to_numeric(text, errors="coerce").notna().mean()
        if ok >= 0.9:
            out.append(name)
    return out


def adhoc_spec(
    *,
    target: str | None,
    positive: str | None = None,
    time: str | None = None,
    event: str | None = None,
    event_value: str = "1",
    time_unit: str = "days",
    horizons: Sequence[float] = (),
    group: str = "patient_id",
    lesion: str | None = "lesion_id",
    centre: str | None = None,
    covariates: Sequence[Covariate] = (),
    derived: Sequence[str] = (),
    excluded: Sequence[str] = (),
    model: str = "penalised_logistic",
    selector: Sequence[str] = (),
    deep_pca: int | None = 10,
    tune: bool = True,
    budget: int | None = None,
    arms: Sequence[str] = (),
    radiomic: Sequence[str] = (),
    deep: Sequence[str] = (),
    validation: Validation | None = None,
) -> AnalysisSettings:
    """The specification ``radiomix model`` runs (see the module docstring).

    The arm ``model`` uses the chosen feature columns (``radiomic`` and ``deep``, exact names,
    from :func:`model_inputs`) with ``model`` and ``selector``; ``arms`` replaces it by standard
    arms (:data:`STANDARD_ARMS`, or ``all``) built from the same columns. The baselines
    (clinical covariates, tumour volume, prevalence) are always added.

    Raises
    ------
    SettingsError
        Neither ``target`` nor ``time``/``event``, or both; unknown arm names.
    """
    if (target is None) == (time is None and event is None):
        raise SettingsError("give --target for a binary outcome, or --time and --event for "
                            "a time to event (not both)")
    if target is not None:
        outcome = Outcome(name=_ident(target), kind="binary", column=target, positive=positive)
        survival = False
    else:
        if not (time and event):
            raise SettingsError("a time-to-event outcome needs both --time and --event")
        outcome = Outcome(name="time_to_event", kind="survival", time=time, event=event,
                          event_value=event_value, time_unit=time_unit,
                          horizons_years=tuple(float(h) for h in horizons))
        survival = True
        if model in ("logistic", "penalised_logistic"):
            model = "coxnet"
        if model == "lasso-cox":
            model = "coxnet"
    roles = Roles(group=group, lesion=lesion, centre=centre, covariates=tuple(covariates),
                  derived=tuple(derived), excluded=tuple(excluded))
    wanted = list(arms)
    if wanted == ["all"]:
        wanted = list(STANDARD_ARMS)
    unknown = [a for a in wanted if a not in STANDARD_ARMS and a != "clinical"]
    if unknown:
        raise SettingsError(f"unknown arm(s) {unknown}; choose among clinical, "
                            f"{', '.join(STANDARD_ARMS)} or all")
    rad, dp = tuple(radiomic) or ("*",), tuple(deep) or ("*",)
    blocks = tuple(b for b, cols in (("radiomic", radiomic), ("deep", deep)) if cols)
    if budget is not None and model != "auto":
        raise SettingsError(f"--budget sets the search of --model auto; the model is {model}")
    built: list[Arm] = []
    if not wanted and not blocks:
        alone = ("the clinical covariates alone are the clinical baseline arm, which every "
                 "analysis runs")
        if model in ("nomogram", "cox_nomogram"):
            raise SettingsError(
                f"--model {model} has no radiomic or deep feature column to join with the "
                f"covariates (--columns names none); {alone}: name feature columns in "
                "--columns")
        log.warning("no radiomic or deep feature column to model: --model %s is not fitted, "
                    "only the baselines run (%s)", model, alone)
    if not wanted and model in ("nomogram", "cox_nomogram"):
        # a nomogram joins the rad-score of the features with the clinical covariates
        if not covariates:
            raise SettingsError(
                f"--model {model} joins a rad-score with clinical covariates: declare them "
                "with --covariates (e.g. --covariates age,grade)")
        blocks = (*blocks, "clinical")
    def tuned(m: str) -> bool:
        # a self-tuning model tunes inside its fit whatever --no-tune says (warned below)
        return tune or m in SELF_TUNING_MODELS

    if not wanted and blocks:
        built.append(Arm(name="model", label=f"Features → {model}", blocks=blocks,
                         radiomic=rad, deep=dp, selector=tuple(selector), model=model,
                         deep_pca=deep_pca, tune=tuned(model),
                         budget=budget))
    imaging = "coxnet" if survival else model
    search: dict[str, Any] = {"budget": budget} if imaging == "auto" else {}
    has = {"radiomic": bool(radiomic), "deep": bool(deep),
           "clinical": bool(covariates)}
    for a in wanted:
        need = {"radiomics": ("radiomic",), "deep": ("deep",), "fused": ("radiomic", "deep"),
                "radscore": ("radiomic",), "clinical+radscore": ("radiomic", "clinical"),
                "clinical": ()}[a]
        if not all(has[b] for b in need):
            if arms != ("all",) and list(arms) != ["all"]:
                raise SettingsError(f"arm {a!r} needs the {' and '.join(need)} block(s), which "
                                    "the chosen columns do not give")
            continue
        common: dict[str, Any] = {"radiomic": rad, "deep": dp,
                                  "tune": tuned(imaging)}
        if a == "radiomics":
            built.append(Arm(name="radiomics", blocks=("radiomic",), selector=tuple(selector),
                             model=imaging, **common, **search))
        elif a == "deep":
            built.append(Arm(name="deep", blocks=("deep",), model=imaging, deep_pca=deep_pca,
                             **common, **search))
        elif a == "fused":
            built.append(Arm(name="fused", blocks=("radiomic", "deep"),
                             selector=tuple(selector), model=imaging, deep_pca=deep_pca,
                             **common, **search))
        elif a == "radscore":
            m = "coxnet" if survival else "radscore"
            built.append(Arm(name="radscore", blocks=("radiomic",), model=m,
                             **{**common, "tune": tuned(m)}))
        elif a == "clinical+radscore":
            m = "cox_nomogram" if survival else "nomogram"
            built.append(Arm(name="clinical+radscore", blocks=("radiomic", "clinical"), model=m,
                             **{**common, "tune": tuned(m)}))
    fixed = [a for a in built if a.model in SELF_TUNING_MODELS]
    if not tune and fixed:
        log.warning("--no-tune does not apply to arm(s) %s: their models (%s) tune their "
                    "penalty inside each fit; --model logistic or knn fixes its parameter at "
                    "its default instead", ", ".join(a.name for a in fixed),
                    ", ".join(sorted({a.model for a in fixed})))
    return AnalysisSettings(outcomes=(outcome,), roles=roles, arms=tuple(built),
                            validation=validation or Validation())


def _ident(name: str) -> str:
    import re

    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return out if out[:1].isalpha() else f"y_{out}"


def model_inputs(features: pd.DataFrame | None, reserved: set[str] | dict[str, str],
                 patterns: Sequence[str] | None, *, has_covariates: bool,
                 clinical: pd.DataFrame | None = None,
                 outcome_columns: Sequence[str] = (),
                 ) -> tuple[list[str], list[str], list[str], list[str]]:
    """The feature-table columns ``radiomix model`` uses.

    ``patterns`` (``--columns``): exact names, wildcards, or the block names ``radiomic`` /
    ``deep``; ``clinical`` is refused unless covariates are declared (they are the clinical
    block). Default: the numeric columns of the feature table that are not in ``reserved``
    (role columns: group, lesion, centre, outcome, time, event, derived, excluded,
    covariates) and carry radiomix's feature names. A table with numeric non-role columns
    but no radiomix feature name (a wide table of another tool) needs ``patterns``.

    ``reserved`` may map each role column to what it is (``"an outcome column (the
    --target)"``): a pattern naming one is refused with it. A "did you mean" hint never
    proposes a role column, nor a column whose name contains one of ``outcome_columns``
    (``lung_mets_days`` beside the outcome ``lung_mets``: likely derived from it).

    Returns
    -------
    (radiomic, deep, extra, unnamed)
        Chosen columns of each block; ``extra``: chosen columns without radiomix's feature
        naming, and a deep slice count named whole (:func:`~radiomix.model.columns.
        is_deep_count`; a wildcard never chooses one) (radiomic block, named to
        :func:`~radiomix.analysis.data.build_table`);
        ``unnamed``: numeric columns without radiomix's feature naming that no pattern
        chose (not used; listed for the user).

    Raises
    ------
    SettingsError
        ``clinical`` asked without covariates (the message lists the table's columns), a
        pattern naming a role column, or no pattern for a table without radiomix feature
        names (the message lists its numeric columns).
    InputError
        A pattern that matches nothing.
    """
    from radiomix.model.columns import FeatureName, is_deep_count, select_columns

    pats = [p.strip() for p in (patterns or []) if p.strip()]
    if "clinical" in pats:
        if not has_covariates:
            cols = [str(c) for t in (features, clinical) if t is not None for c in t.columns
                    if str(c) not in reserved]
            raise SettingsError(
                "--columns clinical needs the covariates named: no column roles are declared "
                "for this table, so radiomix cannot tell a covariate from an outcome-derived "
                "column (days to event, status, outcome text). Name them with --covariates "
                "(e.g. --covariates age,sex:categorical --ordinal grade=Low,Intermediate,High)"
                + (f"; the table's columns: {', '.join(cols[:40])}" if cols else "")
            )
        pats = [p for p in pats if p != "clinical"]
        if not pats:
            return [], [], [], []
    if features is None:
        return [], [], [], []
    reasons = dict(reserved) if isinstance(reserved, dict) else dict.fromkeys(
        reserved, "a role column (outcome, identifier, derived or covariate)")
    candidates = numeric_columns(features, set(reasons))
    named = [c for c in candidates if FeatureName.parse(c) is not None and not is_deep_count(c)]
    refused = {c: why for c, why in reasons.items() if c in features.columns}
    likely_derived = [c for c in candidates if FeatureName.parse(c) is None
                      and any(o and o in c for o in outcome_columns)]
    if not pats and candidates and not named:
        raise SettingsError(
            "the feature table has no column with radiomix's feature names (<tag>.<image "
            "type>.<family>.<feature>), so radiomix cannot tell a feature from a follow-up "
            "time or another column computed from the outcome: name the feature columns with "
            "--columns (names or wildcards, e.g. --columns 'feat_*'); its numeric columns "
            f"other than the roles: {_listing(candidates)}"
        )
    chosen = select_columns(candidates, pats, refused=refused,
                            unsuggested=likely_derived) if pats else named
    # a count of slices is no deep value: an input only when named whole, as a plain column
    counts = [c for c in chosen if is_deep_count(c) and c not in pats]
    chosen = [c for c in chosen if not is_deep_count(c) or c in pats]
    if counts and not chosen:
        raise SettingsError(
            f"--columns {' '.join(pats)} matches only {_listing(counts)}, the number of ROI "
            "slices a deep embedding read: a measure of the tumour's extent, not a feature, "
            "which a wildcard never chooses; name it whole to use it as a plain input")
    unnamed = [c for c in candidates
               if c not in named and c not in chosen and not is_deep_count(c)]
    rad, deep, extra = [], [], []
    for c in chosen:
        parsed = FeatureName.parse(c)
        if parsed is None or is_deep_count(c):
            extra.append(c)
            rad.append(c)
        elif parsed.block == "deep":
            deep.append(c)
        else:
            rad.append(c)
    return rad, deep, extra, unnamed


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def run_adhoc(
    out_dir: Any,
    *,
    features: Any = None,
    clinical: Any = None,
    target: str | None = None,
    positive: str | None = None,
    group: str = "patient_id",
    lesion: str | None = None,
    columns: str | None = None,
    covariates: str | None = None,
    ordinal: Sequence[str] = (),
    derived: str | None = None,
    exclude: str | None = None,
    allow: str | None = None,
    model: str = "penalised_logistic",
    selector: str | None = None,
    deep_pca: int | None = 10,
    tune: bool = True,
    budget: int | None = None,
    arms: str | None = None,
    scheme: str = "nested_cv",
    centre: str | None = None,
    test_centres: Sequence[str] = (),
    outer: int = 5,
    inner: int = 3,
    repeats: int = 5,
    test_size: float | None = None,
    bootstrap: int = 1000,
    threshold: str = "0.5",
    level: str = "row",
    seed: int = 0,
    time: str | None = None,
    event: str | None = None,
    event_value: str = "1",
    time_unit: str = "days",
    horizons: Sequence[float] = (),
    report: bool = True,
    progress: Any = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Run the engine on a feature and/or clinical table from flat options (what
    ``radiomix model`` does); comma-separated strings as on the command line; ``jobs``
    worker processes share the arms (:func:`~radiomix.analysis.engine.run_analysis`).

    Returns
    -------
    dict
        The results document (also in ``out_dir/analysis.json``).
    """
    from pathlib import Path

    from radiomix.analysis.data import build_table, read_any, tumour_tags
    from radiomix.analysis.engine import run_analysis
    from radiomix.table import ANALYSIS_PACKAGES, file_hash, package_versions, table_hash

    feat = read_any(features) if features is not None else None
    clin = read_any(clinical) if clinical is not None else None
    if feat is None and clin is None:
        raise SettingsError("give --features (feature table), --clinical, or both")
    if lesion is None:
        lesion = "lesion_id" if feat is not None and "lesion_id" in feat.columns else None
    elif feat is None or lesion not in feat.columns:
        raise SettingsError(f"--lesion {lesion!r} is not a column of the feature table")
    covs = parse_covariates(_split(covariates), ordinal)
    given = {c for c in (target, time, event) if c}
    prov = _table_provenance(features)
    recorded = [c for c in _study_outcome_columns(prov) if c not in given]
    roles_reserved: dict[str, str] = {}
    for names, what in (
            (recorded, "an outcome column of the study that wrote the table (its time, "
                       "event or label, recorded by radiomix run; model it with --target or "
                       "--time/--event)"),
            ([c.name for c in covs], "a covariate (--covariates): it enters the clinical "
                                     "block, not --columns"),
            (_split(exclude), "excluded (--exclude)"),
            (_split(derived), "declared derived from the outcome (--derived)"),
            ([centre], "the centre column (--centre)"),
            ([lesion], "the lesion id column (--lesion)"),
            ([group], "the patient id column (--groups)"),
            ([event], "an outcome column (the event of the survival outcome, --event)"),
            ([time], "an outcome column (the time of the survival outcome, --time)"),
            ([target], "an outcome column (the binary outcome, --target)")):
        roles_reserved.update({c: what for c in names if c})  # outcome roles win
    rad, deep, extra, unnamed = model_inputs(
        feat, roles_reserved, _split(columns) or None, has_covariates=bool(covs),
        clinical=clin, outcome_columns=[c for c in (target, time, event) if c])
    banners = []
    if deep:
        from radiomix.analysis.study import deep_flag

        untrained = deep_flag(prov)
    else:
        untrained = False
    if untrained:
        from radiomix.analysis.study import UNTRAINED_BANNER

        banners.append(UNTRAINED_BANNER)
        log.warning("%s", UNTRAINED_BANNER["text"])  # on the console too, as analyse says it
    if unnamed:
        shown = ", ".join(unnamed[:12]) + (f" and {len(unnamed) - 12} more"
                                            if len(unnamed) > 12 else "")
        text = (f"{len(unnamed)} numeric column(s) of the feature table without radiomix "
                f"feature names were not used as features: {shown}; name them with --columns "
                "(or declare them with --covariates) to use them, or with --derived if they "
                "are derived from the outcome (a time to an event, a follow-up: the leak guard "
                "then refuses every input that follows them)")
        log.warning(text)
        banners.append({"level": "info", "title": "Columns not used", "text": text})
    if test_size is not None and scheme != "holdout":
        raise SettingsError(
            f"--test-size is the share of patients the holdout scheme scores, and the "
            f"validation is {scheme}: drop --test-size, or use --validation holdout")
    val = Validation(schemes=(scheme,), outer_splits=outer, inner_splits=inner,
                     repeats=repeats, test_size=float(0.3 if test_size is None else test_size),
                     test_centres=tuple(
                         test_centres), bootstrap=bootstrap, threshold=threshold, level=level,
                     seed=seed)
    spec = adhoc_spec(target=target, positive=positive, time=time, event=event,
                      event_value=event_value, time_unit=time_unit, horizons=horizons,
                      group=group, lesion=lesion,
                      centre=centre, covariates=covs,
                      derived=[*_split(derived), *[c for c in recorded
                                                   if feat is not None and c in feat.columns]],
                      excluded=_split(exclude), model=model, selector=_split(selector),
                      deep_pca=deep_pca, tune=tune, budget=budget, arms=_split(arms),
                      radiomic=rad,
                      deep=deep, validation=val)
    if not spec.arms and not covs and not any(
            c.endswith(("morph.volume_mesh", "morph.volume_voxels")) for c in rad):
        raise SettingsError("nothing to model: no feature column (--features, --columns) and "
                            "no covariate (--covariates)")
    # only --allow keeps an input the leak guard refuses: naming a column in --columns
    # chooses it, it does not vouch that it is not computed from the outcome
    from radiomix.analysis.study import InputWarnings

    with InputWarnings() as collected:  # the guard's warnings reach the document too
        table = build_table(feat, spec, clinical=clin, extra_features=extra,
                            allow=_split(allow),
                            volume_tags=tumour_tags(_table_provenance(features).get("study")))
    study = {"name": "radiomix model", "study_file": None, "study_sha256": None,
             "features_file": Path(features).name if features else None,
             "features_sha256": file_hash(Path(features)) if features else None,
             "features_data_sha256": table_hash(feat) if features else None,
             "clinical_file": Path(clinical).name if clinical else None,
             "clinical_sha256": file_hash(Path(clinical)) if clinical else None,
             "settings_hash": None, "versions": package_versions(ANALYSIS_PACKAGES)}
    doc = run_analysis(spec, table, out_dir, progress=progress, study=study, jobs=jobs,
                       banners=banners, untrained_deep=untrained,
                       input_warnings=collected.messages)
    if report:
        from radiomix.report import write_report

        write_report(out_dir)
    return doc


def _table_provenance(features: Any) -> dict[str, Any]:
    """The provenance of a feature table written by radiomix (Parquet metadata, a CSV's
    ``.provenance.json`` sidecar, a JSON table's own record); empty for any other table, or
    one without provenance."""
    from pathlib import Path

    from radiomix.table import read_provenance

    if features is None or not isinstance(features, str | Path):
        return {}
    try:
        return read_provenance(Path(features))
    except (InputError, OSError, ValueError):
        return {}


def _study_outcome_columns(prov: dict[str, Any]) -> list[str]:
    """The outcome columns (time, event, labels) that the study which wrote a feature table
    declared, from the table's provenance: whatever the current outcome, they are derived
    from an outcome of the study."""
    cols = (prov.get("study") or {}).get("columns") or {}
    names = [cols.get("time"), cols.get("event"), *(cols.get("labels") or [])]
    return list(dict.fromkeys(str(c) for c in names if c))
