"""Chronic lymphocytic leukaemia response by iwCLL 2018 (Hallek M et al., Blood 2018;131:2745).

Criteria: ``criteria/iwcll_2018.toml`` (Table 4 of the paper and its legend; docs/criteria.md,
"Response: CLL, iwCLL 2018"). :func:`iwcll_responses` derives the response at every assessment of
every episode in one vectorised pass:

* Baseline: per parameter, the latest value on or before day 0 of the episode. A parameter is
  abnormal at baseline when it misses its CR threshold (a node >= 1.5 cm, spleen >= 13 cm, liver
  enlarged, lymphocytes >= 4 x 10^9/L; platelets < 100, haemoglobin < 110 g/L, neutrophils < 1.5).
* Group A (tumour load): lymph nodes, liver and/or spleen, circulating lymphocytes (constitutional
  symptoms take part in CR only). Group B (haematopoiesis): platelets, haemoglobin, neutrophils,
  marrow.
* PD: any one group A criterion (nodes or organs up >= 50% from the nadir, new nodes,
  lymphocytes up >= 50% over baseline to >= 5 x 10^9/L) or group B criterion (platelets down >=
  50%, haemoglobin down >= 20 g/L from baseline while the marrow holds CLL cells; marrow CLL cells
  up >= 50% on successive biopsies), or a histologically documented Richter transformation
  (``richter_transformation``, section 5; it persists: every later assessment is PD too).
* CR: every criterion met (nodes < 1.5 cm, spleen < 13 cm, liver normal, no symptoms, lymphocytes
  < 4, platelets >= 100, haemoglobin >= 110 g/L, neutrophils >= 1.5, marrow without CLL cells or
  nodules). CRi: the same with a count below its CR threshold. nPR (``[npr] derive``): every CR
  criterion with B-lymphoid nodules in an otherwise CLL-free marrow (the 2008 nodular PR).
* PR: at least 2 abnormal group A parameters improved (>= 50% down, or normal) and 1 group B
  parameter (at or above its CR threshold or >= 50% up) when one was abnormal; when only one
  parameter of group A was abnormal, one suffices. Else SD. PR-L (``[pr_l] derive``, studies of
  B-cell receptor inhibitors): PR in everything but the lymphocyte count, whose rise is then not PD.
* Duration (``[duration]``, "at least 2 months"): a CR, CRi, nPR, PR or PR-L holds only when an
  assessment at least ``min_days`` later confirms it; the category kept is the worst one from the
  assessment to that confirming one (SD when a PD or SD lies between), null when no assessment came
  late enough. ``iwcll_raw`` keeps each assessment alone.
* Non-measurable disease (no group A parameter abnormal at baseline): CR, CRi, PD or null (not
  evaluable); so is an assessment where nothing was measured.
* Undetectable MRD (uMRD4): mrd_pct < 0.01% or a negative mrd_result at a sensitivity <= 10^-4
  (the latest MRD test so far).

Input columns (missing ones are taken as not measured): patient_id, episode, day, node_max_ldi_mm,
spd_mm2 (nodes), new_lesions, spleen_cm, liver_cm (below the costal margin), b_symptoms,
alc, platelets, anc (10^9/L), hemoglobin (g/L), marrow_cll_pct, marrow_nodules, mrd_pct,
mrd_result, mrd_sensitivity, richter_transformation.

    >>> import polars as pl
    >>> a = pl.DataFrame({"patient_id": ["p"] * 2, "episode": [1] * 2, "day": [0, 30],
    ...                   "node_max_ldi_mm": [40.0, 20.0], "spd_mm2": [3000.0, 1200.0],
    ...                   "alc": [80.0, 30.0], "platelets": [80.0, 130.0]})
    >>> iwcll_responses(a)["iwcll_raw"].to_list()   # nodes -60%, ALC -62.5%, platelets >= 100
    ['PR']
    >>> iwcll_responses(a)["iwcll_response"].to_list()   # not confirmed >= 2 months later: SD
    ['SD']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from cartkit.grading.criteria_data import read_criteria_file

CRITERIA = Path(__file__).with_name("criteria") / "iwcll_2018.toml"
KEYS = ["patient_id", "episode"]
INPUTS: dict[str, pl.DataType] = {
    "node_max_ldi_mm": pl.Float64(),
    "spd_mm2": pl.Float64(),
    "new_lesions": pl.Boolean(),
    "spleen_cm": pl.Float64(),
    "liver_cm": pl.Float64(),
    "b_symptoms": pl.Boolean(),
    "alc": pl.Float64(),
    "platelets": pl.Float64(),
    "anc": pl.Float64(),
    "hemoglobin": pl.Float64(),
    "marrow_cll_pct": pl.Float64(),
    "marrow_nodules": pl.Boolean(),
    "mrd_pct": pl.Float64(),
    "mrd_result": pl.String(),
    "mrd_sensitivity": pl.Float64(),
    "richter_transformation": pl.Boolean(),
}
# a marrow (and an MRD test) is not repeated at every visit: the latest one is carried forward
_CARRIED = ("marrow_cll_pct", "marrow_nodules", "umrd")
OUT_SCHEMA = {
    "patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "iwcll_response": pl.String,
    "iwcll_raw": pl.String, "iwcll_pd_reason": pl.String, "iwcll_measurable": pl.Boolean, "umrd": pl.Boolean, "umrd_cr": pl.Boolean,
}


def iwcll_criteria() -> dict[str, Any]:
    return read_criteria_file(CRITERIA)


def iwcll_rank(criteria: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Category -> rank (1 = CR, best) in the order of the criteria file."""
    return {c: i + 1 for i, c in enumerate((criteria or iwcll_criteria())["categories"])}


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _true(e: pl.Expr) -> pl.Expr:
    return e.fill_null(False)


def iwcll_responses(
    assessments: pl.DataFrame,
    *,
    first_response_day: int = 1,
    require_duration: bool | None = None,
    criteria: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """iwCLL 2018 response at each assessment on or after ``first_response_day``.

    Returns patient_id, episode, day, iwcll_response (CR, CRi, nPR, PR, PR-L, SD, PD, or null when
    not evaluable or not yet confirmed), iwcll_raw (the assessment alone), iwcll_pd_reason,
    iwcll_measurable (a group A parameter abnormal at baseline), umrd (undetectable MRD at 10^-4,
    the latest test after the infusion so far, a baseline result not carried; null before any) and
    umrd_cr (CR or CRi with uMRD).

    ``require_duration`` overrides ``[duration] require``; ``criteria`` replaces the criteria file
    (a study's own reading, e.g. with ``[pr_l] derive = true``).
    """
    c = criteria or iwcll_criteria()
    nd, og, ly, pl_, hb, ne, mw = (
        c[k] for k in ("nodes", "organs", "lymphocytes", "platelets", "hemoglobin", "neutrophils", "marrow")
    )
    df = assessments.with_columns(
        [pl.lit(None, dtype=t).alias(n) for n, t in INPUTS.items() if n not in assessments.columns]
    ).select(*KEYS, "day", *[pl.col(n).cast(t) for n, t in INPUTS.items()])
    df = df.filter(pl.col("day").is_not_null()).sort([*KEYS, "day"])
    spleen_normal = og["spleen_normal_max_cm"]
    if og["spleen_measure"] == "enlargement":
        spleen_size = pl.max_horizontal(_c("spleen_cm") - spleen_normal, pl.lit(0.0))
    elif og["spleen_measure"] == "length":
        spleen_size = _c("spleen_cm")
    else:
        raise ValueError(f"organs.spleen_measure must be 'enlargement' or 'length', not {og['spleen_measure']!r}")
    df = df.with_columns(spleen_size=pl.when(_c("spleen_cm").is_not_null()).then(spleen_size))

    base_cols = [n for n in (*INPUTS, "spleen_size") if n not in ("new_lesions", "richter_transformation")]
    base = (
        df.filter(pl.col("day") <= 0)
        .group_by(KEYS)
        .agg(*[pl.col(n).drop_nulls().last().alias(f"{n}_0") for n in base_cols], pl.col("day").max().alias("_bday"))
    )
    # abnormal at baseline: the parameter misses its CR threshold
    base = base.with_columns(
        ab_nodes=_true(_c("node_max_ldi_mm_0") >= nd["cr_max_ldi_mm"]),
        ab_spleen=_true(_c("spleen_cm_0") >= spleen_normal),
        ab_liver=_true(_c("liver_cm_0") > 0),
        ab_alc=_true(_c("alc_0") >= ly["cr_max_10e9_l"]),
        ab_plt=_true(_c("platelets_0") < pl_["cr_min_10e9_l"]),
        ab_hb=_true(_c("hemoglobin_0") < hb["cr_min_g_l"]),
        ab_anc=_true(_c("anc_0") < ne["cr_min_10e9_l"]) & pl.lit(bool(ne["include"])),
        sym_0=_true(_c("b_symptoms_0")),
    ).with_columns(ab_organ=_c("ab_spleen") | _c("ab_liver"))
    seq = df.join(base, on=KEYS, how="inner").filter(
        (pl.col("day") >= first_response_day) | (pl.col("day") == pl.col("_bday"))
    )
    seq = seq.with_columns(
        [pl.when(pl.col("day") == pl.col("_bday")).then(_c(f"{n}_0")).otherwise(_c(n)).alias(n) for n in base_cols]
    ).sort([*KEYS, "day"])
    mrd = c["mrd"]
    # the latest post-infusion test (carried to later visits below); a baseline (pre-infusion) result is not
    # carried into the response assessments (tests/test_iwcll_baseline_mrd_not_carried.py)
    seq = seq.with_columns(
        umrd=pl.when(pl.col("day") == pl.col("_bday"))
        .then(pl.lit(None, dtype=pl.Boolean))
        .when(_c("mrd_pct").is_not_null())
        .then(_c("mrd_pct") < mrd["undetectable_below_pct"])
        .when(_c("mrd_result").is_not_null())
        .then((_c("mrd_result") == "negative") & _true(_c("mrd_sensitivity") <= mrd["max_sensitivity"]))
    )
    seq = seq.with_columns(
        marrow_now=_c("marrow_cll_pct"),
        marrow_prev=_c("marrow_cll_pct").forward_fill().shift(1).over(KEYS),
        # the nadir ("from response"): the lowest value before this assessment, baseline included
        spd_nadir=_c("spd_mm2").cum_min().forward_fill().shift(1).over(KEYS),
        spleen_nadir=_c("spleen_size").cum_min().forward_fill().shift(1).over(KEYS),
        liver_nadir=_c("liver_cm").cum_min().forward_fill().shift(1).over(KEYS),
        # a histological transformation persists (section 5: Richter transformation is PD); one
        # documented at baseline is the disease treated, not a progression
        richter=_true(pl.when(pl.col("day") != pl.col("_bday")).then(_c("richter_transformation")))
        .cast(pl.Int8).cum_max().over(KEYS).cast(pl.Boolean),
    ).with_columns([_c(n).forward_fill().over(KEYS).alias(n) for n in _CARRIED])
    seq = seq.filter(pl.col("day") >= first_response_day)
    if seq.height == 0:
        return pl.DataFrame(schema=OUT_SCHEMA)

    def normal_or_unchanged(value: str, ok: pl.Expr, abnormal0: str) -> pl.Expr:
        """CR criterion of a parameter: met when measured and normal, or not measured and normal at baseline."""
        return pl.when(_c(value).is_not_null()).then(_true(ok)).otherwise(~_c(abnormal0))

    def down(now: str, ref: str, frac: float) -> pl.Expr:
        return _true(_c(now) <= (1 - frac) * _c(ref))

    def up(now: str, ref: str, frac: float) -> pl.Expr:
        return _true((_c(now) >= (1 + frac) * _c(ref)) & (_c(now) > _c(ref)))

    # --- group A
    cr_nodes = normal_or_unchanged("node_max_ldi_mm", _c("node_max_ldi_mm") < nd["cr_max_ldi_mm"], "ab_nodes")
    cr_spleen = normal_or_unchanged("spleen_cm", _c("spleen_cm") < spleen_normal, "ab_spleen")
    cr_liver = normal_or_unchanged("liver_cm", _c("liver_cm") <= 0, "ab_liver")
    cr_alc = normal_or_unchanged("alc", _c("alc") < ly["cr_max_10e9_l"], "ab_alc")
    cr_sym = (
        normal_or_unchanged("b_symptoms", ~_c("b_symptoms"), "sym_0")
        if c["symptoms"]["cr_requires_none"] else pl.lit(True)
    )
    nodes_better = _c("ab_nodes") & (down("spd_mm2", "spd_mm2_0", nd["pr_min_spd_decrease"]) | _true(
        _c("node_max_ldi_mm") < nd["cr_max_ldi_mm"]))
    spleen_ok = ~_c("ab_spleen") | down("spleen_size", "spleen_size_0", og["pr_min_decrease"]) | _true(
        _c("spleen_cm") < spleen_normal)
    liver_ok = ~_c("ab_liver") | down("liver_cm", "liver_cm_0", og["pr_min_decrease"]) | _true(_c("liver_cm") <= 0)
    organ_better = _c("ab_organ") & spleen_ok & liver_ok
    alc_better = _c("ab_alc") & (down("alc", "alc_0", ly["pr_min_decrease"]) | _true(_c("alc") < ly["cr_max_10e9_l"]))
    n_a = _c("ab_nodes").cast(pl.Int32) + _c("ab_organ").cast(pl.Int32) + _c("ab_alc").cast(pl.Int32)
    better_a = nodes_better.cast(pl.Int32) + organ_better.cast(pl.Int32) + alc_better.cast(pl.Int32)

    # --- group B
    def count_pr(col: str, cr_min: float, inc: float) -> pl.Expr:
        return _true((_c(col) >= cr_min) | ((_c(col) >= (1 + inc) * _c(f"{col}_0")) & (_c(col) > _c(f"{col}_0"))))

    cr_plt = _true(_c("platelets") >= pl_["cr_min_10e9_l"])
    cr_hb = _true(_c("hemoglobin") >= hb["cr_min_g_l"])
    cr_anc = _true(_c("anc") >= ne["cr_min_10e9_l"]) if ne["include"] else pl.lit(True)
    low_count = (
        _true(_c("platelets") < pl_["cr_min_10e9_l"])
        | _true(_c("hemoglobin") < hb["cr_min_g_l"])
        | (_true(_c("anc") < ne["cr_min_10e9_l"]) if ne["include"] else pl.lit(False))
    )
    better_b = (
        (_c("ab_plt") & count_pr("platelets", pl_["cr_min_10e9_l"], pl_["pr_min_increase"])).cast(pl.Int32)
        + (_c("ab_hb") & count_pr("hemoglobin", hb["cr_min_g_l"], hb["pr_min_increase"])).cast(pl.Int32)
        + (_c("ab_anc") & count_pr("anc", ne["cr_min_10e9_l"], ne["pr_min_increase"])).cast(pl.Int32)
    )
    n_b = _c("ab_plt").cast(pl.Int32) + _c("ab_hb").cast(pl.Int32) + _c("ab_anc").cast(pl.Int32)
    cr_marrow = _true(_c("marrow_cll_pct") <= mw["cr_max_cll_pct"]) & _true(~_c("marrow_nodules"))
    marrow_cll = _true(_c("marrow_cll_pct") > mw["cr_max_cll_pct"]) | _true(_c("marrow_nodules"))
    infiltrated = marrow_cll if c["cytopenia_pd"]["requires_marrow_infiltrate"] else pl.lit(True)

    # --- PD, any one criterion of group A or B (constitutional symptoms do not define PD)
    pd_nodes = up("spd_mm2", "spd_nadir", nd["pd_min_spd_increase"]) & _true(_c("node_max_ldi_mm") >= nd["pd_min_ldi_mm"])
    pd_new = _true(_c("new_lesions"))
    pd_spleen = up("spleen_size", "spleen_nadir", og["pd_min_increase"])
    pd_liver = up("liver_cm", "liver_nadir", og["pd_min_increase"])
    pr_l = bool(c["pr_l"]["derive"])
    # with PR-L derived (B-cell receptor inhibitors) a lymphocytosis alone is not PD (section 5)
    pd_alc = (up("alc", "alc_0", ly["pd_min_increase"]) & _true(_c("alc") >= ly["pd_min_10e9_l"])
              & pl.lit(not pr_l))
    pd_plt = down("platelets", "platelets_0", pl_["pd_min_decrease"]) & infiltrated
    pd_hb = _true(_c("hemoglobin") <= _c("hemoglobin_0") - hb["pd_min_decrease_g_l"]) & infiltrated
    pd_marrow = up("marrow_now", "marrow_prev", mw["pd_min_increase"])
    reasons = pl.concat_str(
        [
            pl.when(pd_nodes).then(pl.lit("lymph nodes")),
            pl.when(pd_new).then(pl.lit("new lymph nodes")),
            pl.when(pd_spleen).then(pl.lit("spleen")),
            pl.when(pd_liver).then(pl.lit("liver")),
            pl.when(pd_alc).then(pl.lit("lymphocyte count")),
            pl.when(pd_plt).then(pl.lit("platelets")),
            pl.when(pd_hb).then(pl.lit("haemoglobin")),
            pl.when(pd_marrow).then(pl.lit("marrow")),
            pl.when(_c("richter")).then(pl.lit("Richter transformation")),
        ],
        separator=", ",
        ignore_nulls=True,
    )
    measured = pl.any_horizontal(
        [_c(n).is_not_null() for n in ("node_max_ldi_mm", "spd_mm2", "spleen_cm", "liver_cm", "alc", "platelets",
                                        "hemoglobin", "anc", "marrow_now")]
    )
    cr_a = cr_nodes & cr_spleen & cr_liver & cr_alc & cr_sym
    need_a = pl.min_horizontal(n_a, pl.lit(c["pr"]["min_group_a"]))
    need_b = pl.min_horizontal(n_b, pl.lit(c["pr"]["min_group_b"]))
    # nPR: every CR criterion but B-lymphoid nodules in a marrow otherwise free of CLL cells
    nodular = _true(_c("marrow_cll_pct") <= mw["cr_max_cll_pct"]) & _true(_c("marrow_nodules"))
    npr = cr_a & nodular & cr_plt & cr_hb & cr_anc & pl.lit(bool(c["npr"]["derive"]))
    # PR-L: PR with the lymphocyte count counted as improved although it is not
    pr_l_met = (
        pl.lit(pr_l) & _c("ab_alc") & ~alc_better & (better_a >= 1)
        & (better_a + 1 >= need_a) & (better_b >= need_b)
    )
    seq = seq.with_columns(
        iwcll_pd_reason=pl.when(reasons != "").then(reasons),
        iwcll_measurable=n_a > 0,
        iwcll_raw=pl.when(reasons != "")
        .then(pl.lit("PD"))
        .when(~measured)
        .then(pl.lit(None, dtype=pl.String))
        .when(cr_a & cr_marrow & cr_plt & cr_hb & cr_anc)
        .then(pl.lit("CR"))
        .when(cr_a & cr_marrow & low_count)
        .then(pl.lit("CRi"))
        .when(npr)
        .then(pl.lit("nPR"))
        .when(n_a == 0)
        .then(pl.lit(None, dtype=pl.String))
        .when((better_a >= need_a) & (better_b >= need_b))
        .then(pl.lit("PR"))
        .when(pr_l_met)
        .then(pl.lit("PR-L"))
        .otherwise(pl.lit("SD")),
    )
    duration = c["duration"]
    required = duration["require"] if require_duration is None else require_duration
    seq = seq.with_columns(
        iwcll_response=_lasting(seq, c, int(duration["min_days"])) if required else _c("iwcll_raw")
    )
    return seq.select(
        *KEYS, "day", "iwcll_response", "iwcll_raw", "iwcll_pd_reason", "iwcll_measurable", "umrd",
        (_true(_c("iwcll_response").is_in(["CR", "CRi"])) & _true(_c("umrd"))).alias("umrd_cr"),
    ).sort([*KEYS, "day"])


RESPONSES = ("CR", "CRi", "nPR", "PR", "PR-L")  # the categories that must last (section 5)


def _lasting(seq: pl.DataFrame, criteria: Mapping[str, Any], min_days: int) -> pl.Series:
    """The response of each row of ``seq`` (sorted by episode and day) that lasted ``min_days``.

    A response category at day d holds when a later evaluated assessment at day >= d + min_days
    exists; what holds is the worst category from d to the first such assessment (SD when that is
    SD or PD: the response did not last). No such assessment: null when an earlier response of the
    episode lasted (not yet confirmed) or a PD follows, else ``[duration] unconfirmed`` ("SD", the default: not
    achieved and no PD; "not evaluable": null). SD and PD are kept as they are; not evaluable stays
    null.
    """
    rank = iwcll_rank(criteria)
    worst_response = max(rank[r] for r in RESPONSES)
    rows = seq.select(*KEYS, "day", "iwcll_raw").with_row_index("_i")
    ev = rows.filter(pl.col("iwcll_raw").is_not_null()).with_columns(
        _rank=pl.col("iwcll_raw").replace_strict(rank, return_dtype=pl.Int64)
    )
    ask = ev.filter(pl.col("iwcll_raw").is_in(RESPONSES)).with_columns(_target=pl.col("day") + min_days)
    later = ev.select(*KEYS, pl.col("day").alias("_until"))
    until = ask.sort("_target").join_asof(
        later.sort("_until"), left_on="_target", right_on="_until", by=KEYS, strategy="forward",
        check_sortedness=False,
    )
    window = (
        until.drop_nulls("_until")
        .select("_i", *KEYS, pl.col("day").alias("_from"), "_until")
        .join(ev.select(*KEYS, "day", pl.col("_rank").alias("_r")), on=KEYS, how="inner")
        .filter(pl.col("day").is_between(pl.col("_from"), pl.col("_until")))
        .group_by("_i")
        .agg(pl.col("_r").max().alias("_worst"))
    )
    unconfirmed = criteria["duration"].get("unconfirmed", "SD")
    if unconfirmed not in ("SD", "not evaluable"):
        raise ValueError(f'iwCLL [duration] unconfirmed must be "SD" or "not evaluable", not {unconfirmed!r}')
    label = {v: k for k, v in rank.items()}
    held = window.with_columns(
        _held=pl.when(pl.col("_worst") <= worst_response)
        .then(pl.col("_worst").replace_strict(label, return_dtype=pl.String))
        .otherwise(pl.lit("SD"))
    )
    out = rows.join(held.select("_i", "_held"), on="_i", how="left").sort("_i")
    if unconfirmed == "SD":
        # only while no earlier response of the episode has lasted: the last visits of a patient whose
        # response was confirmed stay null (not yet confirmed), not SD (which would read as a loss)
        lasted = (pl.col("iwcll_raw").is_in(RESPONSES) & pl.col("_held").is_in(RESPONSES)).fill_null(False)
        # and only while no PD follows (SD is "not exhibited PD"; the PD visit then decides)
        pd_later = (pl.col("iwcll_raw") == "PD").fill_null(False).cast(pl.Int8).cum_max(reverse=True)
        out = out.with_columns(
            _lasted=lasted.cast(pl.Int8).cum_max().over(KEYS).cast(pl.Boolean),
            _pd_later=pd_later.over(KEYS).cast(pl.Boolean),
        ).with_columns(
            _held=pl.when(pl.col("_held").is_null() & ~pl.col("_lasted") & ~pl.col("_pd_later"))
            .then(pl.lit("SD")).otherwise(pl.col("_held")))
    return (
        out.select(
            pl.when(pl.col("iwcll_raw").is_in(RESPONSES)).then(pl.col("_held")).otherwise(pl.col("iwcll_raw"))
        )
        .to_series()
        .alias("iwcll_response")
    )


def iwcll_best_response(responses: pl.DataFrame) -> pl.DataFrame:
    """Best overall response per episode from :func:`iwcll_responses`: patient_id, episode,
    best_response (CR > CRi > nPR > PR > PR-L > SD > PD, each lasting as ``[duration]`` asks),
    response_day (first day reached), umrd_cr (any CR/CRi with undetectable MRD)."""
    rank = iwcll_rank()
    r = responses.filter(pl.col("iwcll_response").is_not_null()).with_columns(
        _r=pl.col("iwcll_response").replace_strict(rank, return_dtype=pl.Int64)
    )
    best = (
        r.sort([*KEYS, "_r", "day"])
        .group_by(KEYS, maintain_order=True)
        .first()
        .select(*KEYS, pl.col("iwcll_response").alias("best_response"), pl.col("day").alias("response_day"))
    )
    umrd = responses.group_by(KEYS).agg(pl.col("umrd_cr").any())
    return best.join(umrd, on=KEYS, how="left").sort(KEYS)
