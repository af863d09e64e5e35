"""The analysis table: typed, role-checked model inputs and outcomes of one study.

:func:`build_table` joins the feature table with an optional clinical table on the group
(patient) column and turns every column into exactly one role. Nothing is guessed in
silence:

- an outcome column, a time or event column and every column declared ``derived`` can never
  become a model input;
- a clinical column that is not declared as a covariate is not used (it is listed as
  ``unused``);
- a cell of a numeric column that does not parse is an error naming the row and the column
  (a typo such as ``1.2.3`` never turns a feature into one-hot columns); ``inf`` is an error;
  missing values are imputed inside the training folds and counted;
- a binary outcome whose labels are not 0/1 needs its ``positive`` class (the labels are
  listed); a model input whose values or whose missingness separate a binary outcome
  perfectly is refused by name as likely derived from the outcome, unless the user named it
  explicitly (``allow``).
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln
from scipy.stats import t as student_t

from radiomix.analysis.spec import TIME_UNITS, AnalysisSettings, Covariate, Outcome
from radiomix.deep.settings import SLICE_STATS
from radiomix.errors import InputError, SettingsError
from radiomix.io.text_table import check_delimiter
from radiomix.model.clinical import MISSING_TOKENS
from radiomix.model.columns import FeatureName
from radiomix.model.confound import volume_column

log = logging.getLogger(__name__)

CENSORED_TOKENS: frozenset[str] = frozenset({"0", "false", "no", "n", "censored", "alive"})
"""Event-column values (lower case) that can only mean censored: a column holding nothing
else has no event, whatever ``event_value`` says."""
MONOTONE_CHANCE: float = 1e-4
"""A column ordered as the survival time is refused when a column unrelated to the time, with
the same counts of tied values, would be so ordered with a lower probability than this."""
TRACKING_RHO: float = 0.95
"""An input whose Spearman correlation with a time of the study reaches this in absolute value
(it shares over 90 % of its rank variance with the time: a time measured from another date,
a time with a few days of noise, a log or a rescaling) is derived from the outcome. A
covariate that is not a time stays far below it (age, size, a score); a column of two or
three levels cannot reach it at all (at most 0.87 and 0.94), so a dichotomy or a grade is
never refused by it."""
PERMUTATIONS: int = 20_000
"""Permutations of :func:`tracking_columns`' chance check: a correlation reached by at most
one permutation of the column has a chance below :data:`MONOTONE_CHANCE`."""
PROVENANCE_COLUMNS: tuple[str, ...] = ("settings_hash", "radiomix_version")
BATCH_COLUMN = "__centre__"
"""Column of :attr:`AnalysisTable.X` holding the centre as a code, read only by the ComBat
step of an arm that harmonises (it never reaches a model)."""


@dataclass
class Target:
    """One outcome's values over the rows of the analysis table.

    Attributes
    ----------
    outcome : Outcome
    keep : ndarray of bool
        Rows with a usable value (rows with a missing outcome are left out and counted).
    y : ndarray of int, optional
        Binary: 1 for the positive class, over the kept rows.
    time_years, event : ndarray, optional
        Survival: time in years and event indicator (0/1), over the kept rows.
    negative : list of str
        Binary: the labels read as negative.
    """

    outcome: Outcome
    keep: np.ndarray
    y: np.ndarray | None = None
    time_years: np.ndarray | None = None
    event: np.ndarray | None = None
    negative: list[str] = field(default_factory=list)


@dataclass
class AnalysisTable:
    """Model inputs, identifiers and outcomes of an analysis, one row per unit.

    Attributes
    ----------
    X : DataFrame
        Every usable model input as float (NaN = missing; imputed inside folds).
    groups : ndarray of str
        Patient id of each row.
    centre : ndarray of str or None
    blocks : dict of str to list of str
        Input columns of each block: ``radiomic``, ``deep``, ``clinical`` (encoded
        covariates), ``volume`` (the tumour-volume column, one at most).
    sources : dict of str to str
        Source column of each encoded clinical column (``sex=Male`` -> ``sex``).
    targets : dict of str to Target
    roles : dict
        The roles as applied (for the results document).
    missing : dict of str to int
        Missing cells per input column (imputed inside the training folds).
    unit : str
        What one row is (``lesion`` or ``row``).
    raw : DataFrame
        The joined table (identifiers, outcomes and covariates as read), for Table 1.
    alerts : list of (str, str)
        (title, text) of what the report shows in a banner besides the warnings: an input
        the leak guard lets through that holds an outcome itself (a two-valued image column
        agreeing with it on every row), a centre column that separates a binary outcome,
        patients whose feature rows are identical.
    """

    X: pd.DataFrame
    groups: np.ndarray
    centre: np.ndarray | None
    blocks: dict[str, list[str]]
    sources: dict[str, str]
    targets: dict[str, Target]
    roles: dict[str, Any]
    missing: dict[str, int]
    unit: str
    raw: pd.DataFrame
    alerts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_patients(self) -> int:
        """Distinct patients."""
        return int(pd.unique(self.groups).size)


# --------------------------------------------------------------------------- reading


def read_any(path: str | Path) -> pd.DataFrame:
    """A table from ``.parquet`` (native types) or ``.csv`` (every cell as text).

    Raises
    ------
    InputError
        Missing file, unknown suffix or unreadable content.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"table not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv"):
        raise InputError(f"table {path.name} must be .parquet, .csv or .tsv")
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            sep = "\t" if suffix == ".tsv" else ","
            check_delimiter(path, sep)
            table = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"table {path.name} is empty; it needs a header line and one row "
                         "per patient or lesion") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
            f"{exc.start} is not valid UTF-8; Excel and older tools write Latin-1 or "
            "Windows-1252): save it again as UTF-8 (\"CSV UTF-8\" in Excel)") from None
    except pd.errors.ParserError as exc:
        message = " ".join(str(exc).split()).removeprefix("Error tokenizing data. C error: ")
        raise InputError(
            f"{path.name} cannot be read as a table ({message}): a table has one header "
            "line, then one line per row with as many cells; remove any title or note lines "
            "above the header, and quote cells that hold the separator") from None
    except (OSError, ValueError) as exc:
        message = " ".join(str(exc).split())  # pandas' messages end in a line break
        raise InputError(f"{path.name} cannot be read as a table: {message}") from None
    if table.empty:
        raise InputError(f"table {path.name} has no rows (only the columns "
                         f"{_listing(table.columns, 5)}); give a table with one row per "
                         "patient or lesion")
    return table


def _text(s: pd.Series) -> pd.Series:
    """Cells as stripped text, missing tokens as NaN."""
    t = s.astype(object).map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v))
                             else str(v).strip())
    return t.where(~t.isin(MISSING_TOKENS) & t.notna(), np.nan)


def _row_name(raw: pd.DataFrame, group: str, i: int) -> str:
    return f"row {i + 2} ({group} {raw[group].iloc[i]})" if group in raw else f"row {i + 2}"


def to_numeric(raw: pd.DataFrame, column: str, group: str) -> pd.Series:
    """Column ``column`` as float; an unparsable cell or ``inf`` is an error naming its row.

    Row numbers count the header as line 1, as a spreadsheet shows a CSV.

    Raises
    ------
    InputError
        A cell that is neither a number nor a missing token, or an infinite value.

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["A", "B"], "x": ["1.5", "1.2.3"]})
    >>> to_numeric(t, "x", "patient_id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    radiomix.errors.InputError: column 'x', row 3 (patient_id B): '1.2.3' is not a number; ...
    """
    s = raw[column]
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        out = s.astype(float)
    else:
        text = _text(s)
        out = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero(out.isna().to_numpy() & text.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            more = f" (and {bad.size - 1} more cells)" if bad.size > 1 else ""
            kind = number_like(str(text.iloc[i]))
            why = ("is not a number" if kind is None else
                   f"is not a plain number ({NUMBER_LIKE[kind][1]} are not read as numbers)")
            fix = ("fix the cell or mark it missing (empty, NA)" if kind is None else
                   NUMBER_LIKE[kind][2])
            raise InputError(
                f"column {column!r}, {_row_name(raw, group, i)}: {text.iloc[i]!r} {why}"
                f"{more}; {fix}"
            )
        out = out.astype(float)
    inf = np.flatnonzero(np.isinf(out.to_numpy()))
    if inf.size:
        i = int(inf[0])
        raise InputError(
            f"column {column!r}, {_row_name(raw, group, i)}: infinite value; every value must "
            "be finite: fix the cell (re-extract a feature, correct a clinical value) or mark "
            "it missing"
        )
    return out


# --------------------------------------------------------------------------- outcomes


def _label_text(s: pd.Series) -> pd.Series:
    """Class labels as text: numbers written as numbers (``1.0`` -> ``1``, whether the cells
    are numeric or text) and true/false (any case, or a boolean column) as ``1``/``0``, so
    that one coding reads the same however the table was written; missing -> NaN."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s.map(lambda v: np.nan if pd.isna(v) else f"{float(v):g}")
    text = _text(s)
    seen = text.dropna()
    if seen.empty:
        return text
    if {v.lower() for v in seen.unique()} <= {"true", "false"}:
        return text.map(lambda v: v if pd.isna(v) else ("1" if v.lower() == "true" else "0"))
    num = pd.to_numeric(seen, errors="coerce")
    if num.notna().all() and np.isfinite(num.to_numpy(dtype=float)).all():
        return text.map(lambda v: v if pd.isna(v) else f"{float(v):g}")
    return text


def _label_value(value: str, labels: Sequence[str]) -> str:
    """``value`` (a positive class, an event value) in the coding of :func:`_label_text`:
    ``1.0`` -> ``1`` among numeric labels, ``True`` -> ``1`` among 0/1 labels."""
    if value in labels:
        return value
    if set(labels) <= {"0", "1"} and value.strip().lower() in ("true", "false"):
        return "1" if value.strip().lower() == "true" else "0"
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:g}" if math.isfinite(number) else value


def _binary_target(raw: pd.DataFrame, o: Outcome, group: str) -> Target:
    col = str(o.column)
    if col not in raw:
        raise SettingsError(f"outcome {o.name}: column {col!r} is not in the table")
    text = _label_text(raw[col])
    keep = text.notna().to_numpy()
    labels = sorted(text.dropna().unique().tolist())
    if len(labels) != 2:
        raise InputError(
            f"outcome {o.name}: column {col!r} must hold exactly two classes; found "
            f"{len(labels)}: {labels[:10]}"
        )
    if o.positive is None:
        if labels != ["0", "1"]:
            raise SettingsError(
                f"outcome {o.name}: column {col!r} holds the labels {labels}; say which one is "
                "the positive class (positive: ... in the study file, --positive on the CLI)"
            )
        positive = "1"  # 0/1, 0.0/1.0 or false/true: recorded as 1 and 0
    else:
        positive = _label_value(o.positive, labels)
    if positive not in labels:
        raise SettingsError(
            f"outcome {o.name}: positive class {o.positive!r} is not among the labels {labels}"
        )
    y = (text[keep] == positive).to_numpy().astype(int)
    _check_patient_labels(raw[group].to_numpy()[keep], y, o.name, group)
    negative = next(v for v in labels if v != positive)
    patients = raw[group].to_numpy()[keep]
    for label, value in ((positive, 1), (negative, 0)):
        n = int(pd.unique(patients[y == value]).size)
        if n < 2:
            raise InputError(
                f"outcome {o.name}: class {label!r} of column {col!r} has {n} patient; a "
                "binary outcome needs at least 2 patients of each class (one would sit in a "
                "single test fold, and the training folds would hold one class)")
    if o.positive is not None and o.positive != positive:
        # record the negative class in the coding the user wrote the positive one in
        written = _text(raw[col])[keep & (text == negative).to_numpy()]
        negative = str(written.iloc[0]) if written.notna().any() else negative
    return Target(o, keep, y=y, negative=[negative])


def _check_patient_labels(groups: np.ndarray, y: np.ndarray, name: str, column: str) -> None:
    frame = pd.DataFrame({"g": groups, "y": y})
    mixed = frame.groupby("g")["y"].nunique()
    mixed = mixed[mixed > 1]
    if len(mixed):
        raise InputError(
            f"outcome {name}: {len(mixed)} patient(s) (values of the group column {column!r}) "
            f"have rows with different outcome values (e.g. {mixed.index[0]}); radiomix "
            "analyses patient-level outcomes, one value per patient: if the outcome is per "
            "patient, correct these rows; if it is per lesion, keep one lesion per patient "
            "(e.g. the index lesion) in the feature table; if the group column is not the "
            "patient id (a family, a site), set roles.group (--groups) to the patient id"
        )


def _survival_target(raw: pd.DataFrame, o: Outcome, group: str) -> Target:
    for c in (o.time, o.event):
        if c not in raw:
            raise SettingsError(f"outcome {o.name}: column {c!r} is not in the table")
    t = to_numeric(raw, str(o.time), group)
    ev_text = _label_text(raw[str(o.event)])
    keep = (t.notna() & ev_text.notna()).to_numpy()
    values = sorted(ev_text.dropna().unique().tolist())
    event_value = _label_value(o.event_value, values)
    if event_value not in values and not [v for v in values
                                          if v.lower() not in CENSORED_TOKENS]:
        raise InputError(
            f"outcome {o.name}: column {o.event!r} holds no event (only {values[:10]}: every "
            "patient is censored), so a survival model cannot be fitted; check that it is "
            "the right event column, or analyse an outcome with observed events"
        )
    if event_value not in values:
        raise SettingsError(
            f"outcome {o.name}: event value {o.event_value!r} does not occur in column "
            f"{o.event!r} (values: {values[:10]}); set event_value (--event-value on the "
            "command line)"
        )
    _check_event_coding(o, values, event_value)
    _say_censoring_values(o, ev_text[keep], event_value)
    tt = t.to_numpy()[keep]
    if (tt < 0).any():
        i = int(np.flatnonzero(t.to_numpy() < 0)[0])
        raise InputError(f"outcome {o.name}: column {o.time!r}, {_row_name(raw, group, i)}: "
                         "negative time")
    e = (ev_text[keep] == event_value).to_numpy().astype(int)
    if e.sum() == 0:
        raise InputError(f"outcome {o.name}: no observed event among the usable rows")
    at_zero = int(((tt == 0) & (e == 1)).sum())
    if at_zero:
        log.warning("outcome %s: %d row(s) have the event at time 0 in column %r (on the day "
                    "follow-up starts); check that the time column counts from the right date",
                    o.name, at_zero, o.time)
    years = tt / TIME_UNITS[o.time_unit]
    if years.max() > MAX_FOLLOW_UP_YEARS:
        i = int(np.flatnonzero(keep)[int(np.argmax(years))])
        longer = [u for u, per in TIME_UNITS.items()
                  if per > TIME_UNITS[o.time_unit] and tt.max() / per <= MAX_FOLLOW_UP_YEARS]
        raise SettingsError(
            f"outcome {o.name}: column {o.time!r} read in {o.time_unit} gives a follow-up of "
            f"{years.max():.0f} years ({_row_name(raw, group, i)}: {tt.max():g}), longer than "
            f"a human follow-up can be: the time unit is wrong; set time_unit "
            f"(--time-unit) to the column's unit"
            + (f" ({' or '.join(longer)}?)" if longer else "")
        )
    if np.median(years) > SUSPECT_MEDIAN_YEARS:
        log.warning("outcome %s: column %r read in %s gives a median follow-up of %.0f years; "
                    "check the time unit (time_unit / --time-unit)", o.name, o.time,
                    o.time_unit, float(np.median(years)))
    if o.time_unit == "days" and 0 < years.max() < SUSPECT_LONGEST_YEARS:
        log.warning("outcome %s: column %r read in days gives a longest follow-up of %g days; "
                    "if the column counts months or years, set time_unit (--time-unit): "
                    "horizons would be wrong otherwise", o.name, o.time, float(tt.max()))
    return Target(o, keep, time_years=years, event=e)


def _check_event_coding(o: Outcome, values: Sequence[str], event_value: str) -> None:
    """Refuse a numeric event column that is not one event value and one censoring value
    below it.

    Every value other than the event value counts as censored, which suits text statuses
    (``D`` against ``NED`` and ``AWD``) but not numbers: a third code (``0/1/2``, a competing
    event) would be read as censored, and R's ``Surv`` coding (1 = censored, 2 = event)
    read with the event value 1 swaps events and censored patients.
    """
    numbers = {}
    for v in values:
        try:
            numbers[v] = float(v)
        except ValueError:  # text statuses: several censoring categories are legitimate,
            _refuse_event_twins(o, values, event_value)  # but not the event value retyped
            return
    others = [v for v in values if v != event_value]
    if len(others) > 1:
        raise InputError(
            f"outcome {o.name}: column {o.event!r} holds {len(values)} numeric codes "
            f"({', '.join(values)}); an event column needs two, the event ({event_value}) and "
            "censored, and any other code (a competing event, a typing error) would silently "
            "count as censored: recode the column to 0 = censored, 1 = event"
        )
    if others and numbers[others[0]] > numbers[event_value]:
        raise InputError(
            f"outcome {o.name}: column {o.event!r} holds the codes {event_value} and "
            f"{others[0]}; {event_value} is read as the event and {others[0]} as censored, the "
            "reverse "
            "of R's Surv coding (1 = censored, 2 = event), which would swap events and "
            f"censored patients: recode the column to 0 = censored, 1 = event (or set "
            f"event_value / --event-value {others[0]} if {others[0]} is the event)"
        )


def _spelling(value: str) -> str:
    """A value without case, spaces, dots, dashes or underscores (``d`` and ``D``, ``N E D``
    and ``NED`` alike)."""
    return re.sub(r"[\s._-]+", "", value).lower()


def _refuse_event_twins(o: Outcome, values: Sequence[str], event_value: str) -> None:
    """Refuse a value of a text event column spelt as the event value in other case or
    spacing (``d`` beside ``D``): every value but the event value counts as censored, so a
    retyped event would silently become a censored patient."""
    twins = [v for v in values if v != event_value and _spelling(v) == _spelling(event_value)]
    if twins:
        raise InputError(
            f"outcome {o.name}: column {o.event!r} holds {twins[0]!r} beside the event value "
            f"{event_value!r}; they differ only in case or spacing, and every value but the "
            f"event value is read as censored, so {twins[0]!r} would turn events into "
            f"censored patients: recode it to {event_value!r} (or to a censoring value)"
        )


EVENT_WORDS: frozenset[str] = frozenset({
    "1", "true", "yes", "y", "event", "dead", "died", "death", "deceased", "dod", "doc",
    "relapse", "relapsed", "recurrence", "recurred", "progression", "progressed", "failure",
    "metastasis", "metastases"})
"""Event-column values (spelt as :func:`_spelling` gives) that usually name an event: read
as censored beside another event value, they are named in a warning (a competing event can
be censored deliberately, a synonym of the event cannot)."""


def _say_censoring_values(o: Outcome, status: pd.Series, event_value: str) -> None:
    """Warn which values of a text event column are read as censored, with their counts,
    when there are several (``NED``, ``AWD``), and name those that read as events."""
    counts = status.value_counts()
    censored = [(str(v), int(n)) for v, n in counts.items() if v != event_value]
    if len(censored) < 2 and not any(_spelling(v) in EVENT_WORDS for v, _ in censored):
        return
    listed = ", ".join(f"{v} ({n})" for v, n in sorted(censored))
    eventlike = [v for v, _ in censored if _spelling(v) in EVENT_WORDS]
    log.warning(
        "outcome %s: column %r is read with the event %s (%d row(s)) and as censored: %s%s",
        o.name, o.event, event_value, int(counts.get(event_value, 0)), listed,
        (f"; {', '.join(repr(v) for v in eventlike)} usually name(s) an event: if it is this "
         "event, recode the column (only the event value counts as an event); a competing "
         "event is censored here") if eventlike else "",
    )


# --------------------------------------------------------------------------- leak guard


def separating_columns(X: pd.DataFrame, y: np.ndarray) -> dict[str, str]:
    """Columns whose values or whose missingness separate a binary ``y`` perfectly.

    A column separates by values when every non-missing value of one class lies strictly
    below every non-missing value of the other (each class with at least two values), and
    by missingness when the cells are missing for exactly the rows of one class.

    Returns
    -------
    dict
        Column -> ``"values"`` or ``"missingness"``.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1., 2., 3., 4.], "b": [1., np.nan, 1., np.nan],
    ...                   "c": [1., 3., 4., 2.]})
    >>> separating_columns(X, np.array([0, 1, 0, 1]))
    {'b': 'missingness'}
    >>> separating_columns(X, np.array([0, 0, 1, 1]))
    {'a': 'values'}
    """
    y = np.asarray(y).astype(bool)
    out: dict[str, str] = {}
    for c in X.columns:
        v = X[c].to_numpy(dtype=float)
        miss = np.isnan(v)
        if miss.any() and (np.array_equal(miss, y) or np.array_equal(miss, ~y)):
            out[str(c)] = "missingness"
            continue
        a, b = v[~y & ~miss], v[y & ~miss]
        if a.size >= 2 and b.size >= 2 and (a.max() < b.min() or b.max() < a.min()):
            out[str(c)] = "values"
    return out


NEAR_COPY_AGREEMENT: float = 0.95
"""An input that agrees with a binary outcome (or an event indicator) on this share of the
rows, by one cut of its values (in one coding or the other), is a near copy of it (a copy
with a few labels changed, an outcome recorded again under another name, such a copy with
a little noise added) when chance alone would give that agreement with a probability below
:data:`MONOTONE_CHANCE`; :func:`separating_columns` catches the exact copies."""


def near_copies(X: pd.DataFrame, y: np.ndarray, *,
                agreement: float = NEAR_COPY_AGREEMENT, chance: float = MONOTONE_CHANCE,
                values: str = "any") -> dict[str, float]:
    """Columns whose best cut agrees with a binary ``y`` on at least ``agreement``
    (:data:`NEAR_COPY_AGREEMENT`) of the rows where they have a value, beyond chance.

    A cut between two successive distinct values calls the rows above it one class and
    those below the other; its agreement is the share of rows it calls right, in the better
    coding. A two-valued column has one cut (its agreement is then how often it equals the
    outcome); a column of many values is taken at its best cut (a copy of the outcome with
    noise added agrees on every row whose label was not changed).

    The chance is that of the column's values placed at random over the rows: at each cut,
    the number of rows with ``y`` true below it is hypergeometric and the cut's agreement a
    linear function of it (both tails, for either coding); summed over the column's cuts,
    this bounds the probability that any cut agrees so well (exact for one cut). A column
    qualifies when that bound is below ``chance``, so few rows (below about 15) never
    qualify by chance.

    Parameters
    ----------
    X : DataFrame
        Candidate columns (NaN: no value).
    y : (n,) array of bool or 0/1
    agreement, chance : float
        The share of rows a column must agree on, and the chance below which it counts.
    values : {"any", "two", "many"}
        Which columns are tested: all, the two-valued only, or those of three or more
        distinct values only.

    Returns
    -------
    dict
        Column -> its agreement with ``y`` (the share of rows, at its best cut, rounded to
        3 decimals).

    Examples
    --------
    >>> y = np.array([0, 1] * 15)
    >>> near = y.copy(); near[:1] = 1 - near[:1]   # the outcome with one label changed
    >>> noisy = near + 0.01 * np.cos(np.arange(30))  # ... and a little noise added
    >>> X = pd.DataFrame({"relapse_flag": near.astype(float), "score": noisy,
    ...                   "sex": np.array([0., 1., 1., 0., 0.] * 6)})
    >>> near_copies(X, y)
    {'relapse_flag': 0.967, 'score': 0.967}
    """
    from scipy.stats import hypergeom

    y = np.asarray(y).astype(bool)
    out: dict[str, float] = {}
    for c in X.columns:
        v = X[c].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        order = np.argsort(v[ok], kind="stable")
        vs, ys = v[ok][order], y[ok][order]
        n, m = vs.size, int(ys.sum())
        # cuts: the number k of rows below each boundary between distinct values
        k = np.flatnonzero(vs[1:] != vs[:-1]) + 1
        if m in (0, n) or not k.size or (values == "two" and k.size != 1) or (
                values == "many" and k.size < 2):
            continue
        below = np.cumsum(ys)[k - 1]  # rows with y true below each cut
        agree = (k + m - 2 * below) / n  # rows called right when above the cut means y
        share = np.maximum(agree, 1.0 - agree)
        best = float(share.max())
        if best < agreement:
            continue
        # P(some cut agrees on >= best of the rows) for a random placement, bounded by the
        # sum over the cuts: agree >= best or agree <= 1 - best, i.e. below <= lo or >= hi
        lo = np.floor((k + m - best * n) / 2 + 1e-9)
        hi = np.ceil((k + m - (1.0 - best) * n) / 2 - 1e-9)
        dist = hypergeom(n, m, k)
        bound = float(np.sum(dist.cdf(lo) + dist.sf(hi - 1)))
        if bound < chance:
            out[str(c)] = round(best, 3)
    return out


def monotone_in_time(X: pd.DataFrame, time: np.ndarray, *,
                     chance: float = MONOTONE_CHANCE) -> list[str]:
    """Columns that are a monotone function of ``time`` on the rows where both are present.

    A column qualifies when no pair of rows is ordered against the time (all pairs in the
    time's order, or all reversed), rows of equal time hold equal values, and a column
    unrelated to the time would be so ordered with probability below
    :data:`MONOTONE_CHANCE` (``2 * prod(m_k!) / n!`` for value counts ``m_k`` over ``n``
    rows). The first two conditions include Spearman's ``|rho| = 1`` (equal or exactly
    reversed ranks) and also catch a coarsened copy (time in months, rounded, where two days
    share a value); the third keeps a rare level (one patient who happens to have the
    longest follow-up) from being refused by chance.

    Examples
    --------
    >>> t = np.array([30., 400., 90., 250., 700., 120., 980., 35.])
    >>> X = pd.DataFrame({"months": np.round(t / 30.4), "rev": -t,
    ...                   "age": [50., 61., 47., 70., 58., 66., 49., 72.]})
    >>> monotone_in_time(X, t)
    ['months', 'rev']
    """
    t_all = np.asarray(time, dtype=float)
    out: list[str] = []
    for c in X.columns:
        v = X[c].to_numpy(dtype=float)
        ok = ~np.isnan(v) & ~np.isnan(t_all)
        n = int(ok.sum())
        if n < 4:
            continue
        x, t = v[ok], t_all[ok]
        counts = np.unique(x, return_counts=True)[1]
        if counts.size < 2:
            continue
        order = np.lexsort((x, t))
        xs, ts = x[order], t[order]
        if np.any((ts[1:] == ts[:-1]) & (xs[1:] != xs[:-1])):
            continue  # rows of equal time with different values
        step = np.diff(xs)
        if not ((step >= 0).all() or (step <= 0).all()):
            continue
        log_chance = (np.log(2.0) + float(np.sum(gammaln(counts + 1.0)))
                      - math.lgamma(n + 1.0))
        if log_chance <= np.log(chance):  # else too few distinct values to tell from chance
            out.append(str(c))
    return out


#: Longest follow-up (years) a survival time may give in its declared unit: beyond it the
#: unit is wrong (days declared as years gave a median follow-up of 518 years).
MAX_FOLLOW_UP_YEARS: float = 120.0
#: A median follow-up beyond this (years) is said: a unit that fits under the limit above
#: may still be wrong (days read as months, up to 1460 days).
SUSPECT_MEDIAN_YEARS: float = 30.0

#: A longest follow-up below this (years, about a month) in a time column read in days is
#: said: times in years or months declared as days (5.8 "days" of follow-up) look like this.
#: Only said, since short studies exist (28-day mortality).
SUSPECT_LONGEST_YEARS: float = 31.0 / 365.25

#: Columns whose pairs :func:`column_pairs` forms (at most this many, in table order).
MAX_PAIRED_COLUMNS: int = 60


def column_pairs(X: pd.DataFrame, *, first: Sequence[str] = ()) -> pd.DataFrame:
    """Differences and sums of every pair of numeric columns with at least 5 distinct values
    (named ``"pair a - b"``, ``"pair a + b"``), and products and ratios of positive ones
    (``"pair a * b"``, ``"pair a / b"``): two columns that each look unrelated to a time may
    hold it together (a date of diagnosis and a date of last contact, as day numbers; an age
    at diagnosis and at last follow-up; a rate and an amount accumulated over the follow-up).

    At most :data:`MAX_PAIRED_COLUMNS` columns are paired, the columns named in ``first``
    (the clinical covariates) before the others; a warning says how many were left out.

    Examples
    --------
    >>> X = pd.DataFrame({"dx_day": [5., 90., 31., 2., 60.], "last_day": [9., 99., 80., 50.,
    ...                   61.], "sex": [0., 1., 0., 1., 1.]})
    >>> list(column_pairs(X).columns)  # doctest: +NORMALIZE_WHITESPACE
    ['pair last_day - dx_day', 'pair last_day + dx_day', 'pair last_day * dx_day',
     'pair last_day / dx_day']
    """
    lead = set(first)
    eligible = sorted((c for c in X.columns if X[c].nunique(dropna=True) >= 5),
                      key=lambda c: c not in lead)
    if len(eligible) > MAX_PAIRED_COLUMNS:
        log.warning("the leak guard checks pairs of %d of %d candidate input columns (the "
                    "clinical covariates first); pairs among the other %d are not checked",
                    MAX_PAIRED_COLUMNS, len(eligible), len(eligible) - MAX_PAIRED_COLUMNS)
    cols = eligible[:MAX_PAIRED_COLUMNS]
    positive = {c for c in cols if (X[c].dropna() > 0).all()}
    parts: dict[str, pd.Series] = {}
    for i, a in enumerate(cols):
        for b in cols[:i]:
            parts[f"pair {a} - {b}"] = X[a] - X[b]
            parts[f"pair {a} + {b}"] = X[a] + X[b]
            if a in positive and b in positive:
                parts[f"pair {a} * {b}"] = X[a] * X[b]
                parts[f"pair {a} / {b}"] = X[a] / X[b]
    taken = [c for c in parts if c in X.columns]  # a column already named like a pair
    for c in taken:
        parts[f"{c} (computed)"] = parts.pop(c)
    return pd.DataFrame(parts, index=X.index, dtype=float)


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), centred to unit norm."""
    from scipy.stats import rankdata

    r = rankdata(v) - (v.size + 1) / 2.0
    return np.asarray(r / np.sqrt(np.sum(r * r)), dtype=float)


def _spearman(values: Any, time: np.ndarray) -> float:
    """Spearman correlation (average ranks for ties) of ``values`` and ``time`` on the rows
    where both are present; NaN with fewer than 4 such rows or a constant side."""
    v, t = np.asarray(values, dtype=float), np.asarray(time, dtype=float)
    ok = ~np.isnan(v) & ~np.isnan(t)
    if int(ok.sum()) < 4 or np.unique(v[ok]).size < 2 or np.unique(t[ok]).size < 2:
        return math.nan
    return float(_ranks(v[ok]) @ _ranks(t[ok]))


def tracking_columns(X: pd.DataFrame, time: np.ndarray, *,
                     threshold: float = TRACKING_RHO,
                     chance: float = MONOTONE_CHANCE) -> dict[str, float]:
    """Columns that (nearly) track ``time``: Spearman ``|rho| >= threshold`` beyond chance.

    On the rows where both are present, a column qualifies when the absolute Spearman
    correlation (average ranks for ties) reaches ``threshold`` (:data:`TRACKING_RHO`) and
    at most one of
    :data:`PERMUTATIONS` random permutations of its values (seeded, so the answer never
    changes) reaches it too: a column unrelated to the time would track it with probability
    below :data:`MONOTONE_CHANCE`. The permutations keep the column's ties, so a few
    distinct values or few rows (below about 12 rows nothing untied qualifies by chance)
    are judged by what chance gives them.

    Returns
    -------
    dict
        Column -> Spearman correlation with ``time``.

    Examples
    --------
    >>> t = np.array([30., 400., 90., 250., 700., 120., 980., 35., 510., 60., 300., 820.,
    ...               150., 45.])
    >>> X = pd.DataFrame({"from_mri": t - [9, 20, 3, 14, 30, 7, 12, 2, 25, 5, 11, 40, 6, 1],
    ...                   "age": [50., 61., 47., 70., 58., 66., 49., 72., 55., 63., 59., 68.,
    ...                           52., 74.]})
    >>> tracking_columns(X, t)
    {'from_mri': 1.0}
    """
    t_all = np.asarray(time, dtype=float)
    out: dict[str, float] = {}
    for c in X.columns:
        v = X[c].to_numpy(dtype=float)
        ok = ~np.isnan(v) & ~np.isnan(t_all)
        n = int(ok.sum())
        if n < 4 or np.unique(v[ok]).size < 2 or np.unique(t_all[ok]).size < 2:
            continue
        rx, rt = _ranks(v[ok]), _ranks(t_all[ok])
        rho = float(rx @ rt)
        if abs(rho) < threshold:
            continue
        if chance < MONOTONE_CHANCE:
            # many columns tested: the permutations cannot resolve the corrected level. A
            # perfect ordering is monotone_in_time's to judge (exact chance 2 / n!); any other
            # rho must reach the level by the t tail of Spearman's rho too
            if abs(rho) >= 1.0 - 1e-12:
                continue
            tt = abs(rho) * math.sqrt((n - 2) / (1.0 - rho * rho))
            if 2.0 * float(student_t.sf(tt, n - 2)) >= chance:
                continue
        rng = np.random.default_rng(0)
        chunk = max(1, min(PERMUTATIONS, 2_000_000 // n))
        reached, drawn = 0, 0
        while drawn < PERMUTATIONS and reached < 2:
            k = min(chunk, PERMUTATIONS - drawn)
            perms = rng.permuted(np.broadcast_to(rx, (k, n)), axis=1)
            reached += int(np.sum(np.abs(perms @ rt) >= abs(rho) - 1e-12))
            drawn += k
        if reached < 2:
            out[str(c)] = round(rho, 3)
    return out


# --------------------------------------------------------------------------- build


ID_LIKE_LEVELS = 10
"""Distinct values from which a categorical covariate with at least one value for every
second patient is said to look like an identifier or a date."""

AGE_NAME = re.compile(r"(^|[_\W])age([_\W]|$)", re.IGNORECASE)
"""Column names read as an age in years: ``age``, ``Age``, ``age_years``, ``patient_age``,
``age_at_diagnosis`` (not ``stage``, ``dosage`` or ``image``)."""

AGE_RANGE: tuple[float, float] = (0.0, 120.0)
"""Ages in years a patient can have; a value outside is a typing error (590 for 59) or
another unit (months)."""


AGE_OUTLIER_SHARE: float = 0.1
"""Largest share of an age column's values outside :data:`AGE_RANGE` that is refused
whatever they are: a column otherwise in years makes a stray value a typing error; more
such values may mean another coding (standardised ages), which is the user's to declare,
unless they are impossible as years (:data:`AGE_IMPOSSIBLE`)."""

AGE_IMPOSSIBLE: float = 130.0
"""Ages above this are no age in years at all: in a column whose values are mostly ages in
years (more than half within :data:`AGE_RANGE`) they are refused whatever their share (6 of
51 ages typed ten times too large, 590 for 59, are as wrong as 5 of 51)."""


def _check_age(values: pd.Series, raw: pd.DataFrame, name: str, group: str) -> None:
    """Refuse the values of an age covariate that cannot be ages in years, naming the first
    one's row: they would enter the model as measurements.

    Values outside :data:`AGE_RANGE` are refused when they are at most
    :data:`AGE_OUTLIER_SHARE` of the column; values above :data:`AGE_IMPOSSIBLE` whatever
    their share, when more than half of the column lies within :data:`AGE_RANGE` (the
    column is in years). A column mostly outside (standardised, in months) is read as
    given.

    Raises
    ------
    InputError
        Naming the column, the first such value's row, the value and their count.
    """
    known = values.notna()
    outside = known & ((values < AGE_RANGE[0]) | (values > AGE_RANGE[1]))
    impossible = known & (values > AGE_IMPOSSIBLE)
    n = int(known.sum())
    if outside.any() and outside.sum() <= AGE_OUTLIER_SHARE * n:
        bad, why = outside, "the other ages are in years"
    elif impossible.any() and 2 * (n - int(outside.sum())) > n:
        bad = impossible
        why = (f"above {AGE_IMPOSSIBLE:g}, while {n - int(outside.sum())} of the {n} ages are "
               "in years; a column in another unit (months) must be converted to years")
    else:
        return
    i = int(np.flatnonzero(bad.to_numpy())[0])
    raise InputError(
        f"covariate {name!r}, {_row_name(raw, group, i)}: {values.iloc[i]:g} is not an age "
        f"in years ({AGE_RANGE[0]:g} to {AGE_RANGE[1]:g}; {int(bad.sum())} such value(s), "
        f"{why}): correct it or mark it missing"
    )


MISSING_CODES: tuple[float, ...] = (99.0, 999.0, 9999.0, -1.0, -9.0, -99.0, -999.0)
"""Numbers that registries and spreadsheets use for "unknown": in a numeric column, such a
value far from the column's other values (:func:`far_codes`) is named in a warning."""

MISSING_CODE_IQRS: float = 5.0
"""How far outside the quartiles of a column's other values (in interquartile ranges) a
value of :data:`MISSING_CODES` must lie to be said to be a missing-value code: far beyond
Tukey's fences for an outlier (1.5, "far out" at 3), so that 99 in a percentage or -1 in
a score from -2 to 2 is never named."""

MISSING_LIKE_LEVELS: frozenset[str] = frozenset({
    "unknown", "unk", "missing", "not known", "n/k", "nk", "not available", "n.a.",
    "not recorded", "not assessed", "not done", "-", ".", "none", "null", "nil", "nan", "na",
    "n/a", "#n/a", "?"})
"""Levels of a categorical or ordinal covariate (spelt as :func:`_level_spelling` gives)
that look like a missing-value code: kept as a level (a clinician may mean a category) but
named in a warning. The exact :data:`MISSING_TOKENS` are read as missing before."""


def far_codes(values: np.ndarray) -> dict[float, int]:
    """Values of :data:`MISSING_CODES` that lie far outside a column's other values, with
    their counts.

    A code counts when the other values (those that are no code) take at least two
    distinct values and the code lies beyond their quartiles by more than
    :data:`MISSING_CODE_IQRS` times their interquartile range (their range where the
    interquartile range is 0).

    Parameters
    ----------
    values : (n,) ndarray of float
        The column (NaN: missing).

    Returns
    -------
    dict
        Code -> rows that hold it.

    Examples
    --------
    >>> far_codes(np.array([2.5, 3.5, 4.5, 6.5, 10.5, 999., 999., np.nan]))
    {999.0: 2}
    >>> far_codes(np.array([-2., -1., 0., 1., 2., -1.]))
    {}
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    is_code = np.isin(v, MISSING_CODES)
    others = v[~is_code]
    if not is_code.any() or np.unique(others).size < 2:
        return {}
    q1, q3 = np.quantile(others, [0.25, 0.75])
    scale = (q3 - q1) or float(others.max() - others.min())
    low, high = q1 - MISSING_CODE_IQRS * scale, q3 + MISSING_CODE_IQRS * scale
    codes, counts = np.unique(v[is_code], return_counts=True)
    return {float(c): int(k) for c, k in zip(codes, counts, strict=True)
            if c < low or c > high}


def _missing_code_warning(values: pd.Series, name: str) -> None:
    """Say which values of a numeric covariate look like a missing-value code
    (:func:`far_codes`): they enter the models as numbers (999 beside sizes of 2 to 10 cm)."""
    found = far_codes(values.to_numpy(dtype=float))
    if not found:
        return
    others = values[values.notna() & ~values.isin(list(found))]
    log.warning("covariate %r holds %s, far outside its other values (%g to %g), like a "
                "missing-value code: it is used as a number; leave those cells empty (or NA) "
                "if it means missing", name,
                ", ".join(f"{c:g} in {k} row(s)" for c, k in found.items()),
                float(others.min()), float(others.max()))


def _level_spelling(level: str) -> str:
    """A level as :data:`MISSING_LIKE_LEVELS` lists it: letter case and Unicode form
    ignored, runs of spaces and underscores as one space."""
    from radiomix.text_keys import id_key

    return " ".join(id_key(level).replace("_", " ").split())


def _refuse_level_spellings(text: pd.Series, name: str, kind: str,
                            declared: Sequence[str] = ()) -> None:
    """Refuse levels of a categorical or ordinal covariate that are one value written apart
    (:func:`radiomix.text_keys.value_key`: ``Male`` and ``male``, ``TRUE`` and ``True``,
    ``1`` and ``1.0``): each would be a level of its own, splitting one category in silence.
    A value spelt as a declared level in another way is refused too, naming the level.

    Different words for one thing (``M`` and ``Male``) cannot be told apart and are kept.

    Raises
    ------
    InputError
        Naming the column, the spellings with their row counts and the fix.
    """
    from radiomix.text_keys import value_key

    counts = text.value_counts()
    spellings: dict[str, list[str]] = {}
    for v in sorted(str(v) for v in counts.index):
        spellings.setdefault(value_key(v), []).append(v)
    written = {value_key(str(lv)): str(lv) for lv in declared}
    clashes = [(k, vs) for k, vs in spellings.items()
               if len(vs) > 1 or (k in written and vs[0] != written[k])]
    if not clashes:
        return
    key, values = clashes[0]
    shown = ", ".join(f"{v!r} ({int(counts[v])} row(s))" for v in values)
    fix = (f"write it as its declared level {written[key]!r} in every row" if key in written
           else "write one spelling in every row")
    more = f" ({len(clashes) - 1} more such level(s))" if len(clashes) > 1 else ""
    raise InputError(
        f"covariate {name!r} ({kind}) holds {shown}{more}, one value written apart (letter "
        f"case, Unicode form or number format): each spelling would be a level of its own; "
        f"{fix}"
    )


def _missing_like_warning(text: pd.Series, raw: pd.DataFrame, name: str, group: str) -> None:
    """Say which levels of a categorical or ordinal covariate look like a missing-value code
    (:data:`MISSING_LIKE_LEVELS`; a number of :data:`MISSING_CODES` among words, or far from
    the other levels by :func:`far_codes`): they are kept as levels, with their patients."""
    from radiomix.text_keys import value_key

    known = text.dropna().astype(str)
    numbers = pd.to_numeric(known, errors="coerce")
    codes = {value_key(f"{c:g}") for c in MISSING_CODES}
    if numbers.notna().all():
        far = {value_key(f"{c:g}") for c in far_codes(numbers.to_numpy(dtype=float))}
    else:  # a code among words (999 beside Male and Female)
        far = codes
    odd = [v for v in sorted(known.unique())
           if _level_spelling(v) in MISSING_LIKE_LEVELS or value_key(v) in far]
    if not odd:
        return
    ids = raw[group] if group in raw else pd.Series(raw.index, index=raw.index)
    held = pd.DataFrame({"g": ids, "v": text}).dropna().groupby("v")["g"].nunique()
    shown = ", ".join(f"{v!r} ({int(held[v])} patient{'' if held[v] == 1 else 's'})"
                      for v in odd)
    if len(odd) == 1:
        log.warning("covariate %r has the level %s, which looks like a missing-value code: it "
                    "is kept as a level of its own; leave those cells empty if it means "
                    "missing", name, shown)
    else:
        log.warning("covariate %r has the levels %s, which look like missing-value codes: "
                    "they are kept as levels of their own; leave those cells empty if they "
                    "mean missing", name, shown)


WORD_MISSING_TOKENS: frozenset[str] = frozenset({"None", "null"})
"""Missing tokens (:data:`MISSING_TOKENS`) that are also words a category may be written
with ("None": no treatment)."""


def _word_missing_warning(cells: pd.Series, name: str) -> None:
    """Say when cells of a categorical or ordinal covariate are missing because they read
    ``None`` or ``null``, which may be a category (no treatment) rather than an unknown
    value: they are imputed, and the patients are modelled as another level."""
    text = cells.astype(object).map(lambda v: str(v).strip() if isinstance(v, str) else v)
    counts = text[text.isin(WORD_MISSING_TOKENS)].value_counts()
    if counts.empty:
        return
    shown = ", ".join(f"{v!r} ({int(n)} cell{'' if n == 1 else 's'})" for v, n in counts.items())
    log.warning("covariate %r holds %s, read as missing and imputed inside the training "
                "folds; if it is a category (e.g. no treatment), write it as a word that is no "
                "missing-value code (e.g. 'no treatment')", name, shown)


def _encode_covariate(raw: pd.DataFrame, cov: Covariate, group: str) -> pd.DataFrame:
    if cov.kind == "numeric":
        _refuse_text_covariate(raw, cov.name)
        values = to_numeric(raw, cov.name, group)
        if AGE_NAME.search(cov.name):
            _check_age(values, raw, cov.name, group)
        _missing_code_warning(values, cov.name)
        return pd.DataFrame({cov.name: values}, index=raw.index)
    text = _text(raw[cov.name])
    if pd.api.types.is_numeric_dtype(raw[cov.name]):
        text = raw[cov.name].map(lambda v: np.nan if pd.isna(v) else f"{v:g}")
    _refuse_level_spellings(text, cov.name, cov.kind, cov.levels or ())
    _missing_like_warning(text, raw, cov.name, group)
    _word_missing_warning(raw[cov.name], cov.name)
    seen = sorted(text.dropna().unique().tolist())
    if cov.kind == "ordinal":
        levels = list(cov.levels or ())
        bad = [v for v in seen if v not in levels]
        if bad:
            i = int(np.flatnonzero(text.isin(bad).to_numpy())[0])
            raise InputError(
                f"covariate {cov.name!r}, {_row_name(raw, group, i)}: {text.iloc[i]!r} is not "
                f"one of its ordinal levels {levels}; add it to levels or mark it missing"
            )
        out = pd.DataFrame({cov.name: text.map({v: float(k) for k, v in enumerate(levels)})},
                           index=raw.index)
        out.attrs["levels"] = levels
        return out
    levels = list(cov.levels) if cov.levels else seen
    bad = [v for v in seen if v not in levels]
    if bad:
        raise InputError(f"covariate {cov.name!r}: values {bad} are not among its declared "
                         f"levels {levels}")
    numbers = _number_like_cells(pd.Series(seen, dtype=object))
    if numbers is not None:
        log.warning("covariate %r (categorical) has levels that are %s: each value is a "
                    "category of its own; if it is a measurement, %s, and declare it numeric",
                    cov.name, *numbers)
    patients = raw[group].nunique() if group in raw else len(raw)
    if len(seen) >= ID_LIKE_LEVELS and len(seen) >= patients / 2:
        log.warning("covariate %r (categorical) takes %d distinct values for %d patients: "
                    "nearly one per patient, like an identifier or a date, not a category; "
                    "its %d indicator columns can only memorise patients (give it as numeric, "
                    "group its values, or leave it out)", cov.name, len(seen), patients,
                    len(seen) - 1)
    if group in raw:
        held = pd.DataFrame({"g": raw[group], "v": text}).dropna().groupby("v")["g"].nunique()
        rare = [f"{v!r} ({int(held[v])})" for v in levels
                if v in held.index and held[v] < RARE_LEVEL_PATIENTS]
        if rare and len(levels) > 1:
            log.warning("covariate %r (categorical): level(s) %s held by fewer than %d "
                        "patients: each such coefficient rests on those patients alone (a "
                        "nomogram can give it an odds ratio in the hundreds); merge rare levels "
                        "into a wider one, or leave the covariate out", cov.name,
                        ", ".join(rare), RARE_LEVEL_PATIENTS)
    parts = {f"{cov.name}={v}": (text == v).astype(float).where(text.notna(), np.nan)
             for v in (levels[1:] if len(levels) > 1 else levels)}
    out = pd.DataFrame(parts, index=raw.index)
    out.attrs["levels"] = levels  # the first is the reference level
    return out


NUMBER_LIKE: dict[str, tuple[re.Pattern[str], str, str]] = {
    "unit": (re.compile(r"[<>~]?[+-]?\d+([.,]\d+)?(\s*%|\s+[^\W\d_].*|\s*[°µ].*"
                        r"|[^\W\d_]{2,}.*)", re.IGNORECASE),
             "numbers with a unit or a percent sign",
             "write plain numbers (5 for 5 cm, 45 for 45 %; a unit belongs in the column "
             "name, size_cm)"),
    "comma": (re.compile(r"[+-]?\d+(,\d+)+(\.\d+)?"),
              "numbers with a decimal comma or a thousands separator",
              "write plain numbers with a decimal point and no separator (62.5, 1200)"),
    "date": (re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
                        r"|\d{4}/\d{1,2}/\d{1,2}"),
             "dates", "turn them into numbers (an age, or days from a reference date)"),
}
"""Cells that are numbers in another form (``5 cm``, ``45%``, ``62,5``, ``1,200``,
``2021-03-04``, ``04/03/2021``), by kind: pattern, what they are, the fix. A level such as
``3a`` (a digit and one letter) is a category."""


def number_like(value: str) -> str | None:
    """The kind of :data:`NUMBER_LIKE` a cell that is not a plain number is, or ``None``.

    Examples
    --------
    >>> [number_like(v) for v in ("5 cm", "45%", "62,5", "2021-03-04", "3a", "Male")]
    ['unit', 'unit', 'comma', 'date', None, None]
    """
    text = value.strip()
    for kind, (pattern, _, _) in NUMBER_LIKE.items():
        if pattern.fullmatch(text):
            return kind
    return None


def _number_like_cells(words: pd.Series) -> tuple[str, str] | None:
    """What ``words`` (cells that are not plain numbers) are, when at least half of them are
    numbers in another form (:func:`number_like`): the kinds' descriptions with a few of
    the cells, and their fixes; ``None`` for real words."""
    kinds = words.map(number_like)
    if words.empty or kinds.notna().sum() * 2 < len(words):
        return None
    found = [k for k in NUMBER_LIKE if (kinds == k).any()]
    shown = ", ".join(repr(v) for v in sorted(words[kinds.notna()].unique())[:4])
    return (f"{' and '.join(NUMBER_LIKE[k][1] for k in found)} ({shown})",
            "; ".join(NUMBER_LIKE[k][2] for k in found))


def _refuse_text_covariate(raw: pd.DataFrame, name: str) -> None:
    """Refuse a covariate read as numeric (the default kind) whose cells are mostly words:
    a category (``Male``/``Female``) that needs its kind, not cells to fix; or numbers in
    another form (:func:`number_like`: a unit, a decimal comma, dates) that need cells
    rewritten, never the categorical kind (each value would become a category).

    Raises
    ------
    SettingsError
        Words: naming the values and the declaration to add (exit 2).
    InputError
        Numbers in another form: naming them and how to write them.
    """
    column = raw[name]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return
    text = _text(column).dropna()
    words = text[pd.to_numeric(text, errors="coerce").isna()]
    if len(text) and len(words) * 2 >= len(text) and words.nunique() >= 1:
        numbers = _number_like_cells(words)
        if numbers is not None:
            raise InputError(
                f"covariate {name!r} is read as numeric but holds {numbers[0]}, which are no "
                f"plain numbers: {numbers[1]}; declaring it categorical would make every "
                "value a category of its own")
        shown = ", ".join(repr(v) for v in sorted(words.unique())[:4])
        raise SettingsError(
            f"covariate {name!r} is read as numeric but holds words ({shown}): a category; "
            f"declare it categorical ({name}:categorical in --covariates, or "
            f"{{name: {name}, kind: categorical}} under roles.covariates of a study file; "
            f"a graded one as ordinal, with its levels in order: --ordinal "
            f"{name}=LOW,...,HIGH, or kind: ordinal with levels)"
        )


MOSTLY_MISSING = 0.5
"""Share of missing rows above which an input is said to be mostly imputed."""


def _mostly_missing_warning(missing: Mapping[str, int], sources: Mapping[str, str],
                            n_rows: int) -> None:
    """Say which inputs are missing for more than :data:`MOSTLY_MISSING` of the analysed
    rows: imputed inside the training folds (the median), they mostly carry the imputed
    value, yet enter every arm that reads them (a covariate of the clinical reference arm
    against which every other arm is compared)."""
    if n_rows == 0:
        return
    named: dict[str, int] = {}
    for column, n in missing.items():
        if n > MOSTLY_MISSING * n_rows:
            name = sources.get(column, column)
            named[name] = max(named.get(name, 0), n)
    if named:
        log.warning("input(s) missing for more than half of the %d analysed rows, imputed "
                    "inside the training folds, so mostly the imputed value: %s; leave them "
                    "out, or complete them", n_rows,
                    _listing(f"{c} ({n} missing)" for c, n in named.items()))


RARE_LEVEL_PATIENTS = 3
"""Patients below which a categorical covariate's level is warned about: its indicator's
coefficient is fitted on those few patients alone."""


def _feature_columns(raw: pd.DataFrame, reserved: set[str]) -> tuple[list[str], list[str]]:
    from radiomix.model.columns import FeatureName, is_deep_count

    rad: list[str] = []
    deep: list[str] = []
    for c in raw.columns:
        name = str(c)
        if name in reserved or is_deep_count(name):
            continue
        parsed = FeatureName.parse(name)
        if parsed is None:
            continue
        (deep if parsed.block == "deep" else rad).append(name)
    return rad, deep


def written(name: str) -> bool:
    """Whether a column with a feature name is one radiomix writes: a registered
    ``family.feature`` with one of its aggregations (none for a feature without), or a
    deep embedding column ``fNNN``.

    Only the image columns radiomix writes (radiomic and deep) are exempt from the
    outcome-leak guard (:func:`_guard`): on a small cohort some of hundreds of image
    columns separate the outcome by chance, which says nothing of leakage. A column that
    merely looks like a feature (``ct.original.stat.leaky_mean``,
    ``ct.deep.resnet18_2p5d.score``, a merged or renamed column) is checked like any other
    input.

    Examples
    --------
    >>> written("ct.original.glcm.joint_max.3d_merged"), written("ct.original.stat.leaky_mean")
    (True, False)
    >>> written("ct.deep.resnet18_2p5d.f007"), written("ct.deep.resnet18_2p5d.score")
    (True, False)
    >>> written("ct.deep.resnet18_slices.f007.max"), written("ct.deep.resnet18_slices.f007.sum")
    (True, False)
    """
    from radiomix.model.columns import FeatureName

    parsed = FeatureName.parse(name)
    if parsed is None:
        return False
    if parsed.block == "deep":
        # slice embeddings are written as their mean and maximum over the lesion's slices
        return (parsed.aggregation in (None, *SLICE_STATS)
                and re.fullmatch(r"f\d{3,}", parsed.feature) is not None)
    tokens = _aggregation_tokens().get(f"{parsed.family}.{parsed.feature}")
    return tokens is not None and parsed.aggregation in tokens


@functools.cache
def _aggregation_tokens() -> dict[str, set[str | None]]:
    """Registered ``family.feature`` -> the aggregation tokens its columns may carry."""
    from radiomix.features.registry import all_features

    return {s.name: {a.token for a in s.aggregations} if s.aggregations else {None}
            for s in all_features()}


def table_settings_hash(table: pd.DataFrame, provenance: Mapping[str, Any] | None = None,
                        ) -> str | None:
    """The extraction settings hash of a feature table: its provenance's, else the one value
    of its ``settings_hash`` column (radiomix writes it in every row); ``None`` when neither
    says.

    Raises
    ------
    InputError
        The column holds several values: rows extracted with different settings (tables
        joined by hand), whose features are not comparable.
    """
    recorded = (provenance or {}).get("settings_hash")
    values: list[str] = []
    if "settings_hash" in table.columns:
        column = table["settings_hash"].dropna().astype(str)
        counts = column[column.str.strip() != ""].value_counts()
        if len(counts) > 1:
            shown = ", ".join(f"{h}: {n} rows" for h, n in counts.head(4).items())
            raise InputError(
                f"the feature table holds rows extracted with {len(counts)} different settings "
                f"(settings_hash {shown}): their features are not comparable (a batch effect "
                "no model is told of); extract every case with one settings (radiomix run or "
                "extract-many), or analyse the parts apart")
        values = list(counts.index)
    if recorded:
        return str(recorded)
    return values[0] if values else None


def tumour_tags(study_doc: Any) -> list[str] | None:
    """The image tags whose ROI is the tumour itself, from a study's description
    (:meth:`radiomix.settings.study.Study.to_dict`, as a run's table provenance keeps it):
    a peritumoral ring's or a largest slice's volume is no tumour volume. ``None`` when the
    description does not say (a table of another tool).

    Sorted by tag name (the volume baseline takes the first): the same choice whatever
    the order of the tags in the study file.

    Examples
    --------
    >>> doc = {"tags": {"pet_ring": {"settings": {"preprocess": {"roi": "ring"}}},
    ...                 "pet": {"settings": {"preprocess": {"roi": "tumour"}}}}}
    >>> tumour_tags(doc)
    ['pet']
    >>> tumour_tags({"tags": {t: {"settings": {"preprocess": {"roi": "tumour"}}}
    ...                       for t in ("pet", "ct")}})
    ['ct', 'pet']
    """
    tags = study_doc.get("tags") if isinstance(study_doc, Mapping) else None
    if not isinstance(tags, Mapping):
        return None
    found = []
    for tag, doc in tags.items():
        try:
            roi = doc["settings"]["preprocess"]["roi"]
        except (KeyError, TypeError):
            return None
        if roi == "tumour":
            found.append(str(tag))
    return sorted(found)


def build_table(
    features: pd.DataFrame | None,
    spec: AnalysisSettings,
    *,
    clinical: pd.DataFrame | None = None,
    extra_features: Sequence[str] = (),
    allow: Sequence[str] = (),
    time_columns: Sequence[str] = (),
    volume_tags: Sequence[str] | None = None,
) -> AnalysisTable:
    """Join, type and role-check the tables of an analysis.

    Parameters
    ----------
    features : DataFrame or None
        Feature table (one row per lesion, or per slice), with the group column; ``None``
        for a clinical-only analysis.
    spec : AnalysisSettings
    clinical : DataFrame, optional
        One row per patient, joined on the group column (ids compared as text, so ``7``
        and ``"7"`` match). A column both tables carry must agree for every patient in
        both (else an error names it and the patients); the clinical copy is used.
    extra_features : sequence of str
        Further columns of ``features`` to use as radiomic-block inputs although they do not
        follow radiomix's feature naming (a wide table from another tool).
    allow : sequence of str
        Input columns the user named explicitly: kept even when they separate an outcome.
    time_columns : sequence of str
        Further time columns of the study (the study file's ``columns.time``), used only by
        the leak guard: an input that follows one is refused as outcome-derived, as is an
        input that follows a survival time or a numeric column declared ``derived``.
    volume_tags : sequence of str, optional
        Tags whose volume may be the tumour volume of the volume baseline
        (:func:`tumour_tags`: not a ring's), in order of preference; default: any tag, in
        table order.

    Returns
    -------
    AnalysisTable

    Raises
    ------
    InputError, SettingsError
        A missing column, an unparsable cell, an outcome column used as input, a column
        that separates an outcome, patients without a clinical row ...
    """
    roles = spec.roles
    group = roles.group
    if features is not None:
        table_settings_hash(features)  # rows of several extraction settings are refused
    raw = _join(features, clinical, group)
    raw[group] = _text(raw[group])
    if raw[group].isna().any():
        i = int(np.flatnonzero(raw[group].isna().to_numpy())[0])
        raise InputError(f"row {i + 2}: the group column {group!r} is empty; every row needs "
                         "its patient id")
    _check_group_is_patient(raw, group, roles.lesion)
    per_lesion = bool(roles.lesion and roles.lesion in raw.columns)
    if per_lesion:
        pairs = pd.DataFrame({"g": raw[group], "l": _text(raw[roles.lesion])})
        twice = pairs.duplicated(keep=False).to_numpy()
        if twice.any():  # slices or scans of one lesion: rows are not lesions
            i = int(np.flatnonzero(twice)[0])
            first = pairs.iloc[i]
            n_rows = int(((pairs["g"] == first["g"]) & (pairs["l"] == first["l"])).sum())
            n_pairs = int(pairs[twice].drop_duplicates().shape[0])
            log.warning("patient %r lesion %r has %d rows (%d patient and lesion id pair(s) "
                        "have several, %d rows in all: slices or scans of one lesion): counts "
                        "are of rows, not lesions; give each scan its own lesion id if each "
                        "row is a lesion", raw[group].iloc[i], raw[roles.lesion].iloc[i],
                        n_rows, n_pairs, int(twice.sum()))
            per_lesion = False
    outcome_cols = set(spec.outcome_columns)
    derived = set(roles.derived)
    reserved = {group, *(c for c in (roles.lesion, roles.centre) if c), *outcome_cols, *derived,
                *roles.excluded, *PROVENANCE_COLUMNS}
    missing = [c for c in (*outcome_cols, *(c.name for c in roles.covariates))
               if c not in raw.columns]
    if missing:
        import difflib

        plain = [str(c) for c in raw.columns if FeatureName.parse(str(c)) is None]
        near = {c: m[0] for c in missing
                if (m := difflib.get_close_matches(c, plain, n=1, cutoff=0.6))}
        hint = "".join(f"; {c!r}: did you mean {m!r}?" for c, m in near.items())
        # a name the study file (or a flag) gives that the table does not have: a settings
        # error (exit 2), as a radiomic pattern that matches nothing
        raise SettingsError(
            f"columns {missing}, named as outcome or covariate columns (the outcomes and "
            f"roles of the analysis), are not in the feature or clinical table{hint}; its "
            f"columns other than features: {_listing(plain)}"
        )
    if roles.centre and roles.centre not in raw.columns:
        raise SettingsError(f"centre column {roles.centre!r} (roles.centre / --centre) is not "
                            "in the feature or clinical table")
    _check_named_columns(raw, {"derived (roles.derived / --derived)": roles.derived,
                               "excluded (roles.excluded / --exclude)": roles.excluded,
                               "allowed (roles.allow / --allow)": [*roles.allow, *allow]})
    rad, deep = _feature_columns(raw, reserved)
    extra = [c for c in extra_features if c not in rad and c not in deep]
    bad = sorted(set(extra) & reserved)
    if bad:
        raise SettingsError(f"{bad} are outcome, derived, identifier or excluded columns; they "
                            "can never be model inputs")
    absent = [c for c in extra if c not in raw.columns]
    if absent:
        raise SettingsError(f"columns {absent} (--columns) are not in the feature table")
    # one column order whatever the table's: a selection or a solver that reads columns in
    # order (an L1 path among correlated features) gives the same model
    rad, deep = sorted(rad + extra), sorted(deep)
    _check_allowed_inputs([*roles.allow, *allow], {c.name for c in roles.covariates},
                          {*rad, *deep})
    parts: dict[str, pd.Series] = {}
    for c in (*rad, *deep):
        parts[c] = to_numeric(raw, c, group)
    sources: dict[str, str] = {}
    clin_cols: list[str] = []
    levels_used: dict[str, list[str] | None] = {}
    _covariate_varies_warnings(raw, [c.name for c in roles.covariates], group)
    for cov in roles.covariates:
        enc = _encode_covariate(raw, cov, group)
        levels_used[cov.name] = enc.attrs.get("levels")
        for c in enc.columns:
            parts[str(c)] = enc[c]
            sources[str(c)] = cov.name
            clin_cols.append(str(c))
    X = pd.DataFrame(parts, index=raw.index)
    vol = volume_column(rad, volume_tags)
    with_volume = {c.split(".")[0] for c in rad if volume_column([c])}
    if vol and volume_tags is None and len(with_volume) > 1:
        log.warning("the volume baseline takes %s, the volume of the first tag by name: the "
                    "table does not say which tags' ROIs are tumours (no radiomix provenance) "
                    "and a peritumoral ring's volume is no tumour volume; give the table "
                    "radiomix wrote, or leave the other tags' volume columns out", vol)
    blocks = {"radiomic": rad, "deep": deep, "clinical": clin_cols,
              "volume": [vol] if vol else []}
    targets: dict[str, Target] = {}
    for o in spec.outcomes:
        targets[o.name] = (_binary_target(raw, o, group) if o.kind == "binary"
                           else _survival_target(raw, o, group))
    copies = _guard(X, blocks, targets,
                    radiomix_named={c for c in (*rad, *deep) if c not in extra and written(c)},
                    allow=set(allow) | set(roles.allow), sources=sources,
                    times=_study_times(raw, [*roles.derived, *time_columns], spec))
    _check_one_centre(raw, spec)
    for c in clin_cols:
        values = X[c].dropna()
        if values.empty:
            raise InputError(f"covariate {sources[c]!r} has no value in any row (every cell "
                             "is empty or a missing token); fill it, or remove it from the "
                             "covariates")
        if values.nunique() < 2:
            shown = c if c != sources[c] else f"{values.iloc[0]:g}"
            raise InputError(f"covariate {sources[c]!r} takes a single value ({shown}) in "
                             f"every row that has one; it carries no information: remove it "
                             "from the covariates")
    declared = {c.name for c in roles.covariates}
    # read by an arm's ComBat step as its batch, never by a model
    batch = sorted({a.harmonise_batch for a in spec.arms if a.harmonise and a.harmonise_batch
                    and a.harmonise_batch in raw.columns})
    unused = [str(c) for c in raw.columns if str(c) not in reserved and str(c) not in declared
              and str(c) not in parts and str(c) != roles.lesion and str(c) not in batch]
    _unused_time_warnings(X, raw, [c for c in unused if FeatureName.parse(c) is None],
                          allow=set(allow) | set(roles.allow), sources=sources)
    centre = _text(raw[roles.centre]).fillna("(missing)").to_numpy(dtype=str) \
        if roles.centre else None
    groups = raw[group].to_numpy(dtype=str)
    alerts = [("An input holds the outcome", text) for text in copies]
    if centre is not None and roles.centre:
        alerts += [("The centre (nearly) separates the outcome", text) for text in
                   _centre_outcome_warnings(centre, groups, targets, roles.centre)]
    alerts += [("Patients under two ids", text) for text in
               _duplicate_patient_warnings(X[[*blocks["radiomic"], *blocks["deep"]]], groups)]
    role_doc = {
        "group": group, "lesion": roles.lesion if roles.lesion in raw.columns else None,
        "centre": roles.centre, "outcome_columns": sorted(outcome_cols),
        "derived": sorted(derived), "excluded": list(roles.excluded),
        # levels in coding order (declared, else as found; categorical: reference first)
        "covariates": [{"name": c.name, "kind": c.kind, "levels": levels_used.get(c.name)}
                       for c in roles.covariates],
        "harmonise_batch": batch,
        "unused": unused,
    }
    # cells of the rows some outcome analyses (a row without any outcome is never imputed)
    analysed = np.logical_or.reduce([np.asarray(t.keep, dtype=bool) for t in targets.values()])
    # a feature column without any value for the analysed patients is no input (nothing to
    # impute from): left out and said, not reported as imputed
    empty = [c for c in (*blocks["radiomic"], *blocks["deep"])
             if c not in blocks["volume"] and X.loc[analysed, c].isna().all()]
    if empty:
        log.warning("%d feature column(s) have no value for any analysed patient and are left "
                    "out: %s (a family the settings could not compute, such as the IVH of "
                    "intensities that are not integers: see the cases' notes)", len(empty),
                    _listing(empty))
        X = X.drop(columns=empty)
        gone = set(empty)
        blocks["radiomic"] = [c for c in blocks["radiomic"] if c not in gone]
        blocks["deep"] = [c for c in blocks["deep"] if c not in gone]
    miss = {c: int(n) for c, n in X[analysed].isna().sum().items() if n}
    _mostly_missing_warning(miss, sources, int(np.count_nonzero(analysed)))
    if roles.centre:
        # the batch of ComBat harmonisation (an arm step that drops it before any model)
        codes = {c: float(i) for i, c in enumerate(sorted(_text(raw[roles.centre])
                                                          .fillna("(missing)").unique()))}
        X[BATCH_COLUMN] = _text(raw[roles.centre]).fillna("(missing)").map(codes).to_numpy()
    if unused:
        log.info("columns not used (not declared as covariates): %s", _listing(unused))
    unit = "lesion" if per_lesion else "row"
    return AnalysisTable(X=X.reset_index(drop=True),
                         groups=raw[group].to_numpy(dtype=str), centre=centre, blocks=blocks,
                         sources=sources, targets=targets, roles=role_doc, missing=miss,
                         unit=unit, raw=raw.reset_index(drop=True), alerts=alerts)


def _covariate_varies_warnings(raw: pd.DataFrame, names: Sequence[str], group: str) -> None:
    """Warn of a covariate whose value differs between one patient's rows (age 59 on one
    lesion, 80 on the other): each row enters the model with its own value (a lesion-level
    covariate may do so), while Table 1 describes each patient once; a patient's attribute
    written two ways is a data error the user must see."""
    for name in names:
        if name not in raw.columns:
            continue
        values: pd.Series = _text(raw[name])
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():  # 59 and 59.0 are one age
            values = numbers
        per = pd.DataFrame({"g": raw[group], "v": values}).dropna().groupby("g")["v"]
        varied = per.nunique()
        varied = varied[varied > 1]
        if len(varied):
            first = str(varied.index[0])
            shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v)
                              for v in sorted(per.get_group(first).unique())[:3])
            log.warning("covariate %r differs between the rows of %d patient(s) (e.g. %s: %s): "
                        "each row (lesion) enters the models with its own value, while Table 1 "
                        "describes each patient by its first row; if it is the patient's "
                        "attribute (age, sex), write it alike on every row", name, len(varied),
                        first, shown)


def _check_named_columns(raw: pd.DataFrame, named: Mapping[str, Sequence[str]]) -> None:
    """Refuse a column named in a role that the table does not have: a misspelt derived
    column would otherwise switch off the leak guard's time checks for the real one, with
    nothing said."""
    import difflib

    lowered = {str(c).lower(): str(c) for c in raw.columns}
    for role, names in named.items():
        absent = [c for c in names if c not in raw.columns]
        if not absent:
            continue
        near = {c: lowered[m[0]] for c in absent
                if (m := difflib.get_close_matches(c.lower(), list(lowered), n=1, cutoff=0.6))}
        hint = "".join(f"; {c!r}: did you mean {m!r}?" for c, m in near.items())
        raise SettingsError(f"columns {absent}, named as {role} columns, are not in the "
                            f"feature or clinical table{hint}")


def _check_allowed_inputs(allow: Sequence[str], covariates: set[str],
                          features: set[str]) -> None:
    """Refuse an ``allow`` entry that is in the table but is no model input (a column not
    declared as a covariate): keeping it past the leak guard would change nothing."""
    idle = [c for c in dict.fromkeys(allow) if c not in covariates and c not in features]
    if idle:
        raise SettingsError(f"columns {idle}, named as allowed (roles.allow / --allow) "
                            "columns, are not model inputs (neither a declared covariate nor "
                            "a feature column), so allowing them changes nothing; declare "
                            "them in roles.covariates (--covariates), or drop them from allow")


def _study_times(raw: pd.DataFrame, names: Sequence[str],
                 spec: AnalysisSettings) -> dict[str, np.ndarray]:
    """Numeric columns among ``names`` (declared derived, the study's time column) that are
    in the table and not a survival outcome's own time (checked with its outcome), as float
    over the rows of ``raw``; text columns (dates, outcome text) are left out."""
    own = {o.time for o in spec.outcomes if o.time}
    return _numeric_columns(raw, [n for n in names if n not in own])


def _numeric_columns(raw: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns among ``names`` in the table with at least 4 numbers, as float over the rows
    of ``raw`` (cells that are not numbers NaN); text columns are left out."""
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(names):
        if name not in raw.columns:
            continue
        values = pd.to_numeric(_text(raw[name]), errors="coerce").to_numpy(dtype=float)
        if np.isfinite(values).sum() >= 4:
            out[name] = np.where(np.isfinite(values), values, np.nan)
    return out


CENTRE_SEPARATION: float = 0.95
"""Share of an outcome's patients that the majority class of their centre classifies
correctly from which the centre column is said to (nearly) separate the outcome."""


def _centre_outcome_warnings(centre: np.ndarray, groups: np.ndarray,
                             targets: Mapping[str, Target], column: str) -> list[str]:
    """Say when a binary outcome is (nearly) one class per centre: every centre's patients
    then differ from the others' in their outcome and in whatever the centre changes in the
    images (scanner, protocol, reconstruction), so a feature can predict the outcome through
    the centre alone, and external validation by centre tests a centre effect. At least
    :data:`CENTRE_SEPARATION` of the patients in their centre's majority class, with two
    centres of different majority classes. Returns the texts said, which the report also
    shows in a banner (a near separation confounds as a complete one does: 95 % of the
    patients in their centre's class leave a feature of the centre nearly all the signal)."""
    said: list[str] = []
    for name, t in targets.items():
        if t.y is None:
            continue
        frame = pd.DataFrame({"g": groups[t.keep], "c": centre[t.keep], "y": t.y})
        per = frame.drop_duplicates("g").groupby("c")["y"].agg(["sum", "count"])
        if len(per) < 2:
            continue
        major = np.maximum(per["sum"], per["count"] - per["sum"])
        share = float(major.sum() / per["count"].sum())
        majority = per["sum"] * 2 > per["count"]
        prevalence = float(per["sum"].sum() / per["count"].sum())
        # a centre all of one class, which the pooled prevalence makes unlikely by chance
        chance = np.where(per["sum"] == per["count"], prevalence ** per["count"],
                          np.where(per["sum"] == 0, (1 - prevalence) ** per["count"], 1.0))
        pure = per[(per["count"] >= PURE_CENTRE_PATIENTS) & (chance < PURE_CENTRE_CHANCE)]
        mixed_overall = 0 < prevalence < 1
        if mixed_overall and len(pure) and (share < CENTRE_SEPARATION or majority.all()
                                            or not majority.any()):
            shown = "; ".join(f"{c}: {int(r['sum'])} of {int(r['count'])} patients positive"
                              for c, r in pure.head(6).iterrows())
            text = (f"outcome {name}: the patients of a centre (column {column!r}) all have "
                    f"one outcome ({shown}), which the pooled prevalence makes unlikely by "
                    f"chance: a feature that differs between centres "
                    "(scanner, protocol, reconstruction) predicts those patients through the "
                    "centre alone; read the arms' results as possibly confounded, or compare "
                    "within centres")
            log.warning(text)
            said.append(text)
            continue
        if share < CENTRE_SEPARATION or majority.all() or not majority.any():
            continue
        shown = "; ".join(f"{c}: {int(r['sum'])} of {int(r['count'])} patients positive"
                          for c, r in per.head(6).iterrows())
        how = "separates" if share == 1.0 else f"nearly separates ({share:.0%} of patients)"
        text = (f"outcome {name}: the centre column {column!r} {how} the outcome ({shown}): a "
                "feature that differs between centres (scanner, protocol, reconstruction) "
                "predicts it through the centre alone, and a validation by centre tests the "
                "centre; read the arms' results as possibly confounded, or compare within "
                "centres")
        log.warning(text)
        said.append(text)
    return said


PURE_CENTRE_PATIENTS: int = 5
"""Patients from which a centre whose every patient has one outcome class is said (a centre
of 10 patients all positive beside one of 41 with 9 is confounded whatever the pooled
share), when the pooled prevalence gives that less than :data:`PURE_CENTRE_CHANCE`."""

PURE_CENTRE_CHANCE: float = 0.01
"""Chance below which a centre of one outcome class is not taken for luck (5 negative
patients at a prevalence of 20 % happen a third of the time; 10 positive at 37 %, 5e-5)."""

DUPLICATE_MIN_COLUMNS: int = 5
"""Fewest feature values two rows must share, all equal, to be called the same lesion."""


NEAR_COPY_SD: float = 1e-4
"""Difference, in standard deviations of a column, within which two values of rows of
different patients count as one (or :data:`NEAR_COPY_RELATIVE` of the values, whichever is
larger): a re-export or a second extraction of the same scan moves features by 1e-9 to
1e-6 relative, while two lesions (even two scans of one lesion) differ by percents in
nearly every continuous feature."""

NEAR_COPY_RELATIVE: float = 1e-6
"""Relative difference within which two values count as one (see :data:`NEAR_COPY_SD`):
a feature whose spread is tiny beside its values (an energy of 1e9 varying by 1e3)."""

NEAR_COPY_SCREEN: int = 64
"""Columns (those with the most distinct values) on which candidate pairs are found before
every column is compared."""


def _duplicate_patient_warnings(features: pd.DataFrame, groups: np.ndarray) -> list[str]:
    """Say when rows of different patients carry the same feature values, identical or
    in every column within :data:`NEAR_COPY_SD` of its standard deviation or
    :data:`NEAR_COPY_RELATIVE` of the values (at least :data:`DUPLICATE_MIN_COLUMNS` columns,
    none missing in either): continuous image
    features do not coincide between lesions, so these are one lesion (one patient) under
    two ids, and a split can put its copies on both sides (a leak that raises every
    cross-validated estimate). Returns the text said (empty when none), which the report
    also shows in a banner."""
    full = features.dropna(axis=1, how="any")
    if full.shape[1] < DUPLICATE_MIN_COLUMNS or full.empty:
        return []
    keys = pd.util.hash_pandas_object(full, index=False).to_numpy()
    frame = pd.DataFrame({"k": keys, "g": groups})
    per = frame.groupby("k")["g"].unique()
    same = {tuple(sorted(map(str, ids))) for ids in per if len(ids) > 1}
    near = _near_copies(full, np.asarray(groups).astype(str)) - same
    pairs = sorted(same | near)
    if not pairs:
        return []
    shown = ", ".join(" = ".join(p) for p in pairs[:5])
    how = ("identical feature rows" if not near else
           f"identical or nearly identical feature rows (within {NEAR_COPY_SD:g} standard "
           f"deviations or {NEAR_COPY_RELATIVE:g} of the values in every column)")
    text = (f"{len(pairs)} set(s) of patients share {how} ({shown}"
            f"{' …' if len(pairs) > 5 else ''}): one lesion under two patient ids puts its "
            "copies on both sides of a split; remove the copies, or give them one patient id")
    log.warning(text)
    return [text]


def _near_copies(full: pd.DataFrame, groups: np.ndarray) -> set[tuple[str, ...]]:
    """Pairs of patients with rows whose values agree in every varying numeric column (at
    least :data:`DUPLICATE_MIN_COLUMNS`) within :data:`NEAR_COPY_SD` standard deviations
    or :data:`NEAR_COPY_RELATIVE` of the values.

    Candidates come from the :data:`NEAR_COPY_SCREEN` columns with the most distinct values
    (a pair must agree there too: blocked pairwise differences), then each candidate is
    compared on every column."""
    values = full.select_dtypes("number").to_numpy(dtype=float)
    if values.shape[1] < DUPLICATE_MIN_COLUMNS or len(values) < 2:
        return set()
    sd = values.std(axis=0)
    values, sd = values[:, sd > 0], sd[sd > 0]
    if values.shape[1] < DUPLICATE_MIN_COLUMNS:
        return set()

    def agree(a: np.ndarray, b: np.ndarray, spread: np.ndarray) -> np.ndarray:
        tol = np.maximum(NEAR_COPY_SD * spread, NEAR_COPY_RELATIVE
                         * np.maximum(np.abs(a), np.abs(b)))
        return np.abs(a - b) <= tol

    distinct = np.array([np.unique(col).size for col in values.T])  # continuous first
    cols = np.argsort(-distinct, kind="stable")[:NEAR_COPY_SCREEN]
    found: set[tuple[str, ...]] = set()
    n = len(values)
    step = max(1, 2_000_000 // max(1, n * cols.size))
    for a in range(0, n, step):
        block = values[a:a + step]
        close = np.ones((len(block), n), dtype=bool)
        for c in cols:
            close &= agree(block[:, c, None], values[None, :, c], sd[c])
        for i, j in zip(*np.nonzero(close), strict=True):
            i += a
            if j > i and groups[i] != groups[j] and agree(values[i], values[j], sd).all():
                found.add(tuple(sorted((str(groups[i]), str(groups[j])))))
    return found


PATIENT_ID_NAMES = frozenset({"patient", "patientid", "patientno", "patientnumber", "patid",
                              "pid", "subject", "subjectid", "participant", "participantid"})
"""Column names (lower case, without separators) read as a patient id by
:func:`_check_group_is_patient`."""


def _check_group_is_patient(raw: pd.DataFrame, group: str, lesion: str | None) -> None:
    """Refuse a group column finer than the patient: the lesion column, or one of which a
    patient-id column (:data:`PATIENT_ID_NAMES`) holds several values per patient. Splits
    keep each group on one side, so two lesions of one patient under two groups can sit on
    both sides of a split (a leak that raises every cross-validated estimate), and the
    bootstrap resamples lesions as if they were patients."""
    if lesion is not None and lesion == group:
        raise SettingsError(
            f"roles.group and roles.lesion both name {group!r}: the group must be the patient "
            "id, so that no split puts one patient's lesions on both sides; set roles.group "
            "(--groups) to the patient id column"
        )
    for column in raw.columns:
        if column == group or re.sub(r"[^a-z]", "", str(column).lower()) not in PATIENT_ID_NAMES:
            continue
        patient = _text(raw[column])
        if patient.isna().any() or patient.nunique() >= raw[group].nunique():
            continue
        pairs = pd.DataFrame({"g": raw[group], "p": patient})
        if (pairs.groupby("g")["p"].nunique() > 1).any():
            continue  # a group across patients: not nested in them
        per = pairs.groupby("p")["g"].unique()
        several = per[per.map(len) > 1]
        example = several.index[0]
        raise SettingsError(
            f"the group column {group!r} is finer than the patient column {column!r} "
            f"({raw[group].nunique()} groups in {patient.nunique()} patients; patient "
            f"{example!r} has {len(several.iloc[0])}): one patient's rows could sit on both "
            f"sides of a split; set roles.group (--groups) to {column!r}"
        )


def _check_one_centre(raw: pd.DataFrame, spec: AnalysisSettings) -> None:
    """External validation splits by centre: refuse a patient whose rows name two centres
    (the patient would sit on both sides of the split), saying how to fix it."""
    centre = spec.roles.centre
    external = {"external", "training_internal_external"} & set(spec.validation.schemes)
    if not centre or not external:
        return
    group = spec.roles.group
    frame = pd.DataFrame({"g": raw[group], "c": _text(raw[centre]).fillna("(missing)")})
    per = frame.groupby("g")["c"].nunique()
    multi = [str(g) for g in per.index[per > 1]]
    if multi:
        raise InputError(
            f"{len(multi)} patient(s) have rows in more than one centre (column {centre!r}; "
            f"e.g. {', '.join(multi[:5])}); external validation holds out whole centres, so "
            "every row of a patient needs the same centre: correct the centre of these rows, "
            "or validate without centres (--validation nested; validation.schemes: "
            "[nested_cv])"
        )


def _listing(cols: Any, n: int = 12) -> str:
    cols = [str(c) for c in cols]
    return ", ".join(cols[:n]) + (f" … ({len(cols)} in all)" if len(cols) > n else "")


def _join(features: pd.DataFrame | None, clinical: pd.DataFrame | None,
          group: str) -> pd.DataFrame:
    if features is None and clinical is None:
        raise InputError("give a feature table, a clinical table, or both")
    for name, t in (("feature", features), ("clinical", clinical)):
        if t is not None and t.empty:
            raise InputError(f"the {name} table has no rows; give a table with one row per "
                             f"{'lesion' if name == 'feature' else 'patient'}")
    for name, t in (("feature", features), ("clinical", clinical)):
        if t is not None and group not in t.columns:
            raise InputError(f"the {name} table has no group column {group!r}; name the "
                             f"patient id column (roles.group / --groups). Columns: "
                             f"{_listing(t.columns)}")
    if features is not None and _text(features[group]).isna().any():
        i = int(np.flatnonzero(_text(features[group]).isna().to_numpy())[0])
        raise InputError(f"row {i + 2} of the feature table: the group column {group!r} is "
                         "empty; every row needs its patient id")
    if clinical is not None:
        # a clinical row whose patient id is empty cannot be joined: said, unless the row
        # holds nothing at all (a spreadsheet's trailing ",,,", no data)
        values = clinical.drop(columns=[group]).map(
            lambda v: not (v is None or (isinstance(v, float) and math.isnan(v))
                           or (isinstance(v, str) and not v.strip())))
        empty = (_text(clinical[group]).isna() & values.any(axis=1)).to_numpy()
        if empty.any():
            raise InputError(
                f"row {int(np.flatnonzero(empty)[0]) + 2} of the clinical table: the group "
                f"column {group!r} is empty ({int(empty.sum())} row(s) in all), so the row "
                "belongs to no patient; every row needs its patient id: fill it, or remove "
                "the row")
    if features is not None:
        repeated = features.duplicated()
        if repeated.any():
            j = int(np.flatnonzero(repeated.to_numpy())[0])
            hashes = pd.util.hash_pandas_object(features, index=False).to_numpy()
            i = int(np.flatnonzero(hashes == hashes[j])[0])
            raise InputError(
                f"rows {i + 2} and {j + 2} of the feature table are identical (patient "
                f"{features[group].iloc[j]!r}): a repeated row would count its lesion twice; "
                f"remove the copy ({int(repeated.sum())} repeated row(s) in all)"
            )
        _check_id_case(_text(features[group]), "feature")
    if clinical is None:
        return features.copy()  # type: ignore[union-attr]
    clin = clinical.copy()
    clin[group] = _text(clin[group])
    _check_id_case(clin[group], "clinical")
    dup = clin[group][clin[group].duplicated()].dropna()
    if len(dup):
        raise InputError(f"the clinical table lists patient {dup.iloc[0]!r} more than once; "
                         "it needs one row per patient")
    if features is None:
        return clin
    feat = features.copy()
    feat[group] = _text(feat[group])
    overlap = [c for c in feat.columns if c in clin.columns and c != group]
    no_clin = ~feat[group].isin(set(clin[group].dropna()))
    from radiomix.text_keys import id_key, value_key

    # one patient written apart in the two tables would be dropped (said only as a feature
    # row without a clinical row and a clinical row without features): refused, as within
    # a table
    folded = {value_key(str(v)): str(v) for v in clin[group].dropna()}
    for v in pd.unique(feat[group][no_clin].dropna()):
        if value_key(str(v)) in folded:
            other = folded[value_key(str(v))]
            how = ("letter case and Unicode form (accents, full-width letters)"
                   if id_key(str(v)) == id_key(other) else
                   "number format (a spreadsheet writes 1 as 1.0 and drops leading zeros)")
            raise InputError(
                f"patient {v!r} of the feature table is {other!r} in the clinical table "
                f"(group column {group!r}): ids must match exactly, {how} included; write "
                "them alike in both tables"
            )
    _check_agreement(feat[~no_clin.to_numpy()], clin, overlap, group)
    merged = feat.drop(columns=overlap).merge(clin, on=group, how="left", validate="m:1")
    if no_clin.all():
        raise InputError(
            f"no patient of the feature table is in the clinical table (group column "
            f"{group!r}; e.g. {feat[group].iloc[0]!r} vs {clin[group].dropna().iloc[0]!r}): "
            "check that both tables use the same ids"
        )
    if no_clin.any():
        log.warning("%d feature row(s) have no clinical row (patients %s)", int(no_clin.sum()),
                    _listing(pd.unique(feat[group][no_clin].dropna()).tolist()))
    no_feat = sorted(set(clin[group].dropna()) - set(feat[group].dropna()))
    if no_feat:
        log.warning("%d patient(s) of the clinical table have no feature row and are not "
                    "analysed (patients %s)", len(no_feat), _listing(no_feat))
    return merged


def _check_id_case(ids: pd.Series, table: str) -> None:
    """Refuse patient ids of one table that differ only in letter case or Unicode form
    (``STS_001`` and ``sts_001``; ``MÜLLER`` with a composed and with a decomposed ``Ü``,
    :func:`radiomix.text_keys.id_key`): read as two patients, one patient's rows would be
    split between training and test folds."""
    from radiomix.text_keys import id_key

    seen: dict[str, str] = {}
    for v in pd.unique(ids.dropna()):
        key = id_key(str(v))
        if key in seen and seen[key] != str(v):
            raise InputError(
                f"the {table} table holds patient ids {seen[key]!r} and {str(v)!r}, which differ "
                "only in letter case or Unicode form: they would be two patients, and one "
                "patient's rows could sit on both sides of a split; write each patient's id "
                "alike"
            )
        seen.setdefault(key, str(v))


def _comparable(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells as text (missing tokens as NaN) and as numbers where they parse."""
    if pd.api.types.is_bool_dtype(s):
        s = s.map(lambda v: v if pd.isna(v) else float(v))
    text = _text(s)
    return text, pd.to_numeric(text, errors="coerce")


def _check_agreement(feat: pd.DataFrame, clin: pd.DataFrame, columns: Sequence[str],
                     group: str, *, against: str = "the clinical table",
                     fix: str = "a column needs one source: drop it from one of the tables "
                                "(or rename one copy)",
                     unit: str = "patient") -> None:
    """Refuse a column that the feature table and ``against`` (the clinical table) both carry
    with other values for some patient (compared on the ``group`` values in both tables;
    missing equals missing, numbers compare as numbers so that ``1`` and ``"1.0"``
    agree)."""
    if not columns or feat.empty:
        return
    clin_rows = clin[clin[group].notna()].set_index(group)
    for c in columns:
        a_text, a_num = _comparable(feat[c].reset_index(drop=True))
        other = clin_rows[c].reindex(feat[group].to_numpy()).reset_index(drop=True)
        b_text, b_num = _comparable(other)
        same = ((a_text.isna() & b_text.isna()) | (a_text == b_text)
                | (a_num.notna() & b_num.notna()
                   & np.isclose(a_num.fillna(0.0), b_num.fillna(0.0), rtol=1e-9, atol=0.0)))
        differ = pd.unique(feat[group].to_numpy()[~same.to_numpy()])
        if differ.size:
            shown = ", ".join(str(g) for g in differ[:5])
            raise InputError(
                f"column {c!r} is in both the feature table and {against}, and their values "
                f"differ for {differ.size} {unit}(s) (e.g. {shown}); {fix}"
            )


def check_manifest_lesions(features: pd.DataFrame, manifest: pd.DataFrame, *,
                           patient: str, lesion: str, source: str) -> list[str]:
    """Refuse a feature table that names lesions the study's manifest does not hold; return
    the manifest's lesions the table lacks.

    A table analysed with a study (``radiomix analyse --features``) must be that study's:
    a row whose (patient, lesion) ids are not in the manifest belongs to another study, or
    its ids were rewritten (case, prefix), and its outcome columns could not be checked
    against the manifest (:func:`check_manifest_columns` compares matching lesions only).
    Ids are compared as stripped text; a near match (case, spacing) is suggested.

    Returns
    -------
    list of str
        ``"<patient> lesion <lesion>"`` of each manifest lesion without a row in the table
        (cases whose extraction failed, or a table cut short), in manifest order.

    Raises
    ------
    InputError
        The table lacks the id columns, or holds lesions that are not in the manifest.
    """
    if patient not in features.columns:
        raise InputError(
            f"{source} has no column {patient!r}, so its rows cannot be matched to the "
            "study's manifest: analyse the table `radiomix run` wrote for this study"
        )
    by_lesion = lesion in features.columns  # another tool's table: one row per patient

    def keys(t: pd.DataFrame) -> pd.Series:
        ids = _text(t[patient]).fillna("")
        return ids + " lesion " + _text(t[lesion]).fillna("") if by_lesion else ids

    feat_keys, man_keys = keys(features), keys(manifest)
    known = set(man_keys)
    foreign = feat_keys[~feat_keys.isin(known)]
    if len(foreign):
        first = str(foreign.iloc[0])
        pid, _, lid = first.partition(" lesion ")
        from radiomix.text_keys import id_key

        folded = {id_key(str(p).strip()): str(p).strip() for p in manifest[patient]}
        near = folded.get(id_key(pid.strip()))
        hint = (f"; did you mean patient {near!r}?" if near and near != pid else
                f"; patient {pid!r} is not in the manifest" if id_key(pid.strip())
                not in folded else f"; the manifest has no lesion {lid!r} of {pid!r}")
        raise InputError(
            f"{len(foreign)} row(s) of {source} name lesions that are not in the study's "
            f"manifest (e.g. patient {pid!r}{f' lesion {lid!r}' if by_lesion else ''}{hint}): "
            "the table belongs to "
            "another study or its ids were changed; analyse the table `radiomix run` wrote "
            "for this study, or correct the ids"
        )
    present = set(feat_keys)
    absent = [k for k in man_keys.drop_duplicates() if k not in present]
    if absent:
        log.warning("%d lesion(s) of the study's manifest have no row in %s (e.g. %s): they are "
                    "not analysed (cases whose extraction failed, or a table cut short)",
                    len(absent), source, ", ".join(absent[:3]))
    return absent


def check_manifest_columns(features: pd.DataFrame, manifest: pd.DataFrame, *,
                           patient: str, lesion: str, source: str) -> None:
    """Refuse a feature table whose copies of the manifest's columns (outcomes, times,
    covariates: what ``radiomix run`` carries into its table) differ from the study's
    manifest for some lesion.

    A table written by an earlier run keeps the labels of the manifest it was built from;
    analysed with the study (``radiomix analyse --features``) it would silently analyse
    those instead of the study's own. Lesions are matched on (patient, lesion) ids as
    text; a lesion in one table only is not compared.
    """
    shared = [c for c in manifest.columns if c in features.columns and c not in
              (patient, lesion)]  # fmt: skip
    if not shared or patient not in features.columns or lesion not in features.columns:
        return
    key = "__lesion__"

    def keyed(t: pd.DataFrame) -> pd.DataFrame:
        return t.assign(**{key: _text(t[patient]) + " lesion " + _text(t[lesion])})

    feat, man = keyed(features), keyed(manifest)
    man = man.drop_duplicates(subset=[key], keep="first")
    _check_agreement(
        feat[feat[key].isin(set(man[key]))], man, shared, key,
        against="the study's manifest", unit="lesion",
        fix=f"{source} was written from another version of the manifest, and the analysis "
            "reads the study's manifest: run `radiomix run` on the study again (finished "
            "cases are reused) and analyse its table, or analyse without --features",
    )


def _guard(X: pd.DataFrame, blocks: dict[str, list[str]], targets: dict[str, Target], *,
           radiomix_named: set[str], allow: set[str], sources: dict[str, str],
           times: dict[str, np.ndarray] | None = None) -> list[str]:
    """Refuse inputs that are likely derived from an outcome; return the exact copies that
    are only said (:func:`_suspect_warnings`).

    Binary outcome: a column whose values or missingness separate it perfectly. Survival
    outcome: a column that separates its event indicator perfectly (a copy of the event,
    a column missing exactly for the censored patients), that is a monotone function of
    its time (a copy, a rescaling such as months, a reversal) or that tracks it
    (:func:`tracking_columns`: a time from another date, a noisy copy). ``times``: further
    time columns of the study (columns declared derived, the study file's time), over the
    rows of ``X``: a column that is monotone in one or tracks one is refused too, whatever
    the outcomes (binary ones included). The image columns radiomix writes
    (``radiomix_named``, see :func:`written`) face only the time checks (a column named
    like a feature may still be a copy of the time); a column named in ``allow`` (or whose
    covariate is) is kept.
    """
    # every input faces the time checks (a monotone copy or a tracker of a time cannot
    # happen by chance, whatever the column's name); the separation checks leave out the
    # image columns radiomix writes, of which some separate a small cohort by chance
    timed = [c for c in X.columns if c not in allow and sources.get(c) not in allow]
    check = [c for c in timed if c not in radiomix_named]
    checked = set(check)
    if not timed:
        return []
    keep = ("declare it derived (roles.derived / --derived) so that it is never an input, or "
            "name it in roles.allow / --allow to keep it deliberately if it truly is a "
            "predictor")
    for t in targets.values():
        o = t.outcome
        if t.y is not None:
            if t.y.min() == t.y.max():
                continue
            sep = separating_columns(X.loc[t.keep, check], t.y)
            if sep:
                items = ", ".join(f"{c} (by its {how})" for c, how in sep.items())
                raise SettingsError(
                    f"outcome {o.name}: {items} separate(s) the outcome perfectly, which "
                    f"usually means the column is derived from the outcome; {keep}"
                )
            near = near_copies(X.loc[t.keep, check], t.y)
            if near:
                items = ", ".join(f"{c} (agrees on {a:.0%} of the rows)"
                                  for c, a in near.items())
                raise SettingsError(
                    f"outcome {o.name}: {items} is nearly a copy of the outcome (far beyond "
                    f"chance), which usually means the column records the outcome; {keep}"
                )
            continue
        if t.event is None or t.time_years is None:
            continue
        by_event = (separating_columns(X.loc[t.keep, check], t.event)
                    if t.event.min() != t.event.max() else {})
        found = [f"{c} (separates the event column {o.event} by its {how})"
                 for c, how in by_event.items()]
        near = (near_copies(X.loc[t.keep, [c for c in check if c not in by_event]], t.event)
                if t.event.min() != t.event.max() else {})
        found += [f"{c} (agrees with the event column {o.event} on {a:.0%} of the rows)"
                  for c, a in near.items()]
        by_event = {**by_event, **dict.fromkeys(near, "agreement")}
        rest = X.loc[t.keep, [c for c in timed if c not in by_event]]
        rest = rest.join(column_pairs(rest[[c for c in rest.columns if c in checked]],
                                      first=blocks["clinical"]))
        level = MONOTONE_CHANCE / max(1, rest.shape[1])  # over every column tested
        monotone = monotone_in_time(rest, t.time_years, chance=level)
        found += [f"{c} (a monotone function of the time column {o.time}: same or reversed "
                  "order on every row)" for c in monotone]
        found += [f"{c} (tracks the time column {o.time}: Spearman {rho:+.3f})"
                  for c, rho in tracking_columns(rest.drop(columns=monotone), t.time_years,
                                                 chance=level).items()]
        if found:
            raise SettingsError(
                f"survival outcome {o.name}: {', '.join(found)} is derived from the outcome "
                f"and would leak it into the model; {keep}"
            )
    for name, time in (times or {}).items():
        rest = X.loc[:, [c for c in timed if c != name and sources.get(c) != name]]
        rest = rest.join(column_pairs(rest[[c for c in rest.columns if c in checked]],
                                      first=blocks["clinical"]))
        level = MONOTONE_CHANCE / max(1, rest.shape[1])
        monotone = monotone_in_time(rest, time, chance=level)
        found = [f"{c} (a monotone function of {name}: same or reversed order on every row)"
                 for c in monotone]
        found += [f"{c} (tracks {name}: Spearman {rho:+.3f})"
                  for c, rho in tracking_columns(rest.drop(columns=monotone), time,
                                                 chance=level).items()]
        if found:
            raise SettingsError(
                f"{', '.join(found)}: {name} is a time of the study (declared derived, or the "
                "study's time column), and a column that follows it is derived from the "
                f"outcome for every outcome, binary ones included; {keep}"
            )
    return _suspect_warnings(X[timed], targets, times or {}, sources)


def _unused_time_warnings(X: pd.DataFrame, raw: pd.DataFrame, unused: Sequence[str], *,
                          allow: set[str], sources: dict[str, str]) -> None:
    """Warn of inputs that follow a numeric column of the table that no role names (not an
    input, not declared derived): a follow-up or a time to an event left in the table
    undeclared escapes the leak guard's time checks, while a feature that copies it
    carries the outcome into the models. Said, not refused: the column may be a harmless
    measurement (a size, a dose) that a feature rightly follows; declaring it derived makes
    the guard refuse the inputs that follow it."""
    times = _numeric_columns(raw, unused)
    inputs = X[[c for c in X.columns if c not in allow and sources.get(c) not in allow]]
    if not times or inputs.empty:
        return
    level = MONOTONE_CHANCE / max(1, inputs.shape[1])
    for name, values in times.items():
        # a monotone copy (a rescaled time: rho exactly +/-1) is left to monotone_in_time by
        # tracking_columns when many columns are tested; both are said here
        monotone = monotone_in_time(inputs, values, chance=level)
        follows = {**{c: round(_spearman(inputs[c], values), 3) for c in monotone},
                   **tracking_columns(inputs.drop(columns=monotone), values,
                                      threshold=SUSPECT_LEVEL, chance=level)}
        for c, rho in follows.items():
            shown = c if sources.get(c, c) == c else f"{sources[c]} ({c})"
            log.warning("%s follows %s (Spearman %+.2f, far beyond chance), a numeric column "
                        "of the table that no role names: if %s is derived from the outcome "
                        "(a time to an event, a follow-up), %s carries the outcome into the "
                        "models; declare %s derived (roles.derived / --derived) and the leak "
                        "guard checks every input against it", shown, name, rho, name, shown,
                        name)


#: Below the refusals, an input that agrees this much with a binary outcome (or an event),
#: or correlates this much with a time of the study, is said: it may have been recorded
#: after the outcome (a status or a duration at last follow-up).
SUSPECT_LEVEL: float = 0.8


def _suspect_warnings(X: pd.DataFrame, targets: dict[str, Target],
                      times: dict[str, np.ndarray], sources: dict[str, str]) -> list[str]:
    """Warn of inputs (image columns radiomix writes included: a noisy copy of the time
    under a feature name) that agree with a binary outcome or an event on
    :data:`SUSPECT_LEVEL` of the rows (two-valued ones by their values; any by which rows
    miss them), on :data:`NEAR_COPY_AGREEMENT` at one cut of their values (columns of many
    values, beyond chance over every column tested), or
    track a time of the study with Spearman's
    ``|rho|`` at that level, both beyond chance: strong predictors look the same, so they
    are said, not refused. Returns the exact copies said (two-valued inputs that agree with
    a binary outcome or an event on every row), which the report also shows as a banner."""
    if X.empty:
        return []

    def named(c: str) -> str:
        return c if sources.get(c, c) == c else f"{sources[c]} ({c})"

    said: list[str] = []
    copies: list[str] = []
    for t in targets.values():
        y = t.y if t.y is not None else t.event
        if y is not None and y.min() != y.max():
            near = near_copies(X.loc[t.keep], y, agreement=SUSPECT_LEVEL, values="two")
            said += [f"{named(c)} agrees with outcome {t.outcome.name} on "
                     f"{a:.0%} of the rows" for c, a in near.items()]
            # a column of many values (a copy with noise added under a feature's name):
            # at the near-copy level, beyond chance over every column tested, as a strong
            # feature of a large cohort may reach 80 % at its best cut
            cut = near_copies(X.loc[t.keep], y, chance=MONOTONE_CHANCE / max(1, X.shape[1]),
                              values="many")
            said += [f"{named(c)} agrees with outcome {t.outcome.name} on {a:.0%} of the rows "
                     "at one cut of its values" for c, a in cut.items()]
            # a value recorded only once the outcome happened: its missingness is the leak
            # (imputed, the column still tells the two apart to a model that sees the gaps)
            missing = X.loc[t.keep].isna()
            missing = missing.loc[:, missing.any() & ~missing.all()].astype(float)
            said += [f"whether {named(c)} is missing agrees with outcome {t.outcome.name} on "
                     f"{a:.0%} of the rows" for c, a in
                     near_copies(missing, y, agreement=SUSPECT_LEVEL, values="two").items()]
            copies += [f"{named(c)} holds outcome {t.outcome.name} itself (it agrees on every "
                       "row)" for c, a in near.items() if a == 1.0]
            copies += [f"{named(c)} tells outcome {t.outcome.name} on every row by one cut of "
                       "its values" for c, a in cut.items() if a == 1.0]
        if t.time_years is not None:
            times = {**times, f"the time of {t.outcome.name}": np.full(len(X), np.nan)}
            times[f"the time of {t.outcome.name}"][np.flatnonzero(t.keep)] = t.time_years
    level = MONOTONE_CHANCE / max(1, X.shape[1])
    for name, time in times.items():
        said += [f"{named(c)} follows {name} (Spearman {rho:+.2f})" for c, rho in
                 tracking_columns(X, time, threshold=SUSPECT_LEVEL, chance=level).items()]
    for text in dict.fromkeys(said):
        log.warning("%s, far beyond chance: if it was recorded after the outcome (a status or "
                    "a duration at last follow-up) it carries the outcome into the models; "
                    "declare it derived (roles.derived / --derived), or name it in "
                    "roles.allow / --allow if it truly is a predictor", text)
    return copies
