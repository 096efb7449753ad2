"""The report: tables, figures and one self-contained HTML page from a ``Results``.

    >>> import tempfile, pathlib
    >>> from cartkit.analysis import Results
    >>> from cartkit.report import write_report
    >>> out = write_report(Results(), pathlib.Path(tempfile.mkdtemp()) / "out")   # analyse(...)'s Results
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['figures', 'index.html', 'results.json', 'tables']
    >>> import shutil; shutil.rmtree(out.parent)

Modules: ``style`` (the one figure style), ``figures/`` (one module per figure family),
``tables`` (journal-style tables), ``html`` (the page; ``templates/report.css``), ``write`` (the folder).
matplotlib is imported only for PNGs; the page is written by ``html`` itself (no template engine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from cartkit.report.write import write_report

        return write_report
    raise AttributeError(f"module 'cartkit.report' has no attribute {name!r}")
