"""``cartkit design``: the next study's designs, printed as tables (docs/design.md).

    cartkit design simon --p0 0.2 --p1 0.4 [--alpha 0.05 --beta 0.2 --criterion optimal --nmax 150]
    cartkit design single-stage --p0 0.2 --p1 0.4
    cartkit design logrank --hr 0.6 [--median-control 12 --accrual 24 --follow-up 12 --method schoenfeld]
    cartkit design proportions --p1 0.2 --p2 0.4 [--method both]
    cartkit design from-study DIR [--p0 0.2]

A bad input (p1 <= p0, alpha outside (0, 0.5), no design within nmax) is one message and exit
code 2, never a traceback. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cartkit.cli_messages import console as _console
from cartkit.cli_messages import fail, fail_with_problems
from cartkit.cli_messages import text as _text
from cartkit.cli_params import FastGroup

design_app = typer.Typer(
    cls=FastGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Design the next study: Simon two-stage, single-stage, log-rank and two-proportion sizes.",
)

USAGE_ERROR = 2


def _bad_input(message: str) -> None:
    fail(message, debug=False, code=USAGE_ERROR)


def _run(compute):
    """compute() with every DesignError turned into one message and exit code 2."""
    from cartkit.design import DesignError

    try:
        return compute()
    except DesignError as exc:
        _bad_input(str(exc))


def _table(title: str, columns: list[str], rows: list[list[str]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        # numbers are never cut: each value column is as wide as its widest value; labels wrap
        widest = max([len(row[i]) for row in rows], default=0)
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i > 0, min_width=widest if i else None)
    for row in rows:
        table.add_row(*row)
    return table


def _simon_rows(designs) -> list[list[str]]:
    return [[d.criterion, f"{d.r1}/{d.n1}", f"{d.r}/{d.n}", f"{d.en_p0:.2f}", f"{d.pet_p0:.3f}", f"{d.alpha:.4f}",
             f"{d.power:.4f}", f"{d.q_low:.3f}-{d.q_high:.3f}"] for d in designs]


SIMON_COLUMNS = ["design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "alpha", "power",
                 "q range"]


def _write_figure(fig, path: Path, overwrite: bool) -> None:
    from cartkit.study.atomic_file import replace_atomically

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        _bad_input(f"--figure must end in .png, .svg or .pdf, got {path.name}")
    if path.exists() and not overwrite:
        _bad_input(f"{path} exists; choose another name or pass --overwrite")
    if not path.parent.exists():
        _bad_input(f"folder {path.parent} does not exist")
    replace_atomically(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lower().lstrip(".")))


@design_app.command()
def simon(
    p0: float = typer.Option(..., "--p0", help="Response rate not worth pursuing (H0)."),
    p1: float = typer.Option(..., "--p1", help="Response rate worth detecting (H1), above p0."),
    alpha: float = typer.Option(0.05, "--alpha", help="Bound on P(declare promising | p0)."),
    beta: float = typer.Option(0.20, "--beta", help="Bound on P(not promising | p1); power = 1 - beta."),
    criterion: str = typer.Option("optimal", "--criterion", help="optimal, minimax or admissible."),
    nmax: int = typer.Option(150, "--nmax", help="Largest total sample size searched."),
    oc: bool = typer.Option(False, "--oc", help="Also print operating characteristics over true rates."),
    figure: Path = typer.Option(None, "--figure", help="Write the operating-characteristics figure (.png/.svg/.pdf)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --figure file."),
) -> None:
    """Simon (1989) optimal or minimax two-stage design, or Jung (2004) admissible designs."""
    from cartkit.design import operating_characteristics, operating_characteristics_figure, simon_two_stage

    result = _run(lambda: simon_two_stage(p0, p1, alpha, beta, criterion=criterion, nmax=nmax))
    designs = result if isinstance(result, tuple) else (result,)
    console = _console()
    console.print(_table(f"Simon two-stage design: p0 = {p0:g}, p1 = {p1:g}, alpha < {alpha:g}, power > {1 - beta:g}",
                         SIMON_COLUMNS, _simon_rows(designs)))
    console.print("Stop after stage 1 if responses <= r1 of n1; promising if total responses > r of n. "
                  "q range: weights on n (vs EN) where the design minimises q n + (1 - q) EN (Jung 2004).")
    if max(d.n for d in designs) > nmax - 10:
        console.print(f"[yellow]note:[/] the design's n is within 10 of --nmax {nmax}; a larger --nmax may find a "
                      "design with smaller EN.")
    chosen = designs[-1]
    if oc:
        grid = sorted({round(x, 4) for x in [i / 20 for i in range(21)] + [p0, p1]})
        frame = operating_characteristics(chosen, grid)
        rows = [[f"{r['p']:.3f}", f"{r['p_promising']:.4f}", f"{r['pet']:.4f}", f"{r['expected_n']:.2f}"]
                for r in frame.iter_rows(named=True)]
        console.print(_table(f"Operating characteristics of {chosen.criterion} {chosen.r1}/{chosen.n1}, "
                             f"{chosen.r}/{chosen.n}", ["true rate", "P(promising)", "PET", "E[N]"], rows))
    if figure is not None:
        _write_figure(operating_characteristics_figure(chosen), figure, overwrite)
        console.print(f"[green]figure written to {_text(figure)}[/]")


@design_app.command("single-stage")
def single_stage_command(
    p0: float = typer.Option(..., "--p0", help="Response rate not worth pursuing (H0)."),
    p1: float = typer.Option(..., "--p1", help="Response rate worth detecting (H1), above p0."),
    alpha: float = typer.Option(0.05, "--alpha", help="Bound on P(declare promising | p0)."),
    beta: float = typer.Option(0.20, "--beta", help="Bound on P(not promising | p1)."),
    nmax: int = typer.Option(1000, "--nmax", help="Largest sample size searched."),
) -> None:
    """A'Hern (2001) exact single-stage design: the smallest n and its boundary r."""
    from cartkit.design import single_stage

    d = _run(lambda: single_stage(p0, p1, alpha, beta, nmax=nmax))
    _console().print(_table(
        f"Single-stage exact design: p0 = {p0:g}, p1 = {p1:g}, alpha <= {alpha:g}, power >= {1 - beta:g}",
        ["n", "promising if > r", "responses needed", "alpha", "power"],
        [[str(d.n), str(d.r), str(d.responses_needed), f"{d.alpha:.4f}", f"{d.power:.4f}"]]))


@design_app.command()
def logrank(
    hr: float = typer.Option(None, "--hr", help="Hazard ratio, treatment vs control."),
    median_control: float = typer.Option(None, "--median-control", help="Control median survival (exponential)."),
    median_treatment: float = typer.Option(None, "--median-treatment", help="Treatment median survival."),
    alpha: float = typer.Option(0.05, "--alpha", help="Type I error (two-sided unless --sided 1)."),
    power: float = typer.Option(0.80, "--power", help="Target power."),
    allocation: float = typer.Option(1.0, "--allocation", help="n_treatment / n_control."),
    method: str = typer.Option("schoenfeld", "--method", help="schoenfeld, freedman or lachin-foulkes."),
    accrual: float = typer.Option(None, "--accrual", help="Accrual time (uniform entry), same unit as medians."),
    follow_up: float = typer.Option(None, "--follow-up", help="Follow-up after the last patient enters."),
    n: float = typer.Option(None, "--n", help="Also give the power with this many patients."),
    events: float = typer.Option(None, "--events", help="Also give the power with this many events."),
    sided: int = typer.Option(2, "--sided", help="1 or 2."),
) -> None:
    """Log-rank events and patients (Schoenfeld 1983, Freedman 1982, Lachin-Foulkes 1986)."""
    from cartkit.design import logrank_power, logrank_power_for_n, logrank_sample_size

    d = _run(lambda: logrank_sample_size(hr=hr, alpha=alpha, power=power, allocation=allocation, method=method,
                                         median_control=median_control, median_treatment=median_treatment,
                                         accrual=accrual, follow_up=follow_up, sided=sided))
    import math

    rows = [["events", f"{d.events:.2f}", str(math.ceil(d.events - 1e-9))]]
    if d.n is not None:
        rows += [["patients", f"{d.n:.2f}", str(math.ceil(d.n_treatment - 1e-9) + math.ceil(d.n_control - 1e-9))],
                 ["  treatment", f"{d.n_treatment:.2f}", str(math.ceil(d.n_treatment - 1e-9))],
                 ["  control", f"{d.n_control:.2f}", str(math.ceil(d.n_control - 1e-9))],
                 ["P(event)", f"{d.p_event:.4f}", ""]]
    console = _console()
    console.print(_table(f"Log-rank ({d.method}): HR = {d.hr:.4g}, alpha = {alpha:g} ({sided}-sided), "
                         f"power = {power:g}, allocation {allocation:g}:1", ["", "exact value", "rounded up"], rows))
    if events is not None:
        pw = _run(lambda: logrank_power(events, d.hr, alpha, allocation, "freedman" if method == "freedman"
                                        else "schoenfeld", sided))
        console.print(f"power with {events:g} events: {pw:.4f}")
    if n is not None:
        if median_control is None or follow_up is None:
            _bad_input("--n needs --median-control, --accrual and --follow-up (to turn patients into events)")
        pw = _run(lambda: logrank_power_for_n(n, median_control, accrual or 0.0, follow_up, hr=hr,
                                              median_treatment=median_treatment, alpha=alpha,
                                              allocation=allocation, method=method, sided=sided))
        console.print(f"power with {n:g} patients: {pw:.4f}")


@design_app.command()
def proportions(
    p1: float = typer.Option(..., "--p1", help="Response rate in arm 1."),
    p2: float = typer.Option(..., "--p2", help="Response rate in arm 2."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided type I error."),
    power: float = typer.Option(0.80, "--power", help="Target power."),
    allocation: float = typer.Option(1.0, "--allocation", help="n2 / n1."),
    method: str = typer.Option("both", "--method", help="normal, exact (Fisher) or both."),
    n1: int = typer.Option(None, "--n1", help="Also give the power with n1 (and --n2) patients."),
    n2: int = typer.Option(None, "--n2", help="Arm-2 size for --n1 (default n1 x allocation)."),
) -> None:
    """Two proportions: normal approximation and exact power of Fisher's test."""
    import math

    from cartkit.design import fisher_power, normal_power, two_proportions

    if method not in ("normal", "exact", "both"):
        _bad_input(f"--method must be normal, exact or both, got {method!r}")
    methods = ("normal", "exact") if method == "both" else (method,)
    rows = []
    for m in methods:
        d = _run(lambda m=m: two_proportions(p1, p2, alpha, power, allocation, method=m))
        rows.append([m if m == "normal" else "exact (Fisher)", str(d.n1), str(d.n2), str(d.n), f"{d.power:.4f}"])
    console = _console()
    console.print(_table(f"Two proportions: p1 = {p1:g} vs p2 = {p2:g}, alpha = {alpha:g} (two-sided), "
                         f"power >= {power:g}", ["method", "n1", "n2", "total", "power attained"], rows))
    if n1 is not None:
        size2 = n2 if n2 is not None else max(1, math.ceil(n1 * allocation - 1e-9))
        exact = _run(lambda: fisher_power(n1, size2, p1, p2, alpha))
        normal = _run(lambda: normal_power(n1, size2, p1, p2, alpha))
        console.print(f"power with n1 = {n1}, n2 = {size2}: normal {normal:.4f}, exact (Fisher) {exact:.4f}")


@design_app.command("from-study")
def from_study(
    study_dir: Path = typer.Argument(..., help="Study folder."),
    p0: float = typer.Option(None, "--p0", help="Uninteresting response rate (historical); default p1 - delta."),
    delta: float = typer.Option(0.20, "--delta", help="p1 - p0 when --p0 is not given."),
    alpha: float = typer.Option(0.05, "--alpha", help="Bound on P(declare promising | p0)."),
    beta: float = typer.Option(0.20, "--beta", help="Bound on P(not promising | p1)."),
    criterion: str = typer.Option("optimal", "--criterion", help="optimal or minimax."),
    product: list[str] = typer.Option([], "--product", help="Only this product (repeatable)."),
    diagnosis: list[str] = typer.Option([], "--diagnosis", help="Only this diagnosis (repeatable)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Propose next-study designs from the study's observed response rates and their exact CIs (plan level)."""
    from cartkit.analysis.formatting import confidence_label
    from cartkit.analysis.next_study import next_study_proposals, observed_response_rates
    from cartkit.derive import derive
    from cartkit.study.load import load_study
    from cartkit.study.problems import StudyError, summary

    if criterion not in ("optimal", "minimax"):
        _bad_input(f"--criterion must be optimal or minimax, got {criterion!r}")
    console = _console()
    try:
        study = load_study(study_dir)
        rates = observed_response_rates(study, derive(study))
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir}: {summary(exc.problems)}; the study cannot be analysed "
                           "until the errors are fixed", debug, exc)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        fail(f"could not read {study_dir}: {type(exc).__name__}: {exc}", debug, exc)
    proposals = _run(lambda: next_study_proposals(rates, p0=p0, delta=delta, alpha=alpha, beta=beta,
                                                  criterion=criterion, products=tuple(product),
                                                  diagnoses=tuple(diagnosis), level=study.plan.confidence_level))
    if not proposals:
        _bad_input("no product x diagnosis matches --product/--diagnosis: nothing to plan from")
    ci = confidence_label(study.plan.confidence_level)  # the plan's 1 - alpha, as in the report
    console.print(_table(f"Observed overall response (exact {ci} CI, as in the report)",
                         ["group", "responders / n", "ORR", f"{ci} CI"],
                         [[p.label, f"{p.responders}/{p.n}", f"{p.rate:.1%}", f"{p.lower:.1%} - {p.upper:.1%}"]
                          for p in proposals]))
    rows, notes = [], []
    for p in proposals:
        for s in p.scenarios:
            d, one = s.two_stage, s.one_stage
            at = "lower CI" if s.label.startswith("lower") else "observed"
            shown_p0 = f"{s.p0:.3f}" if s.p0 > 0 else "-"
            if d is None:
                notes.append(f"{p.label}, p1 at the {s.label}: {s.note}")
                rows.append([p.label, at, shown_p0, f"{s.p1:.3f}", "none", "", "", ""])
                continue
            rows.append([p.label, at, shown_p0, f"{s.p1:.3f}", f"{d.r1}/{d.n1}", f"{d.r}/{d.n}", f"{d.en_p0:.1f}",
                         f"{one.r}/{one.n}"])
    console.print(_table(f"Proposed Simon {criterion} designs (alpha < {alpha:g}, power > {1 - beta:g}); "
                         "stop if <= r1 of n1, promising if > r of n; single stage: promising if > r of n",
                         ["group", "p1 at", "p0", "p1", "r1/n1", "r/n", "EN(p0)", "1 stage"], rows))
    for note in notes:
        console.print(f"[yellow]no design:[/] {_text(note)}")
    for p in proposals:
        console.print(p.message)
    if p0 is None:
        console.print(f"[yellow]note:[/] p0 was set to p1 - {delta:g}; give --p0 (the historical response rate of the "
                      "standard treatment) for a design you can defend.")
