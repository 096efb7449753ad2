"""Multiple myeloma response by the IMWG 2016 criteria (Kumar S et al., Lancet Oncol 2016;17:e328).

Criteria: ``criteria/imwg_2016.toml`` (Table 2 of the paper; docs/criteria.md, "Response:
multiple myeloma, IMWG 2016"). :func:`imwg_responses` derives the response at every
assessment of every episode in one vectorised pass:

* Baseline: per parameter, the latest value on or before day 0 of the episode. Measurable
  disease: serum M-protein >= 1 g/dL, urine M-protein >= 200 mg/24 h, or involved FLC >= 10
  mg/dL (100 mg/L) with an abnormal kappa/lambda ratio. Serum and urine are followed when
  measurable; the FLC difference (involved - uninvolved) only when neither is; marrow plasma
  cells only when none of the three is and the baseline marrow holds >= 30%.
* At each later assessment: PD from the nadir (lowest value so far, baseline included) with the
  absolute thresholds; else sCR, CR, VGPR, PR, MR, SD. A patient without measurable disease
  gets CR/sCR or PD only (null otherwise: not evaluable); so does an assessment where none of the
  followed parameters was measured.
* ``confirm=True`` (the paper's rule): a category holds when an adjacent assessment (the one
  before or after) reaches it too: the worse of the pair counts (a PD neighbour counts as SD),
  the better of the two pairs wins. PD needs a second consecutive PD, except PD by new lesions,
  plasmacytoma growth or marrow; an unconfirmed PD is SD, or null (pending) when it is the last
  assessment. A lone assessment has no confirmed response (null), except SD.
* MRD negativity: a negative result at a sensitivity of 10^-5 or better; "MRD-negative CR" is a
  confirmed CR/sCR with the latest MRD negative.

Input columns (missing ones are taken as not measured): patient_id, episode, day,
serum_m_protein (g/dL), urine_m_protein (mg/24 h), flc_kappa, flc_lambda (mg/L), serum_ife,
urine_ife ("positive"/"negative"), marrow_pc_pct, clonal_pc (bool), plasmacytoma_spd_mm2,
new_lesions (bool), mrd_result ("positive"/"negative"), mrd_sensitivity (e.g. 1e-5).

    >>> import polars as pl
    >>> a = pl.DataFrame({"patient_id": ["p"] * 3, "episode": [1] * 3, "day": [0, 28, 56],
    ...                   "serum_m_protein": [3.0, 1.4, 1.2]})
    >>> imwg_responses(a)["imwg_response"].to_list()    # 53% then 60% reduction: PR confirmed at day 28
    ['PR', 'PR']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from cartkit.grading.criteria_data import read_criteria_file

CRITERIA = Path(__file__).with_name("criteria") / "imwg_2016.toml"
KEYS = ["patient_id", "episode"]
INPUTS: dict[str, pl.DataType] = {
    "serum_m_protein": pl.Float64(),
    "urine_m_protein": pl.Float64(),
    "flc_kappa": pl.Float64(),
    "flc_lambda": pl.Float64(),
    "serum_ife": pl.String(),
    "urine_ife": pl.String(),
    "marrow_pc_pct": pl.Float64(),
    "clonal_pc": pl.Boolean(),
    "plasmacytoma_spd_mm2": pl.Float64(),
    "new_lesions": pl.Boolean(),
    "mrd_result": pl.String(),
    "mrd_sensitivity": pl.Float64(),
}
# marrow and imaging are not repeated for confirmation (Table 2 footnote): carried forward
_CARRIED = ("marrow_pc_pct", "clonal_pc", "plasmacytoma_spd_mm2", "mrd_result", "mrd_sensitivity")
_NADIR = ("serum_m_protein", "urine_m_protein", "dflc", "marrow_pc_pct", "plasmacytoma_spd_mm2")


def imwg_criteria() -> dict[str, Any]:
    return read_criteria_file(CRITERIA)


def imwg_rank() -> dict[str, int]:
    """Category -> rank (1 = sCR, best) in the order of Table 2."""
    return {c: i + 1 for i, c in enumerate(imwg_criteria()["categories"])}


def _col(name: str) -> pl.Expr:
    return pl.col(name)


def imwg_responses(
    assessments: pl.DataFrame, *, confirm: bool | None = None, first_response_day: int = 1
) -> pl.DataFrame:
    """IMWG 2016 response at each assessment on or after ``first_response_day``.

    Returns patient_id, episode, day, imwg_followed ("serum", "urine", "serum+urine", "flc",
    "marrow" or "none"), imwg_raw (this assessment alone), imwg_response (confirmed when
    ``confirm``; default from the criteria file), imwg_confirmed, imwg_pd_reason, mrd_negative
    (the latest MRD test so far, negative at 10^-5 or better; null before any) and mrd_negative_cr.
    """
    c = imwg_criteria()
    if confirm is None:
        confirm = bool(c["confirmation"]["confirm"])
    ms, fr, cr, vg, pr, mr, pd = (c[k] for k in ("measurable", "flc_ratio", "cr", "vgpr", "pr", "mr", "pd"))
    df = assessments.with_columns(
        [pl.lit(None, dtype=t).alias(n) for n, t in INPUTS.items() if n not in assessments.columns]
    ).select(*KEYS, "day", *[pl.col(n).cast(t) for n, t in INPUTS.items()])
    df = df.filter(pl.col("day").is_not_null()).sort([*KEYS, "day"])
    out_schema = {
        "patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "imwg_followed": pl.String,
        "imwg_raw": pl.String, "imwg_response": pl.String, "imwg_confirmed": pl.Boolean,
        "imwg_pd_reason": pl.String, "mrd_negative": pl.Boolean, "mrd_negative_cr": pl.Boolean,
    }

    # --- baseline: per parameter, the latest non-null value on or before day 0
    base_cols = [n for n in INPUTS if n not in ("new_lesions",)]
    base = (
        df.filter(pl.col("day") <= 0)
        .group_by(KEYS)
        .agg(*[pl.col(n).drop_nulls().last().alias(f"{n}_0") for n in base_cols])
    )
    ratio0 = _col("flc_kappa_0") / _col("flc_lambda_0")
    base = base.with_columns(
        involved=pl.when(ratio0 > fr["normal_max"]).then(pl.lit("kappa"))
        .when(ratio0 < fr["normal_min"]).then(pl.lit("lambda"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    inv0 = pl.when(_col("involved") == "kappa").then(_col("flc_kappa_0")).otherwise(_col("flc_lambda_0"))
    base = base.with_columns(
        serum_meas=(_col("serum_m_protein_0") >= ms["serum_m_protein_g_dl"]).fill_null(False),
        urine_meas=(_col("urine_m_protein_0") >= ms["urine_m_protein_mg_24h"]).fill_null(False),
        flc_meas=(_col("involved").is_not_null() & (inv0 >= ms["involved_flc_mg_l"])).fill_null(False),
    ).with_columns(
        mprot=_col("serum_meas") | _col("urine_meas"),
    ).with_columns(
        flc_follow=~_col("mprot") & _col("flc_meas"),
        marrow_follow=(
            ~_col("mprot") & ~_col("flc_meas") & (_col("marrow_pc_pct_0") >= ms["marrow_pc_for_pr_pct"])
        ).fill_null(False),
    )
    # the baseline row of each episode (day = its latest baseline day) joins the later assessments
    base_day = df.filter(pl.col("day") <= 0).group_by(KEYS).agg(pl.col("day").max().alias("baseline_day"))
    base = base.join(base_day, on=KEYS)
    seq = df.join(base, on=KEYS, how="inner").filter(
        (pl.col("day") >= first_response_day) | (pl.col("day") == pl.col("baseline_day"))
    )
    # fill the baseline row with the baseline values (they may come from several days <= 0)
    seq = seq.with_columns(
        [
            pl.when(pl.col("day") == pl.col("baseline_day")).then(_col(f"{n}_0")).otherwise(_col(n)).alias(n)
            for n in base_cols
        ]
    ).sort([*KEYS, "day"])
    involved = pl.when(_col("involved") == "kappa").then(_col("flc_kappa")).otherwise(_col("flc_lambda"))
    uninvolved = pl.when(_col("involved") == "kappa").then(_col("flc_lambda")).otherwise(_col("flc_kappa"))
    seq = seq.with_columns(
        dflc=pl.when(_col("involved").is_not_null()).then(involved - uninvolved),
        marrow_now=_col("marrow_pc_pct"),
        plasm_now=_col("plasmacytoma_spd_mm2"),
    ).with_columns(
        # a screening (baseline) MRD result is not carried into the response assessments
        # (tests/test_imwg_baseline_mrd_not_carried.py); the baseline marrow is (nadirs, CR)
        [pl.when(pl.col("day") == pl.col("baseline_day")).then(None).otherwise(_col(n)).alias(n)
         for n in ("mrd_result", "mrd_sensitivity")]
    ).with_columns(
        [_col(n).forward_fill().over(KEYS).alias(n) for n in _CARRIED]
    )
    # nadir = the lowest value before this assessment, baseline included (marrow and plasmacytoma:
    # the measured values, not the carried ones)
    measured = {"marrow_pc_pct": "marrow_now", "plasmacytoma_spd_mm2": "plasm_now"}
    seq = seq.with_columns(
        [
            _col(measured.get(n, n)).cum_min().forward_fill().shift(1).over(KEYS).alias(f"{n}_nadir")
            for n in _NADIR
        ]
    )
    seq = seq.filter(pl.col("day") >= first_response_day).with_columns(
        dflc_0=pl.when(_col("involved") == "kappa")
        .then(_col("flc_kappa_0") - _col("flc_lambda_0"))
        .otherwise(_col("flc_lambda_0") - _col("flc_kappa_0"))
    )
    if seq.height == 0:
        return pl.DataFrame(schema=out_schema)

    def reduction(now: str, b: str) -> pl.Expr:
        return 1 - _col(now) / _col(b)

    red_s = reduction("serum_m_protein", "serum_m_protein_0")
    red_u = reduction("urine_m_protein", "urine_m_protein_0")
    red_d = reduction("dflc", "dflc_0")
    red_pc = reduction("marrow_pc_pct", "marrow_pc_pct_0")
    red_pl = reduction("plasmacytoma_spd_mm2", "plasmacytoma_spd_mm2_0")
    u = _col("urine_m_protein")
    has_plasm0 = (_col("plasmacytoma_spd_mm2_0") > 0).fill_null(False)

    def serum_ok(th: float) -> pl.Expr:
        return ~_col("serum_meas") | (red_s >= th).fill_null(False)

    def plasm_ok(th: float) -> pl.Expr:
        return ~has_plasm0 | (red_pl >= th).fill_null(False)

    urine_vgpr = ~_col("urine_meas") | (u < vg["max_urine_mg_24h"]).fill_null(False)
    urine_pr = ~_col("urine_meas") | ((red_u >= pr["min_urine_reduction"]) | (u < pr["max_urine_mg_24h"])).fill_null(
        False
    )
    urine_mr = ~_col("urine_meas") | (red_u >= mr["min_urine_reduction"]).fill_null(False)
    kl = _col("flc_kappa") / _col("flc_lambda")
    ratio_normal = ((kl >= fr["normal_min"]) & (kl <= fr["normal_max"])).fill_null(False)
    is_cr = (
        (_col("serum_ife") == "negative").fill_null(False)
        & (_col("urine_ife") == "negative").fill_null(False)
        & (_col("marrow_pc_pct") < cr["max_marrow_pc_pct"]).fill_null(False)
        & (~has_plasm0 | (_col("plasmacytoma_spd_mm2") == 0).fill_null(False))
        & (~_col("flc_follow") | ratio_normal | pl.lit(not cr["flc_only_requires_normal_ratio"]))
    )
    no_clonal = (
        (_col("clonal_pc") == pl.lit(False)).fill_null(False) if cr["scr_requires_no_clonal_cells"] else pl.lit(True)
    )
    is_scr = is_cr & ratio_normal & no_clonal
    is_vgpr = (
        (_col("mprot") & serum_ok(vg["min_serum_reduction"]) & urine_vgpr)
        | (_col("flc_follow") & (red_d >= vg["min_dflc_reduction"]).fill_null(False))
    ) & plasm_ok(pr["min_plasmacytoma_reduction"])
    is_pr = (
        (_col("mprot") & serum_ok(pr["min_serum_reduction"]) & urine_pr)
        | (_col("flc_follow") & (red_d >= pr["min_dflc_reduction"]).fill_null(False))
        | (_col("marrow_follow") & (red_pc >= pr["min_marrow_pc_reduction"]).fill_null(False))
    ) & plasm_ok(pr["min_plasmacytoma_reduction"])
    is_mr = _col("mprot") & serum_ok(mr["min_serum_reduction"]) & urine_mr & plasm_ok(mr["min_plasmacytoma_reduction"])

    inc = 1 + pd["min_increase"]

    def rise(now: str, nadir: str, abs_min: float, strict: bool = False) -> pl.Expr:
        step = _col(now) - _col(nadir)
        return ((_col(now) >= inc * _col(nadir)) & ((step > abs_min) if strict else (step >= abs_min))).fill_null(
            False
        )

    s_step = _col("serum_m_protein") - _col("serum_m_protein_nadir")
    pd_serum = rise("serum_m_protein", "serum_m_protein_nadir", pd["serum_min_abs_increase_g_dl"]) | (
        (_col("serum_m_protein_nadir") >= pd["serum_high_nadir_g_dl"])
        & (s_step >= pd["serum_high_nadir_min_abs_increase_g_dl"])
    ).fill_null(False)
    pd_urine = rise("urine_m_protein", "urine_m_protein_nadir", pd["urine_min_abs_increase_mg_24h"])
    pd_flc = ~_col("mprot") & rise("dflc", "dflc_nadir", pd["dflc_min_abs_increase_mg_l"], strict=True)
    pd_marrow = (
        ~_col("mprot") & ~_col("flc_meas") & rise("marrow_now", "marrow_pc_pct_nadir", pd["marrow_pc_min_abs_increase_pct"])
    )
    pd_plasm = (
        (_col("plasm_now") >= (1 + pd["plasmacytoma_min_increase"]) * _col("plasmacytoma_spd_mm2_nadir"))
        & (_col("plasm_now") > _col("plasmacytoma_spd_mm2_nadir"))
    ).fill_null(False)
    pd_new = _col("new_lesions").fill_null(False)
    reasons = pl.concat_str(
        [
            pl.when(pd_serum).then(pl.lit("serum M-protein")),
            pl.when(pd_urine).then(pl.lit("urine M-protein")),
            pl.when(pd_flc).then(pl.lit("FLC difference")),
            pl.when(pd_marrow).then(pl.lit("marrow plasma cells")),
            pl.when(pd_plasm).then(pl.lit("plasmacytoma")),
            pl.when(pd_new).then(pl.lit("new lesions")),
        ],
        separator=", ",
        ignore_nulls=True,
    )
    measurable = _col("mprot") | _col("flc_meas") | _col("marrow_follow")
    # an assessment where no followed parameter was measured is not evaluable (null), not SD
    measured_now = (
        (_col("serum_meas") & _col("serum_m_protein").is_not_null())
        | (_col("urine_meas") & _col("urine_m_protein").is_not_null())
        | (_col("flc_follow") & _col("dflc").is_not_null())
        | (_col("marrow_follow") & _col("marrow_now").is_not_null())
    )
    seq = seq.with_columns(
        imwg_pd_reason=pl.when(reasons != "").then(reasons),
        _pd_no_confirm=pd_marrow | pd_plasm | pd_new,
        imwg_raw=pl.when(pd_serum | pd_urine | pd_flc | pd_marrow | pd_plasm | pd_new)
        .then(pl.lit("PD"))
        .when(is_scr)
        .then(pl.lit("sCR"))
        .when(is_cr)
        .then(pl.lit("CR"))
        .when(~measurable | ~measured_now)
        .then(pl.lit(None, dtype=pl.String))
        .when(is_vgpr)
        .then(pl.lit("VGPR"))
        .when(is_pr)
        .then(pl.lit("PR"))
        .when(is_mr)
        .then(pl.lit("MR"))
        .otherwise(pl.lit("SD")),
        imwg_followed=pl.when(_col("mprot"))
        .then(
            pl.concat_str(
                [pl.when(_col("serum_meas")).then(pl.lit("serum")), pl.when(_col("urine_meas")).then(pl.lit("urine"))],
                separator="+",
                ignore_nulls=True,
            )
        )
        .when(_col("flc_meas"))
        .then(pl.lit("flc"))
        .when(_col("marrow_follow"))
        .then(pl.lit("marrow"))
        .otherwise(pl.lit("none")),
    )
    rank = imwg_rank()
    sd = rank["SD"]
    evaluable = seq.filter(pl.col("imwg_raw").is_not_null()).with_columns(
        _r=pl.col("imwg_raw").replace_strict(rank, return_dtype=pl.Int64)
    )
    prev = pl.col("_r").shift(1).over(KEYS)
    nxt = pl.col("_r").shift(-1).over(KEYS)
    to_label = {v: k for k, v in rank.items()}
    if confirm:
        # a category holds when an adjacent assessment (the one before or after) reaches it too: the
        # worse of the pair counts, a PD neighbour counting as SD; the best such pair wins
        def pair(other: pl.Expr) -> pl.Expr:
            capped = pl.when(other == rank["PD"]).then(pl.lit(sd)).otherwise(other)
            return pl.when(other.is_not_null()).then(pl.max_horizontal(pl.col("_r"), capped))

        pd_rank = rank["PD"]
        confirmed_rank = (
            pl.when(pl.col("_r") == pd_rank)
            .then(
                pl.when(pl.col("_pd_no_confirm") | (nxt == pd_rank) | (prev == pd_rank))
                .then(pl.lit(pd_rank))
                .when(nxt.is_not_null())
                .then(pl.lit(sd))
            )
            .when(prev.is_null() & nxt.is_null())
            .then(pl.when(pl.col("_r") == sd).then(pl.lit(sd)))
            .otherwise(pl.min_horizontal(pair(prev), pair(nxt)))
        )
    else:
        confirmed_rank = pl.col("_r")
    evaluable = evaluable.with_columns(_c=confirmed_rank).with_columns(
        imwg_response=pl.col("_c").replace_strict(to_label, default=None, return_dtype=pl.String)
    ).select(*KEYS, "day", "imwg_response")
    seq = seq.join(evaluable, on=[*KEYS, "day"], how="left")
    mrd_now = (
        pl.when(pl.col("mrd_result").is_null())
        .then(pl.lit(None, dtype=pl.Boolean))
        .otherwise(
            (pl.col("mrd_result") == "negative")
            & (pl.col("mrd_sensitivity") <= c["mrd"]["max_sensitivity"]).fill_null(False)
        )
    )
    return seq.with_columns(mrd_negative=mrd_now).select(
        *KEYS,
        "day",
        "imwg_followed",
        "imwg_raw",
        "imwg_response",
        pl.when(pl.col("imwg_response").is_null())
        .then(pl.lit(None, dtype=pl.Boolean))
        .otherwise(pl.col("imwg_response") == pl.col("imwg_raw"))
        .alias("imwg_confirmed"),
        "imwg_pd_reason",
        "mrd_negative",
        (pl.col("imwg_response").is_in(["sCR", "CR"]) & pl.col("mrd_negative").fill_null(False)).alias(
            "mrd_negative_cr"
        ),
    ).sort([*KEYS, "day"])


def imwg_best_response(responses: pl.DataFrame) -> pl.DataFrame:
    """Best overall response per episode from :func:`imwg_responses`: patient_id, episode,
    best_response (best confirmed category, Table 2 order), response_day (first day reached),
    mrd_negative_cr (any MRD-negative CR/sCR)."""
    rank = imwg_rank()
    r = responses.filter(pl.col("imwg_response").is_not_null()).with_columns(
        _r=pl.col("imwg_response").replace_strict(rank, return_dtype=pl.Int64)
    )
    best = (
        r.sort([*KEYS, "_r", "day"])
        .group_by(KEYS, maintain_order=True)
        .first()
        .select(*KEYS, pl.col("imwg_response").alias("best_response"), pl.col("day").alias("response_day"))
    )
    mrd = responses.group_by(KEYS).agg(pl.col("mrd_negative_cr").any())
    return best.join(mrd, on=KEYS, how="left").sort(KEYS)
