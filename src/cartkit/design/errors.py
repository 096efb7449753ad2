"""The design package's own errors: a bad input or a search that finds nothing is one clear message.

``DesignError`` is a ``ValueError`` so that callers who catch ``ValueError`` keep working; the CLI
turns it into one line and exit code 2, never a traceback.
"""

from __future__ import annotations


class DesignError(ValueError):
    """An input a design cannot be computed from (p1 <= p0, alpha outside (0, 0.5), ...)."""


class NoDesignFound(DesignError):
    """The search found no design meeting the error rates within the allowed sample size."""
