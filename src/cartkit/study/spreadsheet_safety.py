"""Spreadsheet formula neutralisation for every CSV (and any XLSX) cartkit writes.

A spreadsheet opens a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some
also after a leading tab or carriage return), so text from the records -- a patient id
``=HYPERLINK("http://x","y")``, a subtype ``=1+1`` -- would run when a table is opened in Excel
or LibreOffice. The OWASP rule (CSV Injection, https://owasp.org/www-community/attacks/CSV_Injection)
is applied: such a text cell is written with a leading single quote, ``'=1+1``, which every
spreadsheet shows as text. Column headers get the same treatment.

What is left alone, and why:

* numeric, boolean and date columns: a number such as -3.2 is written as a number;
* a text cell that is exactly a plain decimal number (``-3.2``, ``+1``, ``-1e-5``): a spreadsheet
  reads it as that number, which cannot call anything, and prefixing it would turn numbers the
  records spell as text into text (a stricter reading of OWASP prefixes these as well; cartkit
  does not, so that such cells stay numbers when the table is opened).

This module sits in ``cartkit.study`` so that every stage that writes a table may use it;
``cartkit.report.write`` applies it to every ``tables/*.csv``. ``results.json`` keeps the values
as they are (JSON is not a spreadsheet). See docs/output.md.

    >>> neutral_text('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutral_text("-3.2"), neutral_text("-3.2 (-4.1 to -2.0)")
    ('-3.2', "'-3.2 (-4.1 to -2.0)")
"""

from __future__ import annotations

import re

import polars as pl

# the characters OWASP lists as starting a formula: = + - @ tab (0x09) carriage return (0x0D)
FORMULA_START = r"^[=+\-@\t\r]"
# a plain decimal number, which a spreadsheet reads as a number and never as a formula
PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
PREFIX = "'"

_START = re.compile(FORMULA_START)
_NUMBER = re.compile(PLAIN_NUMBER)


def neutral_text(value: str) -> str:
    """One text cell (or header) made safe to open in a spreadsheet: the frame rule, for one value."""
    if _START.match(value) and not _NUMBER.match(value):
        return PREFIX + value
    return value


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every text cell and header that a spreadsheet would run as a formula prefixed
    with ``'``, over whole columns; other columns are returned as they are."""
    text = [c for c, t in df.schema.items() if t == pl.String or isinstance(t, (pl.Categorical, pl.Enum))]
    # the columns with a cell starting like a formula, found in one pass; only those are rewritten
    starts = df.select(pl.col(c).cast(pl.String).str.contains(FORMULA_START).any() for c in text).row(0) \
        if text else ()
    exprs = []
    for name, start in zip(text, starts, strict=True):
        col = pl.col(name).cast(pl.String)
        if start:
            risky = col.str.contains(FORMULA_START) & ~col.str.contains(PLAIN_NUMBER)
            exprs.append(pl.when(risky).then(PREFIX + col).otherwise(col).alias(name))
        elif df.schema[name] != pl.String:
            exprs.append(col)  # a categorical column is written as its text, as the rewritten ones
    if exprs:
        df = df.with_columns(exprs)
    headers = {c: neutral_text(c) for c in df.columns if neutral_text(c) != c}
    return df.rename(headers) if headers else df
