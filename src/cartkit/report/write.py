"""Write a report folder from a Results: index.html, tables/*.csv, figures/*.svg (and *.png), results.json.

Everything is written into a temporary sibling folder first and moved into place at the
end, so a failure never leaves a half-written report (and an earlier report at the same
place stays intact until the new one is complete). Which folders may be written and what an
earlier report there becomes is ``cartkit.report.output_folder``'s rule: cartkit replaces only
what it wrote itself (docs/output.md).

    >>> import tempfile, pathlib
    >>> from cartkit.analysis import Results
    >>> from cartkit.report.write import write_report
    >>> out = write_report(Results(), pathlib.Path(tempfile.mkdtemp()) / "out")   # analyse(...)'s Results
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['figures', 'index.html', 'results.json', 'tables']
    >>> import shutil; shutil.rmtree(out.parent)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.html import RenderedFigure, inline_svg, render_html
from cartkit.report.output_folder import MANIFEST, check_output_folder, install, manifest_text
from cartkit.study.spreadsheet_safety import neutralise_formulas


def _products(results: Results, needs: tuple[str, ...]) -> int | None:
    """Number of products in the first needed table that has a product column (None: no such column)."""
    for name in needs:
        df = results.get(name)
        if df is not None and "product" in df.columns:
            return df["product"].n_unique()
    return None


def _draw_one(spec, results: Results, png: bool = False) -> tuple[str, tuple[bytes | None, str] | str]:
    """One figure spec: (id, (PNG bytes or None, SVG text)), or (id, why it does not apply).

    The PNG (200 dpi) is made only when ``png`` is true: it is drawn from the same layout as the
    SVG (for figures of cartkit's own writer, its laid-out marks rasterised by matplotlib), but rasterising costs about as much as the SVG itself, and the report page uses the SVG.
    Drawn in the caller's process: library code starts no worker processes (a spawned pool re-ran
    an unguarded caller's script in every worker and never finished; issue 9 item 5).
    """
    from cartkit.report.figures import NotApplicable

    if spec.engine == "svg":  # cartkit's own writer: no matplotlib unless a PNG is asked for
        try:
            fig = spec.draw(results)
        except NotApplicable as exc:
            return spec.id, str(exc)
        svg = fig.svg(spec.id, spec.title, spec.caption_for(results).strip())
        if not png:
            return spec.id, (None, svg)
        from cartkit.report.svg.png import png_bytes as svg_png

        return spec.id, (svg_png(fig), svg)
    from cartkit.report.style import figure_style, png_bytes, svg_text

    with figure_style():
        try:
            fig = spec.draw(results)
        except NotApplicable as exc:
            return spec.id, str(exc)
        svg = svg_text(fig, spec.id)
        return spec.id, (png_bytes(fig) if png else None, svg)


def draw_figures(results: Results, progress: Callable[[str], None] | None = None, png: bool = False
                 ) -> tuple[dict[str, RenderedFigure | str], dict[str, tuple[bytes | None, str]]]:
    """Draw every figure that applies. Returns (id -> rendered figure or omission reason,
    id -> (PNG bytes, or None unless ``png``, SVG text)), in FIGURES order."""
    from cartkit.report.figures import FIGURES
    from cartkit.report.html import omission

    rendered: dict[str, RenderedFigure | str] = {}
    specs = []
    for spec in FIGURES:
        missing = [n for n in spec.needs if results.get(n) is None or results.get(n).height == 0]
        if missing:
            rendered[spec.id] = omission(results, *missing)
            continue
        n_products = _products(results, spec.needs)
        if n_products is not None and n_products < spec.min_products:
            rendered[spec.id] = omission(results, "comparisons") if "comparisons" in results.omitted \
                else f"needs at least {spec.min_products} products"
            continue
        specs.append(spec)
    drawn = []
    for spec in specs:
        if progress:
            progress(f"figure {spec.id}")
        drawn.append(_draw_one(spec, results, png))
    files: dict[str, tuple[bytes | None, str]] = {}
    specs = {spec.id: spec for spec in FIGURES}
    for fid, out in drawn:
        if isinstance(out, str):
            rendered[fid] = out
            continue
        files[fid] = out
        spec = specs[fid]
        rendered[fid] = RenderedFigure(fid, spec.title, " " + spec.caption_for(results), inline_svg(out[1]))
    return {spec.id: rendered[spec.id] for spec in FIGURES if spec.id in rendered}, files


def _figure_files(fid: str, png: bool) -> tuple[str, ...]:
    """The files of one figure in the report folder: the SVG, and the PNG when it was asked for."""
    return (f"figures/{fid}.png", f"figures/{fid}.svg") if png else (f"figures/{fid}.svg",)


JSON_MAX_ROWS = 50_000  # larger tables (per-measurement rows of a registry) are referenced, not inlined


def _table_json(df: pl.DataFrame | None, name: str) -> str:
    """A table as JSON records, serialised by Polars over whole columns (NaN -> null, dates -> ISO).

    A table longer than ``JSON_MAX_ROWS`` is written as a reference to its CSV, so that a
    100,000-patient study's results.json stays readable by other tools.
    """
    if df is None:
        return "null"
    if df.height > JSON_MAX_ROWS:
        return json.dumps({"rows": df.height, "csv": f"tables/{name}.csv",
                           "note": f"more than {JSON_MAX_ROWS} rows: read the CSV"})
    floats = [c for c, t in df.schema.items() if t.is_float()]
    return (df.with_columns(pl.col(c).fill_nan(None) for c in floats) if floats else df).write_json()


def results_json(results: Results, figures: dict[str, RenderedFigure | str], png: bool = False) -> str:
    """Every table as a list of records (NaN -> null, dates -> ISO text), omissions, software;
    each drawn figure with its files (the PNG only if ``png``: it was written too)."""
    import cartkit

    doc = {
        "generator": f"cartkit {cartkit.__version__}",
        "tables": "@TABLES@",
        "omitted": dict(results.omitted),
        "populations": dict(results.populations),  # table -> the analysis population it is on, with N
        "software": dict(results.software),
        "provenance": results.provenance.to_json() if results.provenance is not None else None,
        "figures": {fid: ({"title": f.title, "caption": f.caption.strip(),
                           "files": list(_figure_files(fid, png))}
                          if isinstance(f, RenderedFigure) else {"omitted": f})
                    for fid, f in figures.items()},
    }
    head = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False)
    tables = "{\n" + ",\n".join(f"  {json.dumps(name)}: {_table_json(df, name)}"
                                 for name, df in results.tables.items()) + "\n }"
    return head.replace('"@TABLES@"', tables, 1)


def _guarded(results: Results, force: bool) -> dict:
    """What the output folder rule protects for these results: their study folder and inputs."""
    prov = results.provenance
    if prov is None:
        return {"force": force}
    return {"study_folder": prov.folder, "inputs": [f.path for f in prov.inputs], "force": force}


def write_report(results: Results, out_dir: str | Path, progress: Callable[[str], None] | None = None,
                 force: bool = False, spss_tables: dict[str, pl.DataFrame] | None = None,
                 png: bool = False) -> Path:
    """Write the report of ``results`` to ``out_dir`` (created if missing) and return its path.

    ``progress``, if given, is called with a short step name before each step.
    An existing ``out_dir`` is replaced only if it is empty or an earlier cartkit report holding
    nothing but the files cartkit wrote; any other folder raises ``OutputFolderError`` (a
    ValueError) before anything is drawn, unless ``force``: then the report is written beside
    what is there, replacing only same-named files. ``out_dir`` may never be, contain or be inside
    the study folder of ``results`` (docs/output.md). ``spss_tables`` (name -> frame) are also
    written as ``spss/<name>.sav`` with variable and value labels (``cartkit.interop.spss``).
    Every figure is written as ``figures/<id>.svg``; ``png`` also writes ``figures/<id>.png``
    (200 dpi), which about doubles the time the figures take (docs/output.md).
    """
    import cartkit

    guard = _guarded(results, force)
    out = check_output_folder(out_dir, **guard).path
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes 0700; the report is an ordinary folder
        figures, files = draw_figures(results, progress, png=png)
        if progress:
            progress("tables")
        (tmp / "tables").mkdir()
        for name, df in results.tables.items():
            if df is not None:
                neutralise_formulas(df).write_csv(tmp / "tables" / f"{name}.csv")  # no formula runs in Excel
        if spss_tables:
            from cartkit.interop.spss import write_episode_tables

            (tmp / "spss").mkdir()
            write_episode_tables(spss_tables, tmp / "spss")
        (tmp / "figures").mkdir()
        for fid, (png_data, svg) in files.items():
            if png_data is not None:
                (tmp / "figures" / f"{fid}.png").write_bytes(png_data)
            (tmp / "figures" / f"{fid}.svg").write_text(
                '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + svg, encoding="utf-8")
        if progress:
            progress("results.json")
        (tmp / "results.json").write_text(results_json(results, figures, png), encoding="utf-8")
        if progress:
            progress("index.html")
        (tmp / "index.html").write_text(render_html(results, figures), encoding="utf-8")
        (tmp / MANIFEST).write_text(manifest_text(tmp, cartkit.__version__), encoding="utf-8")
        install(tmp, out, **guard)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
