"""Vasopressor dose: "high dose" per Lee 2014 (CRS grading), scalar and vectorised.

Criteria: ``criteria/vasopressor_<name>.toml`` (agents, monotherapy thresholds,
norepinephrine-equivalent rule for vasopressin and combinations, accepted units).

    >>> high_dose_vasopressor([("norepinephrine", 20, "ug/min")])
    True
    >>> high_dose_vasopressor([("norepinephrine", 8, "ug/min"), ("vasopressin", 0.04, "U/min")])
    False
    >>> high_dose_vasopressor([("dopamine", 5, "ug/kg/min")])
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cartkit.grading import inputs
from cartkit.grading.criteria_data import load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

VASOPRESSOR_DOSE = "lee2014"


def vasopressor_criteria(name: str = VASOPRESSOR_DOSE) -> dict[str, Any]:
    return load_criteria("vasopressor", name)


def _agent_name(agent: str) -> str:
    return str(agent).strip().lower()


def dose_in_unit(
    dose: float | None, unit: str | None, target_unit: str, weight_kg: float | None, spec: dict[str, Any]
) -> float | None:
    """``dose`` in ``unit`` expressed in ``target_unit`` ("ug/min" or "ug/kg/min").

    None when the dose is missing or ug/min <-> ug/kg/min needs a weight that is not
    given; ValueError for a unit the criteria file does not list.
    """
    rule = spec["source"]
    dose_v = inputs.number("dose", dose, rule=rule, minimum=0.0,
                           missing_ok=True)
    weight = inputs.number("weight_kg", weight_kg, rule="body weight in kg", above=0.0, missing_ok=True)
    key = str(unit).strip() if isinstance(unit, str) else unit
    if dose_v is None:
        if key is not None and key not in spec["units"]:
            raise inputs.fail("dose_unit", unit, f"must be one of {tuple(spec['units'])} ({rule})")
        return None
    if key not in spec["units"]:
        raise inputs.fail("dose_unit", unit, f"must be one of {tuple(spec['units'])} ({rule})")
    base, factor = spec["units"][key]
    value = dose_v * float(factor)
    if base == target_unit:
        return value
    if weight is None:
        return None
    return value * float(weight_kg) if base == "ug/kg/min" else value / float(weight_kg)


def high_dose_vasopressor(
    agents: Sequence[tuple[str, float | None, str | None]],
    weight_kg: float | None = None,
    *,
    criteria: str = VASOPRESSOR_DOSE,
) -> bool | None:
    """Whether the vasopressors of one day are "high dose" (Lee 2014 Table 2).

    ``agents``: (agent, dose, dose_unit) for every vasopressor given that day (an agent
    listed twice counts at its highest dose; vasopressin's dose is not used).
    Monotherapy: the agent's own threshold; with vasopressin: norepinephrine
    equivalent >= 10 ug/min; a combination without vasopressin: equivalent >= 20
    ug/min. Returns None when a dose, unit conversion (weight) or agent is unknown and
    would decide it; ValueError for an unknown agent or unit.
    """
    spec = vasopressor_criteria(criteria)
    vasopressin = _agent_name(spec["vasopressin_agent"])
    doses: dict[str, float | None] = {}
    has_vasopressin = False
    inputs.number("weight_kg", weight_kg, rule="body weight in kg", above=0.0, missing_ok=True)
    if isinstance(agents, (str, bytes)) or not hasattr(agents, "__iter__"):
        raise inputs.fail("agents", agents, "must be a sequence of (agent, dose, dose_unit)")
    for i, entry in enumerate(agents):
        if isinstance(entry, (str, bytes)) or not hasattr(entry, "__len__") or len(entry) != 3:
            raise inputs.fail(f"agents[{i}]", entry, "must be (agent, dose, dose_unit)")
        agent, dose, unit = entry
        if not isinstance(agent, str):
            raise inputs.fail(f"agents[{i}] agent", agent, "a vasopressor agent is text, e.g. 'norepinephrine'")
        name = _agent_name(agent)
        if name == vasopressin:
            inputs.number(f"agents[{i}] dose", dose, rule="a vasopressor dose is >= 0", minimum=0.0,
                          missing_ok=True)
            has_vasopressin = True
            continue
        if name not in spec["agents"]:
            raise ValueError(
                f"vasopressor agent {agent!r} is not one of {(*spec['agents'], vasopressin)} ({spec['source']})"
            )
        value = dose_in_unit(dose, unit, spec["agents"][name]["unit"], weight_kg, spec)
        if name in doses:
            old = doses[name]
            doses[name] = None if old is None or value is None else max(old, value)
        else:
            doses[name] = value
    if not doses:
        return False  # no catecholamine: nothing, or vasopressin alone (equivalent 0)
    if any(v is None for v in doses.values()):
        return None
    if len(doses) == 1 and not has_vasopressin:
        ((name, value),) = doses.items()
        return bool(value >= spec["agents"][name]["high_dose"])
    equivalent = sum(v * spec["agents"][n]["ne_factor"] for n, v in doses.items())
    threshold = (
        spec["with_vasopressin_ne_equivalent"] if has_vasopressin else spec["combination_ne_equivalent"]
    )
    return bool(equivalent >= threshold)


def high_dose_vasopressor_frame(
    rows: pl.DataFrame,
    keys: Sequence[str],
    *,
    criteria: str = VASOPRESSOR_DOSE,
) -> pl.DataFrame:
    """:func:`high_dose_vasopressor` for every group of ``keys`` (e.g. episode and day).

    ``rows``: one row per vasopressor given, with ``keys``, ``agent``, ``dose``,
    ``dose_unit`` and ``weight_kg`` (null when unknown). Returns ``keys`` +
    ``high_dose_vasopressor`` (Boolean, null = undetermined) + ``ne_equivalent_ug_min``.
    Agents or units outside the criteria file make the group undetermined (null)
    rather than raising: a registry row must not stop the whole derivation.
    """
    import polars as pl

    spec = vasopressor_criteria(criteria)
    keys = list(keys)
    vasopressin = _agent_name(spec["vasopressin_agent"])
    agent = pl.col("agent").cast(pl.String).str.strip_chars().str.to_lowercase()
    unit = pl.col("dose_unit").cast(pl.String).str.strip_chars()
    base = unit.replace_strict(
        {k: v[0] for k, v in spec["units"].items()}, default=None, return_dtype=pl.String
    )
    factor = unit.replace_strict(
        {k: float(v[1]) for k, v in spec["units"].items()}, default=None, return_dtype=pl.Float64
    )
    target = agent.replace_strict(
        {a: s["unit"] for a, s in spec["agents"].items()}, default=None, return_dtype=pl.String
    )
    mono = agent.replace_strict(
        {a: float(s["high_dose"]) for a, s in spec["agents"].items()}, default=None, return_dtype=pl.Float64
    )
    ne_factor = agent.replace_strict(
        {a: float(s["ne_factor"]) for a, s in spec["agents"].items()}, default=None, return_dtype=pl.Float64
    )
    raw = pl.col("dose").cast(pl.Float64) * factor
    weight = pl.when(pl.col("weight_kg") > 0).then(pl.col("weight_kg").cast(pl.Float64))
    converted = (
        pl.when(base == target)
        .then(raw)
        .when(base == "ug/kg/min")
        .then(raw * weight)
        .when(base == "ug/min")
        .then(raw / weight)
        .otherwise(None)
    )
    per_row = rows.with_columns(
        _agent=agent,
        _is_vasopressin=agent == vasopressin,
        _known=agent.is_in(list(spec["agents"])).fill_null(False),
        _dose=converted,
        _mono=mono,
        _ne=ne_factor,
    )
    cat = per_row.filter(~pl.col("_is_vasopressin").fill_null(False))
    # per agent and group: the day's highest dose; null when any of its rows is undetermined
    per_agent = cat.group_by([*keys, "_agent"]).agg(
        pl.when(pl.col("_dose").is_null().any() | ~pl.col("_known").all())
        .then(None)
        .otherwise(pl.col("_dose").max())
        .alias("_dose"),
        pl.col("_mono").first(),
        pl.col("_ne").first(),
    )
    groups = per_row.group_by(keys).agg(
        pl.col("_is_vasopressin").fill_null(False).any().alias("_vasopressin")
    )
    per_group = per_agent.group_by(keys).agg(
        pl.len().alias("_n"),
        pl.col("_dose").is_null().any().alias("_unknown"),
        (pl.col("_dose") >= pl.col("_mono")).first().alias("_mono_high"),
        (pl.col("_dose") * pl.col("_ne")).sum().alias("ne_equivalent_ug_min"),
    )
    out = groups.join(per_group, on=keys, how="left")
    threshold = (
        pl.when(pl.col("_vasopressin"))
        .then(pl.lit(float(spec["with_vasopressin_ne_equivalent"])))
        .otherwise(pl.lit(float(spec["combination_ne_equivalent"])))
    )
    high = (
        pl.when(pl.col("_n").is_null())
        .then(pl.lit(False))
        .when(pl.col("_unknown"))
        .then(None)
        .when((pl.col("_n") == 1) & ~pl.col("_vasopressin"))
        .then(pl.col("_mono_high"))
        .otherwise(pl.col("ne_equivalent_ug_min") >= threshold)
    )
    return out.select(
        *keys,
        high.cast(pl.Boolean).alias("high_dose_vasopressor"),
        pl.when(pl.col("_n").is_null() | ~pl.col("_unknown"))
        .then(pl.col("ne_equivalent_ug_min").fill_null(0.0))
        .otherwise(None)
        .alias("ne_equivalent_ug_min"),
    )
