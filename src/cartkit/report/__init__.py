"""The report: tables, figures and one self-contained HTML page from a ``Results``.

    >>> from cartkit.report import write_report
    >>> write_report(results, "out")                          # doctest: +SKIP

Modules: ``style`` (the one figure style), ``figures/`` (one module per figure family),
``tables`` (journal-style tables), ``html`` (+ ``templates/``), ``write`` (the folder).
matplotlib and jinja2 are imported only when a report is written.
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from cartkit.report.write import write_report

        return write_report
    raise AttributeError(f"module 'cartkit.report' has no attribute {name!r}")
