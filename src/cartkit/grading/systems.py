"""The names of the grading systems (the ``grading_system`` vocabulary codes) as printed.

One table for every label: the report's tables and figures print the short name, the Methods
the name with its citation (docs/criteria.md gives each system's source in full).

    >>> system_label("lee2014"), system_label("astct2019; ctcae4.03")
    ('Lee 2014', 'ASTCT 2019; CTCAE v4.03')
    >>> system_citation("ctcae5.0")
    'NCI CTCAE v5.0'
"""

from __future__ import annotations

# code -> (short name, name with citation)
SYSTEMS: dict[str, tuple[str, str]] = {
    "ctcae4.03": ("CTCAE v4.03", "NCI CTCAE v4.03"),
    "ctcae5.0": ("CTCAE v5.0", "NCI CTCAE v5.0"),
    "ctcae6.0": ("CTCAE v6.0", "NCI CTCAE v6.0"),
    "astct2019": ("ASTCT 2019",
                  "ASTCT consensus 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638)"),
    "lee2014": ("Lee 2014", "Lee 2014 (Lee DW et al., Blood 2014;124:188-195)"),
    # IEC-HS only (grading/iec_hs.py)
    "astct2023": ("ASTCT 2023 (IEC-HS)",
                  "ASTCT consensus 2023 on IEC-HS (Hines MR et al., Transplant Cell Ther 2023;29:438)"),
}
SYSTEM_NAMES: dict[str, str] = {code: names[0] for code, names in SYSTEMS.items()}


def _each(codes: object, which: int, sep: str) -> str:
    parts = [c.strip() for c in str(codes).split(";") if c.strip()]
    return sep.join(SYSTEMS[p.lower()][which] if p.lower() in SYSTEMS else p for p in parts)


def system_label(codes: object) -> str:
    """Short name of a system code, or of "; "-joined codes (an unknown code is printed as is)."""
    return _each(codes, 0, "; ")


def system_citation(codes: object, sep: str = "; ") -> str:
    """Name with citation of a system code, or of "; "-joined codes joined with ``sep``."""
    return _each(codes, 1, sep)
