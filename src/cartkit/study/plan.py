"""Read ``study.toml``: study metadata, the file layout and the analysis plan.

Every key is checked: an unknown key or a value of the wrong type is a
``Problem`` naming the key (``file="study.toml"``, ``column="plan.alpha"``),
so that a misspelt option never silently falls back to its default.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cartkit.study.column_mapping import MAPPING_TABLES, ColumnMapping, read_column_mapping
from cartkit.study.links import refused_link
from cartkit.study.model import NextStudyPlan, Plan, StudyMeta, SurvivalPlan
from cartkit.study.plan_endpoint import read_endpoints
from cartkit.study.plan_follow_up import read_follow_up
from cartkit.study.plan_kinetics import read_kinetics
from cartkit.study.plan_mrd import read_mrd_landmark
from cartkit.study.plan_population import read_populations
from cartkit.study.problems import Problem
from cartkit.study.schema import PATIENTS, TABLES
from cartkit.study.vocabulary import DIAGNOSES, VOCABULARIES

STUDY_TOML = "study.toml"

# Grading systems the plan may name (see cartkit.grading for the criteria tables).
CRS_SYSTEMS = ("ctcae4.03", "astct2019", "lee2014")
ICANS_SYSTEMS = ("astct2019", "ctcae4.03", "ctcae5.0", "ctcae6.0")
CTCAE_VERSIONS = ("4.03", "5.0", "6.0")
QUANTILE_METHODS = ("spss", "r7")
ENDPOINTS = ("pfs", "os")
TIME_UNITS = ("days", "months")
# the two analyses of a comparison and the multiplicity adjustment of the recommended one (docs/plan.md)
ANALYSES = ("recommended", "as_published")
P_ADJUST_METHODS = ("holm", "hochberg", "bonferroni", "bh", "by", "none")
P_ADJUST_FAMILIES = ("table", "comparison")


@dataclass
class StudyConfig:
    """Everything ``study.toml`` says."""

    meta: StudyMeta
    plan: Plan
    files: dict[str, str] = field(default_factory=dict)  # table -> file name
    workbook: str | None = None
    # [columns.*], [values.*], [wide.*]: the centre's own headers and codes (docs/column-mapping.md)
    column_mapping: ColumnMapping = field(default_factory=ColumnMapping)


class _Reader:
    """Typed access to one TOML table that records a Problem for each wrong or unknown key."""

    def __init__(self, data: dict[str, Any], prefix: str, problems: list[Problem]):
        self.data = data
        self.prefix = prefix
        self.problems = problems
        self.used: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _problem(self, key: str, value: object, rule: str) -> None:
        self.problems.append(Problem(STUDY_TOML, None, self.name(key), value, rule))

    def get(self, key: str, kind: str, default: Any, choices: tuple[str, ...] | None = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        ok, converted = _convert(value, kind)
        if not ok:
            self._problem(key, value, f"expected {_KIND_NAMES[kind]}")
            return default
        if choices is not None:
            items = converted if isinstance(converted, tuple) else (converted,)
            canon = {c.lower(): c for c in choices}
            fixed = []
            for item in items:
                if str(item).lower() not in canon:
                    self._problem(key, item, f"must be one of: {', '.join(choices)}")
                    return default
                fixed.append(canon[str(item).lower()])
            converted = tuple(fixed) if isinstance(converted, tuple) else fixed[0]
        return converted

    def table(self, key: str) -> dict[str, Any]:
        self.used.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self._problem(key, value, "expected a table")
            return {}
        return value

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                self._problem(key, self.data[key], f"unknown key '{self.name(key)}'")


_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "date": "a date (2020-08-31)",
    "version": "a version string such as \"4.03\"",
    "str_list": "a list of strings",
    "int_list": "a list of integers",
    "int_pair": "a list of two integers [first, last]",
}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _convert(value: object, kind: str) -> tuple[bool, Any]:
    if kind == "str":
        return isinstance(value, str), value
    if kind == "int":
        return _is_int(value), value
    if kind == "float":
        ok = (_is_int(value) or isinstance(value, float)) and value == value
        return ok, float(value) if ok else None
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return True, value
        if isinstance(value, dt.datetime):
            return True, value.date()
        if isinstance(value, str):
            try:
                return True, dt.date.fromisoformat(value.strip())
            except ValueError:
                return False, None
        return False, None
    if kind == "version":
        if isinstance(value, str):
            return True, value.strip()
        if isinstance(value, float):  # ctcae_version = 4.03 written without quotes
            return True, str(value)
        return False, None
    if kind == "str_list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return ok, tuple(v.strip() for v in value) if ok else None
    if kind == "int_list":
        ok = isinstance(value, list) and all(_is_int(v) for v in value)
        return ok, tuple(value) if ok else None
    if kind == "int_pair":
        ok = isinstance(value, list) and len(value) == 2 and all(_is_int(v) for v in value)
        return ok, tuple(value) if ok else None
    raise ValueError(f"unknown kind {kind!r}")  # pragma: no cover - programming error


def _canonical_list(
    values: tuple[str, ...], vocabulary: str, key: str, problems: list[Problem]
) -> tuple[str, ...]:
    mapping = VOCABULARIES[vocabulary]
    out = []
    for v in values:
        canon = mapping.get(v.strip().lower())
        if canon is None:
            allowed = ", ".join(sorted(set(mapping.values()))[:8])
            problems.append(Problem(STUDY_TOML, None, key, v, f"unknown {vocabulary}; allowed: {allowed}, ..."))
        else:
            out.append(canon)
    return tuple(out)


def read_study_toml(folder: Path) -> tuple[StudyConfig, list[Problem]]:
    """Parse ``folder/study.toml``; on any problem the affected setting keeps its default."""
    problems: list[Problem] = []
    default = StudyConfig(StudyMeta(id=folder.name), Plan())
    path = folder / STUDY_TOML
    refused = refused_link(path, folder)
    if refused is not None:
        return default, [Problem(STUDY_TOML, None, None, None, refused)]
    if not path.is_file():
        return default, [Problem(STUDY_TOML, None, None, None, "missing study.toml (study metadata and plan)")]
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return default, [Problem(STUDY_TOML, None, None, None, f"not valid TOML: {exc}")]

    top = _Reader(data, "", problems)
    study = _Reader(top.table("study"), "study", problems)
    files = _Reader(top.table("files"), "files", problems)
    plan = _Reader(top.table("plan"), "plan", problems)
    mapping_tables = {key: top.table(key) for key in MAPPING_TABLES if key in data}
    top.finish()

    # [study]
    if "id" not in study.data:
        problems.append(Problem(STUDY_TOML, None, "study.id", None, "missing study id"))
    meta = StudyMeta(
        id=study.get("id", "str", folder.name),
        title=study.get("title", "str", ""),
        reference=study.get("reference", "str", ""),
        data_cutoff=study.get("data_cutoff", "date", None),
        description=study.get("description", "str", ""),
        meddra_version=study.get("meddra_version", "str", ""),
    )
    study.finish()

    # [files]
    workbook = files.get("workbook", "str", None)
    mapping: dict[str, str] = {}
    for key in list(files.data):
        if key == "workbook":
            continue
        if key.strip().lower() in TABLES:
            value = files.get(key, "str", None)
            if value is not None:
                mapping[key.strip().lower()] = value
    for key in files.data:
        if key != "workbook" and key.strip().lower() not in TABLES:
            files.used.add(key)
            problems.append(
                Problem(
                    STUDY_TOML,
                    None,
                    f"files.{key}",
                    files.data[key],
                    f"unknown key 'files.{key}': expected 'workbook' or a table name ({', '.join(TABLES)})",
                )
            )
    files.finish()

    # [plan]
    products = plan.get("products", "str_list", ())
    diseases = _canonical_list(plan.get("diseases", "str_list", ()), "diagnosis", "plan.diseases", problems)
    analytes = plan.get("kinetic_analytes", "str_list", Plan().kinetic_analytes)
    analytes = _canonical_list(analytes, "analyte", "plan.kinetic_analytes", problems)
    alpha = plan.get("alpha", "float", 0.05)
    if not 0 < alpha < 1:
        problems.append(Problem(STUDY_TOML, None, "plan.alpha", alpha, "must be between 0 and 1"))
        alpha = 0.05
    normality_alpha = plan.get("normality_alpha", "float", Plan.normality_alpha)
    if not 0 < normality_alpha < 1:
        problems.append(Problem(STUDY_TOML, None, "plan.normality_alpha", normality_alpha, "must be between 0 and 1"))
        normality_alpha = Plan.normality_alpha
    window = plan.get("kinetics_window", "int_pair", Plan().kinetics_window)
    if window[0] > window[1]:
        problems.append(Problem(STUDY_TOML, None, "plan.kinetics_window", list(window), "first day after last day"))
    infection_windows = {}
    for key in ("infection_early", "infection_late"):
        days = plan.get(key, "int_pair", getattr(Plan, key))
        if days[0] > days[1] or days[0] < 0:
            problems.append(Problem(STUDY_TOML, None, f"plan.{key}", list(days),
                                    "days after infusion: 0 <= first <= last"))
        infection_windows[key] = tuple(days)
    if infection_windows["infection_late"][0] <= infection_windows["infection_early"][1]:
        problems.append(Problem(STUDY_TOML, None, "plan.infection_late", list(infection_windows["infection_late"]),
                                "the late window starts after the early one ends"))
    igg_below = plan.get("igg_below_mg_dl", "float", Plan.igg_below_mg_dl)
    if not igg_below > 0:
        problems.append(Problem(STUDY_TOML, None, "plan.igg_below_mg_dl", igg_below, "must be > 0"))
    response_days: dict[str, tuple[int, ...]] = {}
    rd = _Reader(plan.table("response_days"), "plan.response_days", problems)
    families = tuple(sorted(set(DIAGNOSES.values())))
    for key in list(rd.data):
        if key not in families:
            rd.used.add(key)
            problems.append(
                Problem(
                    STUDY_TOML,
                    None,
                    f"plan.response_days.{key}",
                    rd.data[key],
                    f"unknown disease family '{key}': expected one of {', '.join(families)}",
                )
            )
            continue
        response_days[key] = rd.get(key, "int_list", ())
    rd.finish()
    response_window = plan.get("response_window", "int", Plan.response_window)
    if response_window < 0:
        problems.append(Problem(STUDY_TOML, None, "plan.response_window", response_window, "must be >= 0"))
        response_window = Plan.response_window

    sv = _Reader(plan.table("survival"), "plan.survival", problems)
    from_product = sv.get("from_product", "str", None)
    if from_product is not None and products and from_product not in products:
        problems.append(
            Problem(STUDY_TOML, None, "plan.survival.from_product", from_product, "not one of plan.products")
        )
    group_by = sv.get("group_by", "str", "diagnosis")
    if group_by not in PATIENTS.column_names:
        problems.append(
            Problem(STUDY_TOML, None, "plan.survival.group_by", group_by, "not a column of the patients table")
        )
        group_by = "diagnosis"
    landmark = sv.get("landmark_day", "int", 180)
    if landmark < 0:
        problems.append(Problem(STUDY_TOML, None, "plan.survival.landmark_day", landmark, "must be >= 0"))
    survival = SurvivalPlan(
        from_product=from_product,
        endpoints=sv.get("endpoints", "str_list", ("pfs", "os"), choices=ENDPOINTS),
        group_by=group_by,
        censor_at_hsct=sv.get("censor_at_hsct", "bool", True),
        landmark_day=landmark,
        time_unit=sv.get("time_unit", "str", "days", choices=TIME_UNITS),
    )
    sv.finish()

    result = Plan(
        products=products,
        diseases=diseases,
        crs_system=plan.get("crs_system", "str", Plan.crs_system, choices=CRS_SYSTEMS),
        icans_system=plan.get("icans_system", "str", Plan.icans_system, choices=ICANS_SYSTEMS),
        ctcae_version=plan.get("ctcae_version", "version", Plan.ctcae_version, choices=CTCAE_VERSIONS),
        alpha=alpha,
        normality_alpha=normality_alpha,
        quantile_method=plan.get("quantile_method", "str", Plan.quantile_method, choices=QUANTILE_METHODS),
        kinetic_analytes=analytes,
        kinetics_window=window,
        kinetics=read_kinetics(plan, problems),
        response_days=response_days,
        response_window=response_window,
        survival=survival,
        extra_ae_terms=plan.get("extra_ae_terms", "str_list", ()),
        ae_table_terms=_ae_table_terms(plan, problems),
        rank_correction=plan.get("rank_correction", "bool", Plan.rank_correction),
        analysis=plan.get("analysis", "str", Plan.analysis, choices=ANALYSES),
        p_adjust=plan.get("p_adjust", "str", Plan.p_adjust, choices=P_ADJUST_METHODS),
        p_adjust_family=plan.get("p_adjust_family", "str", Plan.p_adjust_family, choices=P_ADJUST_FAMILIES),
        lln=_lln(plan, problems),
        lloq=_lln(plan, problems, "lloq"),
        infection_early=infection_windows["infection_early"],
        infection_late=infection_windows["infection_late"],
        igg_below_mg_dl=float(igg_below),
        next_study=_next_study(plan, problems),
        mrd_landmark=read_mrd_landmark(plan, problems),
        populations=read_populations(plan, problems, products),
        endpoints=read_endpoints(plan, problems, products),
        follow_up=read_follow_up(plan, problems),
        comparisons=_comparisons(plan, products, diseases, problems),
    )
    plan.finish()
    column_mapping = read_column_mapping(mapping_tables, plan.data.get("extra_ae_terms"), problems)
    return StudyConfig(meta, result, mapping, workbook, column_mapping), problems


def _ae_table_terms(plan: _Reader, problems: list[Problem]) -> tuple[str, ...]:
    """[plan] ae_table_terms: the AE table's rows, in order; each a known term (or an extra one)."""
    terms = plan.get("ae_table_terms", "str_list", ())
    known = {**VOCABULARIES["ae_term"], **{t.lower(): t for t in plan.data.get("extra_ae_terms", ())
                                           if isinstance(t, str)}}
    out = []
    for term in terms:
        canonical = known.get(term.strip().lower())
        if canonical is None:
            problems.append(Problem(STUDY_TOML, None, "plan.ae_table_terms", term,
                                    "unknown adverse-event term: list it in extra_ae_terms too"))
        else:
            out.append(canonical)
    return tuple(out)


def _lln(plan: _Reader, problems: list[Problem], table: str = "lln") -> dict[str, float]:
    """[plan.lln] analyte = lower limit of normal, in the analyte's canonical unit ([plan.lloq] alike:
    the assay's lower limit of quantification, for results written BLQ or ND without one)."""
    from cartkit.study.vocabulary import ANALYTES

    reader = _Reader(plan.table(table), f"plan.{table}", problems)
    out: dict[str, float] = {}
    for key in list(reader.data):
        if key not in ANALYTES:
            problems.append(Problem(STUDY_TOML, None, f"plan.{table}.{key}", reader.data[key], "unknown analyte"))
            reader.used.add(key)
            continue
        value = reader.get(key, "float", None)
        if value is not None:
            if value <= 0:
                problems.append(Problem(STUDY_TOML, None, f"plan.{table}.{key}", value, "must be > 0"))
            out[key] = float(value)
    reader.finish()
    return out



def _comparisons(plan: _Reader, products: tuple[str, ...], diseases: tuple[str, ...],
                 problems: list[Problem]) -> tuple | None:
    """[[plan.comparison]]: what is compared with what (cartkit.study.plan_comparison, docs/plan.md)."""
    from cartkit.study.plan_comparison import parse_comparisons

    plan.used.add("comparison")
    return parse_comparisons(plan.data.get("comparison"), products, diseases, problems)


def _next_study(plan: _Reader, problems: list[Problem]) -> NextStudyPlan | None:
    """[plan.next_study] p0, delta, alpha, beta, criterion: designs for the next study (docs/design.md)."""
    if "next_study" not in plan.data:
        plan.used.add("next_study")
        return None
    reader = _Reader(plan.table("next_study"), "plan.next_study", problems)
    p0 = reader.get("p0", "float", None)
    values = {"delta": reader.get("delta", "float", NextStudyPlan.delta),
              "alpha": reader.get("alpha", "float", NextStudyPlan.alpha),
              "beta": reader.get("beta", "float", NextStudyPlan.beta)}
    criterion = reader.get("criterion", "str", NextStudyPlan.criterion, choices=("optimal", "minimax"))
    reader.finish()
    if p0 is not None and not 0 < p0 < 1:
        problems.append(Problem(STUDY_TOML, None, "plan.next_study.p0", p0, "must be between 0 and 1"))
        p0 = None
    limits = {"delta": 1.0, "alpha": 0.5, "beta": 0.5}
    for key, value in values.items():
        if not 0 < value < limits[key]:
            problems.append(Problem(STUDY_TOML, None, f"plan.next_study.{key}", value,
                                    f"must be between 0 and {limits[key]:g}"))
            values[key] = getattr(NextStudyPlan, key)
    return NextStudyPlan(p0=None if p0 is None else float(p0), delta=float(values["delta"]),
                         alpha=float(values["alpha"]), beta=float(values["beta"]), criterion=criterion)
