"""Give a table read from a file the schema's types, canonical vocabulary and value ranges.

Everything is done over whole columns: a column is cast with ``strict=False``
and the cells that were given but came out null are the ones that failed,
each reported as a ``Problem`` at the row the user sees.

Accepted cell spellings:

* missing: an empty cell, ``NA``, ``N/A``, ``NaN``, ``null``, ``#N/A`` (any case);
* integers and numbers: ``12``, ``12.0``, ``1.2e3``; a decimal comma only in a
  semicolon-separated CSV (European Excel); an integer column takes ``12.0``
  but not ``12.5``;
* booleans: true/false, yes/no, 1/0, y/n (any case);
* dates: ISO ``YYYY-MM-DD`` (a trailing time of day is ignored) and real date
  cells of Excel and Parquet. ``31/08/2020`` is refused rather than guessed:
  it is ambiguous with ``08/31/2020``. A date outside the plausible window
  (``EARLIEST_PLAUSIBLE_DATE`` to the day of validation) is refused where it is
  written, as if unreadable: Excel's day zero (1900-01-01) and placeholders such
  as 2999-12-31 are not dates of a CAR-T record, and taking them as real would
  put every row counted from them out of range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from cartkit.study.problems import ERROR, Problem
from cartkit.study.readers import ROW, RawTable
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, STR, Column, Table
from cartkit.study.vocabulary import UNIT_SPELLINGS, VOCABULARIES

MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "#n/a")


def _case_variants(word: str) -> set[str]:
    variants = {""}
    for ch in word:
        variants = {v + c for v in variants for c in {ch.lower(), ch.upper()}}
    return variants


# every upper/lower-case spelling, so that a column is matched without lower-casing it
_MISSING_SPELLINGS = sorted(set().union(*(_case_variants(t) for t in MISSING_TOKENS)))
# Column.spellings: lists of spellings that cleaning leaves as they are (trimmed, not a missing token)
KNOWN_SPELLINGS: dict[str, list[str]] = {"units": sorted(set(UNIT_SPELLINGS.values()))}
BOOL_WORDS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.0": False,
    "t": True,
    "f": False,
}
ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
POLARS_TYPES = {STR: pl.String, INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, DATE: pl.Date}
_MAX_EXACT_INT = 2.0**53
# No record of a CAR-T study predates 1990: chimeric antigen receptors were first described in 1989
# (Gross G, Waks T, Eshhar Z. PNAS 1989;86:10024-8) and first given to patients in the 1990s. The
# latest plausible date is the day of validation: a record cannot come from the future.
EARLIEST_PLAUSIBLE_DATE = dt.date(1990, 1, 1)

_RULES = {
    INT: "not a whole number",
    FLOAT: "not a number",
    BOOL: "not a yes/no value: expected true/false, yes/no, 1/0 or y/n",
    DATE: "unparseable date, expected YYYY-MM-DD",
    STR: "not text",
}


@dataclass
class TypedTable:
    """A table with schema types; ``failed`` marks, per column, the cells that could not be read."""

    table: Table
    file: str
    frame: pl.DataFrame
    failed: dict[str, pl.Series] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # schema columns the file had
    date_given: pl.Series | None = None  # rows whose date the file gave (not derived from day)
    # per-row lookups of the table's patient and episode (cartkit.study.episodes), computed once; valid
    # while the rows and the patient_id and episode columns stay as they are
    lookups: dict[str, object] = field(default_factory=dict)
    # the distinct values of text columns that cleaning left as they were (found while cleaning; still
    # every value after rows are dropped); a step that rewrites such a column drops its entry
    distinct: dict[str, pl.Series] = field(default_factory=dict)
    # text columns whose every value is one of an Enum's (the patients' ids, a vocabulary's canonical
    # spellings): the column cast to it, whose codes the lookups, the unit conversion and the
    # duplicate keys use instead of hashing the text again; filtered with the rows
    enums: dict[str, pl.Series] = field(default_factory=dict)

    def keep_rows(self, keep: pl.Series) -> None:
        """Keep only the rows where ``keep`` holds (the frame, the ``failed`` masks and the Enum casts alike)."""
        self.lookups.clear()
        self.frame = self.frame.filter(keep)
        self.failed = {name: mask.filter(keep) for name, mask in self.failed.items()}
        self.enums = {name: codes.filter(keep) for name, codes in self.enums.items()}
        if self.date_given is not None:
            self.date_given = self.date_given.filter(keep)


def problems_at(frame: pl.DataFrame, mask: pl.Series | pl.Expr, file: str, column: str | None,
                value: pl.Expr | str, rule: pl.Expr | str, kind: str | None = None,
                severity: str = ERROR) -> list[Problem]:
    """One Problem per row of ``frame`` where ``mask`` holds (rule and value may vary by row).

    ``kind`` names a rule whose text varies by row, so that its problems are grouped together."""
    value_expr = pl.col(value) if isinstance(value, str) else value
    rule_expr = pl.lit(rule) if isinstance(rule, str) else rule
    bad = frame.lazy().filter(mask).select(
        pl.col(ROW), value_expr.alias("v"), rule_expr.fill_null("invalid value").alias("r")
    ).collect()
    return [Problem(file, row, column, v, r, severity, kind) for row, v, r in bad.iter_rows()]


def display(s: pl.Series) -> pl.Series:
    """A column as the user wrote it, for problem messages."""
    if s.dtype == pl.String:
        return s.str.strip_chars()
    return s.cast(pl.String, strict=False)


# a text column with at most this share of distinct values is cleaned by its distinct values: a
# registry's patient ids, analytes and units repeat over millions of rows
_FEW_DISTINCT = 0.25


def _clean_text(s: pl.Series, keep: dict | None = None) -> pl.Series:
    """Trimmed text, the missing spellings null. When the column is already clean (the usual case)
    it is returned as it is, without a copy; that is decided on its distinct values, which are then
    left in ``keep["distinct"]`` (when given) for the vocabulary check."""
    if s.null_count() == len(s):  # an optional column the file leaves empty
        return s
    if len(s) > 1000:
        # a mostly empty column (a registry's qualifier, value_text) is hashed on its given cells only
        distinct = (s.drop_nulls() if 2 * s.null_count() > len(s) else s).unique()
        if len(distinct) <= _FEW_DISTINCT * len(s):
            trimmed = distinct.str.strip_chars()
            missing = trimmed.is_in(_MISSING_SPELLINGS).fill_null(False)
            if not missing.any() and (trimmed == distinct).fill_null(True).all():
                if keep is not None:
                    keep["distinct"] = distinct.drop_nulls()
                return s
            cleaned = trimmed.set(missing, None) if missing.any() else trimmed
            return s.replace_strict(distinct.drop_nulls(), cleaned.filter(distinct.is_not_null()), default=None,
                                    return_dtype=pl.String).alias(s.name)
    trimmed = pl.col(s.name).str.strip_chars()
    return s.to_frame().select(
        pl.when(trimmed.is_in(_MISSING_SPELLINGS).fill_null(False)).then(None).otherwise(trimmed).alias(s.name)
    ).to_series()


def _numbers(s: pl.Series, decimal_comma: bool) -> tuple[pl.Series, pl.Series]:
    """(float values, given mask) of a column of any type."""
    if s.dtype == pl.String:
        t = _clean_text(s)
        given = t.is_not_null()
        if decimal_comma:
            t = t.str.replace(",", ".", literal=True)
        return t.cast(pl.Float64, strict=False), given
    if s.dtype.is_numeric():
        f = s.cast(pl.Float64, strict=False)
        if s.dtype.is_integer():
            return f, f.is_not_null()
        return f, f.is_not_null() & ~f.is_nan()  # NaN is how pandas writes a missing number
    if s.dtype == pl.Boolean:
        return s.cast(pl.Float64), s.is_not_null()
    return pl.repeat(None, len(s), dtype=pl.Float64, eager=True).alias(s.name), s.is_not_null()


def cast_column(s: pl.Series, dtype: str, decimal_comma: bool = False,
                keep: dict | None = None) -> tuple[pl.Series, pl.Series]:
    """(typed column, given mask): a cell failed where it was given but the typed value is null.

    ``keep``, when given, may receive the column's distinct values (``keep["distinct"]``)."""
    name = s.name
    if dtype == STR:
        if s.dtype == pl.String:
            t = _clean_text(s, keep)
        elif s.dtype.is_float():
            f = s.cast(pl.Float64)
            whole = f.is_finite() & (f.round(0) == f) & (f.abs() < _MAX_EXACT_INT)
            t = pl.select(
                pl.when(whole).then(f.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(f.cast(pl.String))
            ).to_series()
            t = t.set(f.is_nan().fill_null(False), None)
        else:
            t = s.cast(pl.String, strict=False)
        return t.alias(name), t.is_not_null()
    if dtype == INT and s.dtype.is_integer():  # a typed integer column (Parquet): no round trip via floats
        out = s.cast(pl.Int64, strict=False)
        given = s.is_not_null()
        if (out.min() or 0) <= -_MAX_EXACT_INT or (out.max() or 0) >= _MAX_EXACT_INT or out.null_count() > s.null_count():
            inexact = given & (out.abs() >= _MAX_EXACT_INT).fill_null(True)  # as the float path: |x| < 2**53
            out = out.set(inexact, None)
        return out.alias(name), given
    if dtype in (INT, FLOAT):
        f, given = _numbers(s, decimal_comma)
        x = pl.col(f.name)
        ok = x.is_finite().fill_null(False)
        if dtype == INT:
            ok = ok & (x.round(0) == x).fill_null(False) & (x.abs() < _MAX_EXACT_INT).fill_null(False)
            out = f.to_frame().select(pl.when(ok).then(x).cast(pl.Int64, strict=False)).to_series()
        elif f.to_frame().select((ok | x.is_null()).all()).item():
            out = f
        else:  # NaN and infinities -> null
            out = f.to_frame().select(pl.when(ok).then(x)).to_series()
        return out.alias(name), given
    if dtype == BOOL:
        if s.dtype == pl.Boolean:
            return s, s.is_not_null()
        t = _clean_text(s) if s.dtype == pl.String else s.cast(pl.String, strict=False)
        out = t.str.to_lowercase().replace_strict(BOOL_WORDS, default=None, return_dtype=pl.Boolean)
        return out.alias(name), t.is_not_null()
    if dtype == DATE:
        if s.dtype == pl.Date:
            return s, s.is_not_null()
        if isinstance(s.dtype, pl.Datetime):
            return s.dt.date().alias(name), s.is_not_null()
        t = _clean_text(s) if s.dtype == pl.String else s.cast(pl.String, strict=False)
        iso = t.str.contains(ISO_DATE).fill_null(False)
        out = t.set(~iso, None).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return out.alias(name), t.is_not_null()
    raise ValueError(f"unknown column type {dtype!r}")  # pragma: no cover - schema error


def vocabulary_mapping(name: str, extra_ae_terms: tuple[str, ...] = ()) -> dict[str, str]:
    """Lower-case spelling -> canonical value for a vocabulary (AE terms plus the plan's extra terms)."""
    mapping = {k.strip().lower(): v for k, v in VOCABULARIES[name].items()}
    mapping.update({v.strip().lower(): v for v in VOCABULARIES[name].values()})
    if name == "ae_term":
        mapping.update({t.strip().lower(): t.strip() for t in extra_ae_terms})
    return mapping


def kept_spellings(name: str, extra_ae_terms: tuple[str, ...] = ()) -> list[str]:
    """The values of a vocabulary that cleaning and the vocabulary check leave as they are: canonical,
    trimmed, and not a missing-value spelling."""
    mapping = vocabulary_mapping(name, extra_ae_terms)
    return sorted({v for v in mapping.values()
                   if v == v.strip() and mapping.get(v.lower()) == v and v.lower() not in MISSING_TOKENS})


def _fmt(x: float) -> str:
    return f"{x:g}"


def range_rule(lo: float | None, hi: float | None, what: str = "impossible value") -> str:
    if lo is not None and hi is not None:
        return f"{what}: must be between {_fmt(lo)} and {_fmt(hi)}"
    if lo is not None:
        return f"{what}: must be at least {_fmt(lo)}"
    return f"{what}: must be at most {_fmt(hi)}"


def out_of_range(s: pl.Series, lo: float | None, hi: float | None) -> pl.Series:
    """True where a value lies outside [lo, hi] (nulls are not out of range)."""
    conditions = []
    if lo is not None:
        conditions.append(pl.col("s") < lo)
    if hi is not None:
        conditions.append(pl.col("s") > hi)
    if not conditions:
        return pl.repeat(False, len(s), dtype=pl.Boolean, eager=True)
    bad = pl.any_horizontal(conditions).fill_null(False)
    return s.alias("s").to_frame().select(bad.alias(s.name)).to_series()


def _missing_columns(raw: RawTable, table: Table) -> list[Problem]:
    present = set(raw.frame.columns)
    problems = []
    for col in table.columns:
        if col.required and col.name not in present:
            problems.append(Problem(raw.file, None, col.name, None, "missing required column"))
    if table.day_or_date and "day" not in present and "date" not in present:
        problems.append(Problem(raw.file, None, "day", None, "missing column: give a 'day' or a 'date' column"))
    if table.name == "events" and "date" not in present and not {"episode", "day"} <= present:
        problems.append(
            Problem(raw.file, None, "date", None, "missing column: give 'date', or 'episode' and 'day'")
        )
    if table.one_of and not present & set(table.one_of):
        problems.append(
            Problem(raw.file, None, table.one_of[0], None, f"missing column: give one of {', '.join(table.one_of)}")
        )
    return problems


def implausible_date_rule(today: dt.date) -> str:
    return (f"implausible date: a CAR-T study record is dated between {EARLIEST_PLAUSIBLE_DATE.isoformat()} "
            f"and today ({today.isoformat()})")


def coerce_table(
    raw: RawTable, table: Table, extra_ae_terms: tuple[str, ...] = (), today: dt.date | None = None,
    patients: pl.Enum | pl.DataTypeExpr | None = None,
) -> tuple[TypedTable, list[Problem], list[str]]:
    """Cast every schema column, map vocabularies, check required cells, ranges and date plausibility
    (``today`` is the latest plausible date; the day of the call when None).

    A text column is first cast to the Enum of the values the checks would leave as they are: for a
    vocabulary column its canonical spellings, for the ``patient_id`` of a table after patients the
    patients' ids (``patients``, ``episodes.patient_enum``), which were cleaned themselves. When every
    value is one of them the column is kept as it is, with nothing to report, and the cast is kept in
    ``TypedTable.enums``: tens of millions of a registry's ids and analytes are hashed once."""
    problems = _missing_columns(raw, table)
    notes: list[str] = []
    frame = raw.frame
    present = {c.name for c in table.columns if c.name in frame.columns}
    extras = [c for c in frame.columns if c != ROW and c not in present]
    if extras:
        notes.append(f"{raw.file}: extra column(s) kept as given: {', '.join(extras)}")
    typed: list[pl.Series] = [frame[ROW]]
    failed: dict[str, pl.Series] = {}
    distinct: dict[str, pl.Series] = {}
    enums: dict[str, pl.Series] = {}
    casts = _enum_casts(frame, table, present, extra_ae_terms, patients)
    for col in table.columns:
        if col.name not in present:
            typed.append(pl.repeat(None, frame.height, dtype=POLARS_TYPES[col.dtype], eager=True).alias(col.name))
            continue
        source = frame[col.name]
        keep: dict = {}
        if col.name in casts:
            cast = casts[col.name]
            if cast.null_count() == source.null_count():  # every value is one the checks keep
                enums[col.name] = cast
                failed[col.name] = pl.repeat(False, len(source), dtype=pl.Boolean, eager=True)
                typed.append(source)
                if col.required and cast.null_count():
                    problems += _report(frame, source.is_null(), raw.file, col.name, None, "required value is empty")
                continue
        values, given = cast_column(source, col.dtype, raw.decimal_comma, keep)
        bad = given & values.is_null()
        if bad.any():
            problems += _report(frame, bad, raw.file, col.name, display(source), _RULES[col.dtype])
        if col.vocabulary is not None:
            as_given = values
            values, unknown = _canonical(values, col, extra_ae_terms, keep.get("distinct"))
            coded = _coded_rows(frame, col)
            if coded is not None and (unknown & coded).any():  # a coded row keeps its own term as given
                values = values.zip_with(~(unknown & coded), as_given)
                unknown = unknown & ~coded
            if unknown.any():
                problems += _report(frame, unknown, raw.file, col.name, display(source), _vocab_rule(col, extra_ae_terms))
            bad = bad | unknown
        if col.dtype == DATE:
            latest = today or dt.date.today()
            implausible = ((values < EARLIEST_PLAUSIBLE_DATE) | (values > latest)).fill_null(False)
            if implausible.any():
                problems += _report(frame, implausible, raw.file, col.name, display(source),
                                    implausible_date_rule(latest))
                values = values.set(implausible, None)  # as if unreadable: nothing is counted from it
                bad = bad | implausible
        if col.dtype in (INT, FLOAT) and (col.min is not None or col.max is not None):
            outside = out_of_range(values, col.min, col.max)
            if outside.any():
                problems += _report(frame, outside, raw.file, col.name, display(source), range_rule(col.min, col.max))
        if col.required:
            empty = ~given
            if empty.any():
                problems += _report(frame, empty, raw.file, col.name, None, "required value is empty")
        failed[col.name] = bad
        typed.append(values)
        if "distinct" in keep and col.vocabulary is None:
            distinct[col.name] = keep["distinct"]
    if table.one_of:
        none = ~pl.DataFrame(typed).select(pl.any_horizontal(pl.col(table.one_of).is_not_null())).to_series()
        if none.any():
            problems += _report(
                frame, none, raw.file, table.one_of[0], None, f"give at least one of {', '.join(table.one_of)}"
            )
    out = pl.DataFrame(typed).hstack([frame[c] for c in extras])
    return TypedTable(table, raw.file, out, failed, present, distinct=distinct, enums=enums), problems, notes


def _enum_casts(frame: pl.DataFrame, table: Table, present: set[str], extra_ae_terms: tuple[str, ...],
                patients: pl.Enum | pl.DataTypeExpr | None) -> dict[str, pl.Series]:
    """Each text column with known values (a vocabulary's kept spellings, a column's ``spellings``, the
    patients' ids) cast to their Enum, non-strict: all in one select, so that a registry's columns are
    hashed in parallel."""
    wanted = {}
    for col in table.columns:
        if col.name not in present or frame[col.name].dtype != pl.String:
            continue
        if col.vocabulary is not None:
            known = pl.Enum(kept_spellings(col.vocabulary, extra_ae_terms))
        elif col.spellings is not None:
            known = pl.Enum(KNOWN_SPELLINGS[col.spellings])
        else:
            known = patients if col.name == "patient_id" else None
        if known is not None and frame[col.name].null_count() < frame.height:
            wanted[col.name] = known
    if not wanted:
        return {}
    cast = frame.select(pl.col(name).cast(known, strict=False) for name, known in wanted.items())
    return {name: cast[name] for name in wanted}


def _report(frame: pl.DataFrame, mask: pl.Series, file: str, column: str, values: pl.Series | None,
            rule: str) -> list[Problem]:
    rows = frame[ROW].filter(mask).to_list()
    shown = values.filter(mask).to_list() if values is not None else [None] * len(rows)
    return [Problem(file, r, column, v, rule) for r, v in zip(rows, shown, strict=True)]


def _canonical(values: pl.Series, col: Column, extra_ae_terms: tuple[str, ...],
               distinct: pl.Series | None = None) -> tuple[pl.Series, pl.Series]:
    mapping = vocabulary_mapping(col.vocabulary, extra_ae_terms)
    # map the distinct values (few), then the column only when some value is not yet canonical
    if distinct is None:
        distinct = values.drop_nulls().unique()
    canon = distinct.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)
    if canon.is_null().any():
        unknown = values.is_in(distinct.filter(canon.is_null()).implode()).fill_null(False)
    else:
        unknown = pl.repeat(False, len(values), dtype=pl.Boolean, eager=True)
    if (distinct == canon).fill_null(False).all():
        return values.set(unknown, None) if unknown.any() else values, unknown
    out = values.replace_strict(distinct, canon, default=None, return_dtype=pl.String)
    return out.alias(values.name), unknown


def _coded_rows(frame: pl.DataFrame, col: Column) -> pl.Series | None:
    """Rows where one of ``col.open_if`` is given (the row is coded in another dictionary), or None."""
    present = [c for c in col.open_if if c in frame.columns]
    if not present:
        return None
    given = [cast_column(frame[c], STR)[1] for c in present]
    return pl.DataFrame(given).select(pl.any_horizontal(pl.all())).to_series()


def _vocab_rule(col: Column, extra_ae_terms: tuple[str, ...]) -> str:
    """Every allowed value, in full; for adverse-event terms, how to add one."""
    allowed = ", ".join(sorted(set(vocabulary_mapping(col.vocabulary, extra_ae_terms).values())))
    rule = f"unknown {col.vocabulary} value; allowed: {allowed}"
    if col.vocabulary == "ae_term":
        rule += ('. To use another term, add it to the [plan] of study.toml: extra_ae_terms = ["your term"] '
                 "(names are matched ignoring case), or code the row in MedDRA (meddra_pt or meddra_pt_code, "
                 "with meddra_soc or meddra_soc_code): a coded row may carry any term")
    return rule
