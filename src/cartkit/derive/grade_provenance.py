"""Which grade is analysed for each toxicity, where it comes from and what system it is in.

The derive stage decides, per toxicity and patient-episode, whether the grade analysed is the
investigator's recorded grade or one cartkit derived from the records, and labels it with the
system it is in (the system its adverse-events row names, or the one it was derived under). This
module summarises that decision for the analysis and the Methods (``Derived.grade_provenance``);
nothing downstream restates it. The rules are in docs/criteria.md ("Which grade is analysed").

    >>> import polars as pl
    >>> frame = pl.DataFrame({"patient_id": ["A", "B", "C"], "episode": [1, 1, 1], "grade": [2, None, 0],
    ...                       "system": ["lee2014"] * 3, "source": ["derived"] * 3})
    >>> p = provenance_of("CRS", frame, alternatives=("astct2019",))
    >>> (p.system, p.source, p.n_derived, p.n_undetermined, p.alternatives)
    ('lee2014', 'derived', 2, 1, ('astct2019',))
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["GradeProvenance", "provenance_of"]

SOURCES = ("recorded", "derived")


@dataclass(frozen=True)
class GradeProvenance:
    """How the grades analysed for one toxicity were obtained.

    ``systems``: the grading systems of the graded episodes (most episodes first); ``source``:
    "recorded" (every graded episode has the investigator's grade; an episode without the adverse
    event counts as grade 0), "derived" (every graded episode was graded by cartkit from the
    records), "mixed" (some of each) or "none" (no episode could be graded). ``n_undetermined``:
    episodes the records cannot grade, left out of the grade tables. ``alternatives``: systems
    cartkit also derived grades under, compared beside the analysed ones.
    """

    toxicity: str
    systems: tuple[str, ...]
    source: str
    n_recorded: int
    n_derived: int
    n_undetermined: int
    alternatives: tuple[str, ...] = ()

    @property
    def system(self) -> str:
        """The systems as one label ("; "-joined when the episodes are in several)."""
        return "; ".join(self.systems)


def provenance_of(toxicity: str, frame: pl.DataFrame, alternatives: tuple[str, ...] = ()) -> GradeProvenance:
    """The provenance of one toxicity's analysed grades (patient_id, episode, grade, system, source)."""
    graded = frame.filter(pl.col("grade").is_not_null())
    systems = (graded.group_by("system", maintain_order=True).len().sort("len", descending=True,
                                                                          maintain_order=True)
               ["system"].drop_nulls().to_list()) if graded.height else []
    counts = dict(graded.group_by("source").len().iter_rows()) if graded.height else {}
    n_recorded, n_derived = counts.get("recorded", 0), counts.get("derived", 0)
    unknown = set(counts) - set(SOURCES)
    if unknown:
        raise ValueError(f"{toxicity}: grade source(s) {sorted(unknown)} not one of {SOURCES}")
    source = ("none" if not graded.height else "mixed" if n_recorded and n_derived
              else "recorded" if n_recorded else "derived")
    return GradeProvenance(toxicity, tuple(systems), source, n_recorded, n_derived,
                           frame.height - graded.height, tuple(a for a in alternatives if a not in systems))
