"""The report's figures: one module per figure family, one registry in report order.

Each entry names the figure id used in the HTML (``id="patient-course"``) and as file name
(``figures/patient-course.svg``, and ``.png`` when asked for), the tables it needs, and the
function that draws it from a :class:`~cartkit.analysis.results.Results`. A figure whose tables are missing is
left out with the reason from ``results.omitted``. Ported kinds (``engine="svg"``) are drawn by cartkit's
own SVG writer (``cartkit.report.svg``, issue 16 target 1); the others still by matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from cartkit.analysis.results import Results


class NotApplicable(ValueError):
    """The study's results do not have what this figure draws (e.g. no cytokines measured)."""


@dataclass(frozen=True)
class FigureSpec:
    id: str
    title: str
    caption: str
    needs: tuple[str, ...]
    draw: Callable[[Results], Figure]
    min_products: int = 1
    # "svg": drawn by cartkit's own writer (report/svg; a ``cartkit.report.svg.Figure``, no matplotlib);
    # "matplotlib": a matplotlib Figure, drawn inside ``style.figure_style``
    engine: str = "matplotlib"

    def caption_for(self, results: Results) -> str:
        """The caption with ``{ci}`` the plan's confidence level ("95%": ``Results.confidence_level``)."""
        from cartkit.analysis.formatting import confidence_label

        return self.caption.replace("{ci}", confidence_label(getattr(results, "confidence_level", 0.95)))


def _antigen(results):
    from cartkit.report.figures.antigen import antigen_figure

    return antigen_figure(results)


def _swimmer(results):
    from cartkit.report.figures.swimmer import swimmer_figure

    return swimmer_figure(results)


def _response(results):
    from cartkit.report.figures.response import response_figure

    return response_figure(results)


def _survival(results):
    from cartkit.report.figures.survival import survival_figure

    return survival_figure(results)


def _pfs_by_mrd(results):
    from cartkit.report.figures.pfs_by_mrd import pfs_by_mrd_figure

    return pfs_by_mrd_figure(results)


def _cumulative_incidence(results):
    from cartkit.report.figures.cumulative_incidence import cumulative_incidence_figure

    return cumulative_incidence_figure(results)


def _simon_makuch(results):
    from cartkit.report.figures.simon_makuch import simon_makuch_figure

    return simon_makuch_figure(results)


def _kin_curves(results):
    from cartkit.report.figures.kinetics import kinetics_curves_figure

    return kinetics_curves_figure(results)


def _kin_peaks(results):
    from cartkit.report.figures.kinetics import kinetics_peaks_figure

    return kinetics_peaks_figure(results)


def _toxicity(results):
    from cartkit.report.figures.toxicity import toxicity_figure

    return toxicity_figure(results)


def _cyto_curves(results):
    from cartkit.report.figures.kinetics import cytokine_curves_figure

    return cytokine_curves_figure(results)


def _cyto_peaks(results):
    from cartkit.report.figures.kinetics import cytokine_peaks_figure

    return cytokine_peaks_figure(results)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("antigen-expression", "CD19 and CD22 on the malignant cells before each product",
               "Percentage of malignant cells expressing each antigen (flow cytometry) at the last assessment "
               "on or before the day of each infusion; one dot per patient, grey lines join the same patient, "
               "black bars are medians.",
               ("antigen_expression",), _antigen, engine="svg"),
    FigureSpec("patient-course", "Course of every patient",
               "Swimmer plot: one lane per patient, one bar per CAR-T episode (coloured by product) from its "
               "infusion to the next infusion or last follow-up; circles mark the best response of each episode.",
               ("swimmer",), _swimmer, engine="svg"),
    FigureSpec("best-response", "Best response by product and disease",
               "Patients by best response (stacked), per product, one panel per disease; ORR with exact "
               "(Clopper-Pearson) {ci} CI above each bar.",
               ("responses",), _response, engine="svg"),
    FigureSpec("survival-curves", "Progression-free and overall survival by disease",
               "Kaplan-Meier estimates from the infusion; vertical ticks mark censored observations; numbers at "
               "risk below each panel at the tick times; log-rank P.",
               ("survival_curves", "at_risk"), _survival, engine="svg"),
    FigureSpec("pfs-by-mrd", "Progression-free survival by MRD status at the landmark",
               "Kaplan-Meier estimates counted from the landmark day ([plan.mrd_landmark]) in patients free of "
               "progression then, by MRD status from the tests done by the landmark (each disease's own MRD "
               "rule): MRD-neg, negative; MRD-pos, positive; NE, not evaluable (no MRD test by the landmark); "
               "vertical ticks mark censored observations; numbers at risk below; log-rank P.",
               ("mrd_landmark_curves", "mrd_landmark_at_risk"), _pfs_by_mrd, engine="svg"),
    FigureSpec("cumulative-incidence", "Cumulative incidence with HSCT and death as competing events",
               "Aalen-Johansen cumulative incidence of each endpoint's events other than death (relapse, "
               "progression ...), solid, with allogeneic HSCT (dashed) and death without such an event (dotted) "
               "as competing events, by group; Gray's test P.",
               ("endpoint_cif_curves",), _cumulative_incidence, engine="svg"),
    FigureSpec("simon-makuch", "Survival by HSCT as a time-dependent state (Simon-Makuch)",
               "Simon-Makuch estimates: patients are at risk on the no-HSCT curve until their transplant and on "
               "the HSCT curve after it; vertical ticks mark censorings and, on the no-HSCT curve, moves to HSCT; "
               "Mantel-Byar P of the time-dependent Cox model.",
               ("endpoint_simon_makuch",), _simon_makuch, engine="svg"),
    FigureSpec("car-t-kinetics", "CAR-T cells and CAR DNA in peripheral blood",
               "Median (line) and interquartile range (band) by product; thin grey lines are individual "
               "patients. CAR-T cells by flow cytometry (% of CD3+), CAR DNA by qPCR (copies/\u00b5g DNA).",
               ("kinetic_curves",), _kin_curves, engine="svg"),
    FigureSpec("expansion-peaks", "Expansion peak and day of peak by product",
               "One dot per patient per product; grey lines join the same patient; black bars are medians. "
               "P: unpaired test chosen by the plan; paired P: within-patient test.",
               ("kinetic_params",), _kin_peaks, min_products=2, engine="svg"),
    FigureSpec("toxicity-grade-bars", "CRS, ICANS and haematological toxicity grades by product",
               "Episodes by maximum grade (stacked, grade 0 at the bottom); P values of the grade comparisons.",
               ("grade_counts",), _toxicity, engine="svg"),
    FigureSpec("cytokine-kinetics", "Serum cytokines after infusion",
               "Median (line) and interquartile range (band) by product; thin grey lines are individual patients.",
               ("kinetic_curves",), _cyto_curves, engine="svg"),
    FigureSpec("cytokine-peaks", "Cytokine peaks and days of peak by product",
               "One dot per patient per product; grey lines join the same patient; black bars are medians.",
               ("kinetic_params",), _cyto_peaks, min_products=2, engine="svg"),
)
