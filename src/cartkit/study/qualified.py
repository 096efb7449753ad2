"""Qualified laboratory and qPCR results: ``<0.5``, ``>= 5000``, ``BLQ``, ``not detected``.

Centres' exports write a result outside the assay's range as text: CAR transgene copies below the
qPCR's limit (``<10``, ``BLQ``, ``ND``, ``neg``), a ferritin above the analyser's range (``>100000``), an
ANC ``<0.1``. Each is read at load (before the value column is cast to numbers) into

* ``qualifier``: ``<``, ``<=``, ``>``, ``>=``, or ``ND`` (below a limit the cell does not state);
* the limit: ``lloq`` for the below forms (with ``blq = true``), ``uloq`` for the above forms, in the
  row's unit and converted with it (cartkit.study.units);
* ``value`` empty: a qualified result is not a number, so that no stage that compares numbers takes
  the limit for the value (grading asks ``qualifier`` and the limits: cartkit.grading.censored);
* ``value_text``: the cell as written (or the file's own ``value_text``, as an SDTM import writes
  ``--ORRES``), for listings and the SDTM ``--ORRES`` (docs/sdtm.md).

A ``ND`` row without an ``lloq`` of its own takes the analyte's ``[plan.lloq]`` (docs/plan.md) after the
unit conversion. Spellings (case and spaces ignored): ``<x``, ``<=x``, ``=<x``, ``≤x``, ``>x``, ``>=x``,
``=>x``, ``≥x`` (a decimal comma in a semicolon-separated CSV), and the words in ``BELOW_WORDS``. This is
the SDTMIG convention (CDISC SDTMIG v3.4, section 6.3.5, LB: ``LBORRES``/``LBSTRESC`` carry the result as
collected, "<0.5", and ``LBSTRESN`` is null when the result is not a plain number; pharmaversesdtm's LB
has BILI "<0.2" mg/dL with LBSTRESC "<3.42" and no LBSTRESN). Other text stays "not a number", a located
error of the value column.
"""

from __future__ import annotations

import polars as pl

from cartkit.study.coerce import BOOL_WORDS, problems_at
from cartkit.study.problems import Problem
from cartkit.study.readers import ROW, RawTable

QUALIFIERS = ("<", "<=", ">", ">=", "ND")
BELOW = ("<", "<=", "ND")
ABOVE = (">", ">=")
# below the limit of detection or quantification, the limit not stated in the cell
BELOW_WORDS = ("blq", "bql", "<blq", "<lloq", "< lloq", "below lloq", "<lod", "< lod", "below lod", "nd",
               "not detected", "undetected", "undetectable", "neg", "negative")
SIGNS = {"<": "<", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", ">=": ">=", "=>": ">=", "≥": ">="}
NUMBER_PATTERN = r"(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
_NUM_COMMA = r"(\d+(?:[.,]\d*)?(?:[eE][+-]?\d+)?|[.,]\d+(?:[eE][+-]?\d+)?)"
SIGN_PATTERN = r"(<=|>=|=<|=>|≤|≥|<|>)"
# letters other than e/E (an exponent), or a sign: the cells that may be qualified (one pass decides)
_MAYBE = r"[<>≤≥]|[A-DF-Za-df-z]"


def _blank(s: pl.Series) -> pl.Series:
    return s.str.strip_chars().fill_null("") == ""


def read_qualified_values(raw: RawTable) -> tuple[list[Problem], list[str]]:
    """Read each qualified ``value`` of a measurements table (in place): see the module docstring.

    A row that says the opposite elsewhere is an error: a below form with ``blq`` false, an above
    form with ``blq`` true, a limit different from the row's ``lloq`` / ``uloq``. A row flagged
    ``blq`` with no value is a below form too: qualifier ``<`` with its ``lloq`` (``ND`` without one),
    ``value_text`` "<lloq" (or "BLQ"), so that every below-limit result reads the same way.

    Only the rows that may be qualified are read as text (a qualifier given, or a text value with a
    sign or a letter): a registry's millions of plain numbers are not turned into strings and back
    (issue 16: at 100,000 patients that cost 6.7 s of a 14 s load)."""
    if "value" not in raw.frame.columns:
        return [], []
    f = raw.frame
    rows = _candidates(f)
    if rows.is_empty():
        if "qualifier" in f.columns:  # rebuilt from the values: none is qualified
            raw.frame = f.drop("qualifier")
        problems, notes = [], []
    else:
        part = RawTable(raw.table, raw.file, f.select(
            c for c in (ROW, "value", "qualifier", "blq", "lloq", "uloq", "value_text") if c in f.columns
        )[rows].with_columns(pl.col("value").cast(pl.String)), raw.decimal_comma)
        problems, notes = _read_text(part)
        raw.frame = _put_back(f, rows, part.frame)
    _flagged_below(raw)
    return problems, notes


def _candidates(f: pl.DataFrame) -> pl.Series:
    """The rows whose value may be qualified: a qualifier given, or a text value with a sign or a letter."""
    maybe = pl.repeat(False, len(f), dtype=pl.Boolean, eager=True)
    if "qualifier" in f.columns and f["qualifier"].null_count() < len(f):
        maybe = ~_blank(f["qualifier"].cast(pl.String))
    if f["value"].dtype == pl.String:
        maybe = maybe | f["value"].str.contains(_MAYBE).fill_null(False)
    return maybe.arg_true()


def _put_back(f: pl.DataFrame, rows: pl.Series, part: pl.DataFrame) -> pl.DataFrame:
    """``f`` with the read rows ``part`` scattered back at ``rows``. A column keeps its type where every
    value read fits it (a numeric value column stays numeric); otherwise it becomes text, as it would
    have been read, so that a value that is still not a number is the value column's located error."""
    n = len(f)

    def put(name: str, empty_elsewhere: bool = False) -> pl.Series:
        new = part[name]
        if name not in f.columns or empty_elsewhere:
            return pl.repeat(None, n, dtype=pl.String, eager=True).alias(name).scatter(rows, new)
        full = f[name]
        if full.dtype != pl.String:
            if full.dtype in (pl.Float64, pl.Int64, pl.Boolean):
                text = new.str.strip_chars()
                typed = (text.str.to_lowercase().replace_strict(BOOL_WORDS, default=None, return_dtype=pl.Boolean)
                         if full.dtype == pl.Boolean else text.cast(full.dtype, strict=False))
                if typed.null_count() == new.null_count():
                    return full.scatter(rows, typed)
            full = full.cast(pl.String)
        return full.scatter(rows, new)

    if "qualifier" not in part.columns:  # nothing qualified: the values only (a file's own qualifier joined)
        return f.drop("qualifier", strict=False).with_columns(put("value"))
    # as a whole-column read writes them: qualifier and value_text only on the qualified rows
    return f.with_columns(put("value"), put("blq"), put("lloq"), put("uloq"), put("qualifier", True),
                          put("value_text", True))


def _flagged_below(raw: RawTable) -> None:
    """Rows flagged blq with no value: qualifier < (lloq given) or ND, value_text <lloq or BLQ. Decided on
    the blq column's few distinct spellings, then on the flagged rows only (a registry has millions)."""
    f = raw.frame
    if "blq" not in f.columns:
        return
    blq = f["blq"]
    spellings = blq.drop_nulls().unique()
    true = spellings.filter(spellings.cast(pl.String).str.strip_chars().str.to_lowercase().replace_strict(
        BOOL_WORDS, default=None, return_dtype=pl.Boolean).fill_null(False))
    if true.is_empty():
        return
    rows = (blq if blq.dtype == pl.Boolean else blq.is_in(true.implode())).fill_null(False).arg_true()
    if rows.is_empty():
        return
    n = len(f)

    def at(name: str) -> pl.Series:
        return (f[name].gather(rows).cast(pl.String) if name in f.columns
                else pl.repeat(None, len(rows), dtype=pl.String, eager=True))

    value, qualifier, lloq, text = at("value"), at("qualifier"), at("lloq").str.strip_chars(), at("value_text")
    flagged = _blank(value) & qualifier.is_null()
    if not flagged.any():
        return
    rows, lloq, text = rows.filter(flagged), lloq.filter(flagged), text.filter(flagged)
    known = ~_blank(lloq)
    q = pl.Series(["ND"] * len(rows), dtype=pl.String).set(known, "<")
    canonical = pl.select(pl.when(pl.lit(known)).then(pl.concat_str([pl.lit("<"), pl.lit(lloq)]))
                          .otherwise(pl.lit("BLQ"))).to_series()

    def full(name: str) -> pl.Series:
        return f[name].cast(pl.String) if name in f.columns else pl.repeat(None, n, dtype=pl.String, eager=True)

    raw.frame = f.with_columns(qualifier=full("qualifier").scatter(rows, q),
                               value_text=full("value_text").scatter(rows, text.fill_null(canonical)))


def _read_text(raw: RawTable) -> tuple[list[Problem], list[str]]:
    f = raw.frame
    own: list[Problem] = []
    if "qualifier" in f.columns:  # the file's own qualifier column: "<" beside a value 0.5 is "<0.5"
        f, own = _own_qualifier(raw)
    if not f["value"].str.contains(_MAYBE).any():  # the common case: one fast pass
        raw.frame = f
        return own, []
    text = f["value"].str.strip_chars()
    parts = text.str.extract_groups(rf"^{SIGN_PATTERN}\s*{_NUM_COMMA if raw.decimal_comma else NUMBER_PATTERN}$")
    sign = parts.struct.field("1").replace_strict(SIGNS, default=None, return_dtype=pl.String)
    limit_text = parts.struct.field("2")
    word = text.str.to_lowercase().str.replace_all(r"\s+", " ").is_in(list(BELOW_WORDS)).fill_null(False)
    qualifier = sign.set(word, "ND")
    if qualifier.null_count() == len(qualifier):
        raw.frame = f
        return own, []
    n = len(f)

    def column(name: str) -> pl.Series:
        return f[name].cast(pl.String) if name in f.columns else pl.repeat(None, n, dtype=pl.String, eager=True)

    def number(s: pl.Series) -> pl.Series:
        t = s.str.strip_chars()
        return (t.str.replace(",", ".", literal=True) if raw.decimal_comma else t).cast(pl.Float64, strict=False)

    below = qualifier.is_in(BELOW).fill_null(False)
    above = qualifier.is_in(ABOVE).fill_null(False)
    blq, lloq, uloq = column("blq"), column("lloq"), column("uloq")
    said = blq.str.strip_chars().str.to_lowercase().replace_strict(BOOL_WORDS, default=None, return_dtype=pl.Boolean)
    shown = pl.Series("__v", text)
    frame = f.with_columns(__v=shown, __blq=blq, __lloq=lloq, __uloq=uloq)
    limit = number(limit_text)
    problems = own + problems_at(
        frame, below & (said == False).fill_null(False), raw.file, "blq", "__blq",  # noqa: E712
        pl.format("the value {} is below the limit of quantification, but blq is not true", "__v"),
        kind="value '<x' but blq is not true")
    problems += problems_at(
        frame, below & limit.is_not_null() & ~_blank(lloq) & (number(lloq) != limit).fill_null(True), raw.file,
        "lloq", "__lloq", pl.format("the value {} gives the limit of quantification, but lloq differs", "__v"),
        kind="value '<x' but a different lloq")
    problems += problems_at(
        frame, above & said.fill_null(False), raw.file, "blq", "__blq",
        pl.format("the value {} is above the limit of quantification, but blq is true", "__v"),
        kind="value '>x' but blq is true")
    problems += problems_at(
        frame, above & ~_blank(uloq) & (number(uloq) != limit).fill_null(True), raw.file, "uloq", "__uloq",
        pl.format("the value {} gives the upper limit of quantification, but uloq differs", "__v"),
        kind="value '>x' but a different uloq")
    qualified = below | above
    raw.frame = f.with_columns(
        value=f["value"].set(qualified, None),
        blq=blq.set(below & _blank(blq), "true"),
        lloq=lloq.zip_with(~(below & _blank(lloq) & limit.is_not_null()), limit_text),
        uloq=uloq.zip_with(~(above & _blank(uloq)), limit_text),
        qualifier=qualifier,
        value_text=(column("value_text").str.strip_chars().replace("", None).fill_null(text)
                    if "value_text" in f.columns else text).set(~qualified, None),
    )
    counts = {q: int((qualifier == q).sum()) for q in QUALIFIERS}
    notes = []
    if counts["<"]:
        notes.append(f"{raw.file}: {counts['<']:,} value(s) written '<x' read as below the limit of "
                     f"quantification (blq = true, lloq = x)")
    if counts["<="]:
        notes.append(f"{raw.file}: {counts['<=']:,} value(s) written '<=x' read as at or below the limit x "
                     f"(blq = true, lloq = x)")
    if counts["ND"]:
        notes.append(f"{raw.file}: {counts['ND']:,} value(s) written as not detected or below the limit "
                     f"(BLQ, ND, negative, ...) read as blq = true, the limit from the row's lloq or [plan.lloq]")
    if counts[">"] + counts[">="]:
        notes.append(f"{raw.file}: {counts['>'] + counts['>=']:,} value(s) written '>x' or '>=x' read as above "
                     f"the upper limit of quantification (uloq = x), not as the number x")
    return problems, notes


def _own_qualifier(raw: RawTable) -> tuple[pl.DataFrame, list[Problem]]:
    """A file's ``qualifier`` column joined to its value ("<" and "0.5" read as "<0.5"; "ND" alone as ND);
    a qualifier cartkit does not know is an error at its cell. The column is then dropped (it is rebuilt)."""
    f = raw.frame
    q = f["qualifier"].cast(pl.String).str.strip_chars()
    given = q.fill_null("") != ""
    sign = q.is_in(list(SIGNS)).fill_null(False)
    word = q.str.to_lowercase().is_in(list(BELOW_WORDS)).fill_null(False)
    exact = (q == "=").fill_null(False)
    problems = problems_at(
        f.with_columns(__q=q), given & ~sign & ~word & ~exact, raw.file, "qualifier", "__q",
        "unknown qualifier: expected <, <=, >, >=, = or a below-limit word (BLQ, ND, not detected, negative)")
    value = f["value"].str.strip_chars().replace("", None)
    # a sign and no number: the limit is the row's lloq (below) or uloq (above), as an SDTM import writes it
    bound = pl.repeat(None, len(f), dtype=pl.String, eager=True)
    for name, signs in (("lloq", ("<", "<=", "=<", "≤")), ("uloq", (">", ">=", "=>", "≥"))):
        if name in f.columns:
            bound = bound.zip_with(~q.is_in(list(signs)).fill_null(False), f[name].cast(pl.String).str.strip_chars())
    joined = pl.select(pl.when(pl.lit(sign)).then(pl.concat_str([pl.lit(q), pl.coalesce(pl.lit(value), pl.lit(bound))
                                                                  .fill_null("")]))
                       .when(pl.lit(word)).then(pl.lit(q)).otherwise(pl.lit(value))).to_series()
    return f.with_columns(value=joined).drop("qualifier"), problems


def plan_lloq(frame: pl.DataFrame, lloq: dict[str, float]) -> tuple[pl.DataFrame, int]:
    """Give a below-limit row without an ``lloq`` its analyte's ``[plan.lloq]`` (canonical units: call after
    the unit conversion); returns the frame and how many rows took it."""
    if not lloq or "qualifier" not in frame.columns:
        return frame, 0
    limit = pl.col("analyte").replace_strict(lloq, default=None, return_dtype=pl.Float64)
    take = pl.col("blq").fill_null(False) & pl.col("lloq").is_null() & limit.is_not_null()
    n = int(frame.select(take.sum()).item())
    return (frame.with_columns(lloq=pl.when(take).then(limit).otherwise(pl.col("lloq"))) if n else frame), n
