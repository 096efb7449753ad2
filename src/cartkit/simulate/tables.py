"""Study tables (``cartkit.study.schema``) from a simulated cohort, one chunk of patients at a time.

Each builder takes the cohort, the range of patients of the chunk and returns
a Polars frame with exactly the schema's columns, in schema order, with the
dtypes ``load_study`` produces. Rows after a patient's observation end
(death, loss to follow-up, data cut-off) are never written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from cartkit.simulate import cll, cohort, counts, kinetics, myeloma, toxicity
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, STR, TABLES
from cartkit.study.vocabulary import UNIT_CONVERSIONS

_DTYPES = {STR: pl.String, INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, DATE: pl.Date}


def frame(table: str, columns: dict[str, object], n: int) -> pl.DataFrame:
    """A frame with the schema's columns of ``table``; columns not given are null."""
    out = []
    for col in TABLES[table].columns:
        dtype = _DTYPES[col.dtype]
        value = columns.get(col.name)
        if value is None:
            out.append(pl.Series(col.name, [None] * n, dtype=dtype) if n else pl.Series(col.name, [], dtype))
        elif isinstance(value, pl.Series):
            out.append(value.alias(col.name).cast(dtype))
        elif col.dtype == DATE:
            out.append(pl.Series(col.name, np.asarray(value, dtype=np.int32)).cast(pl.Date))
        else:
            arr = np.asarray(value)
            if col.dtype == FLOAT and arr.dtype.kind == "f":
                out.append(pl.Series(col.name, arr, dtype=pl.Float64, nan_to_null=True))
            else:
                out.append(pl.Series(col.name, arr).cast(dtype))
    return pl.DataFrame(out)


def _strings(values: list[str] | tuple[str, ...] | np.ndarray, codes: np.ndarray) -> pl.Series:
    """Strings by integer code, built without a Python loop over rows."""
    return pl.Series(list(values), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))


def _nullable_strings(values, codes: np.ndarray, present: np.ndarray) -> pl.Series:
    s = _strings(values, np.where(present, codes, 0))
    return pl.select(pl.when(pl.Series(present)).then(s).otherwise(None)).to_series()


class Chunk:
    """The patients [p0, p1) of a cohort and their episodes."""

    def __init__(self, pat: dict, eps: dict, ids: pl.Series, p0: int, p1: int):
        self.pat = pat
        self.ids = ids
        self.p0, self.p1 = p0, p1
        e0, e1 = np.searchsorted(eps["pidx"], [p0, p1])
        self.e = _slice(eps, e0, e1)
        self.ne = e1 - e0

    def patient_ids(self, ep_rows: np.ndarray) -> pl.Series:
        return self.ids.gather(self.e["pidx"][ep_rows])


def _slice(d, a, b):
    if isinstance(d, dict):
        return {k: _slice(v, a, b) for k, v in d.items()}
    return d[a:b]


# --------------------------------------------------------------------------- patients, infusions

SUBTYPES = ("GCB", "non-GCB", "common B", "common B (Ph+)", "pro-B", "IgG", "IgA", "light chain",
            "IGHV unmutated", "IGHV mutated")
DIAGNOSES = ("DLBCL", "B-ALL", "MM", "CLL")  # codes: patients' "dx" (disease cohorts, simulate/designs.py)
STAGES = ("I", "II", "III", "IV")


def patients(c: Chunk) -> pl.DataFrame:
    p = {k: v[c.p0 : c.p1] for k, v in c.pat.items()}
    n = c.p1 - c.p0
    is_all = p["is_all"]
    dx = p["dx"] if "dx" in p else is_all.astype(np.int64)
    other = dx >= 2  # myeloma, CLL: no Ann Arbor stage or IPI
    return frame(
        "patients",
        {
            "patient_id": c.ids.slice(c.p0, n),
            "age": p["age"],
            "sex": _strings(("female", "male"), p["male"].astype(np.int64)),
            "diagnosis": _strings(DIAGNOSES, dx),
            "subtype": _strings(SUBTYPES, p["subtype"]),
            "stage": _nullable_strings(STAGES, p["stage"], ~is_all & ~other),
            "disease_status": _strings(("relapsed", "refractory"), p["refractory"].astype(np.int64)),
            "ipi": pl.Series(p["ipi"]).set(pl.Series(is_all | other), None),
            "marrow_blasts_pct": np.where(is_all, p["blasts"], np.nan),
            "prior_lines": p["prior"],
            "weight_kg": p["weight"],
            **_milestone_columns(p),
        },
        n,
    )


def _days_or_null(values: np.ndarray) -> pl.Series:
    """Days since 1970 as dates; ``cohort.NEVER`` (not happened) as null."""
    return pl.Series(np.where(values < cohort.NEVER, values, 0)).set(pl.Series(values >= cohort.NEVER), None).cast(
        pl.Date)


def _milestone_columns(p: dict) -> dict:
    """Enrolment, leukapheresis, randomisation, arm, never-infused reason, per protocol (simulate/designs.py);
    absent from the sequential design, whose patients table leaves them empty."""
    from cartkit.simulate.designs import ARMS, NEVER_INFUSED_REASONS

    if "enrolment" not in p:
        return {}
    out = {"enrolment_date": _days_or_null(p["enrolment"]), "leukapheresis_date": _days_or_null(p["leukapheresis"]),
           "randomisation_date": _days_or_null(p["randomisation"]), "per_protocol": p["per_protocol"],
           "never_infused_reason": _nullable_strings(NEVER_INFUSED_REASONS, p["never_reason"], p["never_reason"] >= 0)}
    if (p["arm"] >= 0).any():
        out["arm"] = _nullable_strings(ARMS, p["arm"], p["arm"] >= 0)
    return out


def infusions(c: Chunk) -> pl.DataFrame:
    e = c.e
    rows = np.arange(c.ne)
    cd22 = e["product_code"] if "product_code" in e else e["cd22"].astype(np.int64)
    return frame(
        "infusions",
        {
            "patient_id": c.patient_ids(rows),
            "episode": e["episode"],
            "product": _strings(cohort.PRODUCTS, cd22),
            "target": _strings(cohort.TARGETS, cd22),
            "infusion_date": e["infusion"],
            "dose_1e6_per_kg": e["dose"],
            "transduction_pct": e["transduction"],
            "harvest_1e6_per_kg": e["harvest"],
            "lymphodepletion": _strings((cohort.LYMPHODEPLETION,), np.zeros(c.ne, dtype=np.int64)),
        },
        c.ne,
    )


# --------------------------------------------------------------------------- measurements

# analyte code -> (alternative unit, decimals written in it, exact): with ``exact`` a row is
# only rewritten when converting back gives the very same canonical value, so that values
# that drive recorded grades and responses (counts, haemoglobin, temperature) never move.
ALTERNATIVE_UNITS = {
    "anc": ("cells/uL", 0, True),
    "alc": ("cells/uL", 0, True),
    "wbc": ("cells/uL", 0, True),
    "platelets": ("10^3/uL", 0, True),
    "hemoglobin": ("g/dL", 1, True),
    "temperature": ("F", 1, True),
    "crp": ("mg/dL", 2, False),
    "creatinine": ("mg/dL", 2, False),
    "ferritin": ("ug/L", 0, False),
}
UNIT_VARIETY_FRACTION = 0.05


def _measurement_blocks(c: Chunk):
    """(analyte, unit, days, values episodes x days, lloq or None) for every analyte simulated."""
    e = c.e
    for code in ("car_t_pct_cd3", "car_dna"):
        lloq = kinetics.CAR_T_PCT_LLOQ if code == "car_t_pct_cd3" else kinetics.CAR_DNA_LLOQ
        yield code, kinetics.kinetic_days(e["kinetics"][code]), e["kinetics"][code], lloq
    for code in kinetics.CYTOKINES:
        yield code, kinetics.kinetic_days(e["cytokines"][code]), e["cytokines"][code], None
    for code in ("temperature", "sbp"):
        yield code, toxicity.VITAL_DAYS, e["vitals"][code], None
    for code in ("wbc", "anc", "alc", "platelets", "hemoglobin"):
        yield code, counts.COUNT_DAYS, e["counts"][code], None
    for code in counts.CHEMISTRY:
        yield code, np.array([counts.BASELINE_DAY]), e["chemistry"][code][:, None], None
    yield from _disease_blocks(e)


def _disease_blocks(e: dict):
    """Myeloma: M-protein and free light chains on the IMWG assessment days (urine at baseline for all,
    later only where it is followed); CLL: blood counts on the iwCLL assessment days after the count
    grid. NaN: not measured (no row)."""
    if "myeloma" in e:
        mm = e["myeloma"]
        days, seen = myeloma.DAYS, mm["scheduled"]
        urine = seen & (mm["urine_followed"][:, None] | (days[None, :] <= 0))
        yield "serum_m_protein", days, np.where(seen, mm["serum"], np.nan), None
        yield "urine_m_protein", days, np.where(urine, mm["urine"], np.nan), None
        yield "flc_kappa", days, np.where(seen, mm["kappa"], np.nan), None
        yield "flc_lambda", days, np.where(seen, mm["lambda"], np.nan), None
    if "cll" in e:
        cl = e["cll"]
        days = cll.DAYS
        keep = cl["scheduled"] & (days[None, :] > counts.COUNT_DAYS[-1])
        for code in ("alc", "platelets", "hemoglobin", "anc"):
            yield code, days, np.where(keep, cl[code], np.nan), None


def measurements(c: Chunk, rng: np.random.Generator | None = None) -> pl.DataFrame:
    """Long measurements; with ``rng`` a few rows are written in alternative units."""
    from cartkit.study.vocabulary import ANALYTES

    e = c.e
    parts = {k: [] for k in ("ep", "day", "code", "value", "blq", "lloq")}
    codes = []
    for i, (code, days, values, lloq) in enumerate(_measurement_blocks(c)):
        codes.append(code)
        observed = days[None, :] <= e["end_day"][:, None]
        if lloq is None:  # NaN: not measured (a quantified analyte's NaN is below its LLOQ)
            observed &= ~np.isnan(values)
        r, j = np.nonzero(observed)
        v = values[r, j]
        parts["ep"].append(r)
        parts["day"].append(days[j])
        parts["code"].append(np.full(r.size, i, dtype=np.int64))
        parts["value"].append(v)
        blq = np.isnan(v) if lloq is not None else np.zeros(r.size, dtype=bool)
        parts["blq"].append(blq)
        parts["lloq"].append(np.full(r.size, np.nan if lloq is None else lloq))
    a = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((a["day"], a["code"], a["ep"]))
    a = {k: v[order] for k, v in a.items()}
    units = [ANALYTES[code].unit for code in codes]
    unit_codes = a["code"].copy()
    unit_names = list(units)
    if rng is not None:
        a["value"], unit_codes, unit_names = _vary_units(rng, codes, a["code"], a["value"], units)
    n = a["ep"].size
    return frame(
        "measurements",
        {
            "patient_id": c.patient_ids(a["ep"]),
            "episode": e["episode"][a["ep"]],
            "day": a["day"],
            "date": e["infusion"][a["ep"]] + a["day"],
            "analyte": _strings(codes, a["code"]),
            "value": a["value"],
            "unit": _strings(unit_names, unit_codes),
            "blq": a["blq"],
            "lloq": a["lloq"],
        },
        n,
    )


def _vary_units(rng, codes, code_idx, value, units):
    """Rewrite ~5% of the convertible rows in an alternative unit (see ``ALTERNATIVE_UNITS``)."""
    value = value.copy()
    unit_codes = code_idx.copy()
    names = list(units)
    pick = rng.random(value.size) < UNIT_VARIETY_FRACTION
    for i, code in enumerate(codes):
        if code not in ALTERNATIVE_UNITS:
            continue
        alt, decimals, exact_only = ALTERNATIVE_UNITS[code]
        factor, offset = UNIT_CONVERSIONS[code][alt]
        sel = pick & (code_idx == i) & ~np.isnan(value)
        alt_value = np.round((value[sel] - offset) / factor, decimals)
        exact = (alt_value * factor + offset == value[sel]) | (not exact_only)
        rows = np.flatnonzero(sel)[exact]
        value[rows] = alt_value[exact]
        names.append(alt)
        unit_codes[rows] = len(names) - 1
    return value, unit_codes, names


# --------------------------------------------------------------------------- supportive care


def support(c: Chunk) -> pl.DataFrame:
    e = c.e
    course, choice = e["course"], e["support"]
    days = toxicity.VITAL_DAYS[None, :]
    seen = days <= e["end_day"][:, None]
    weight = c.pat["weight"][e["pidx"]]
    g = e["crs_grade"]
    toci_day = np.where(g >= 2, e["crs_sev_start"], e["crs_onset"])
    toci = choice["tocilizumab"][:, None] & (days == toci_day[:, None])
    toci |= choice["tocilizumab_repeat"][:, None] & (days == toci_day[:, None] + 1)
    steroid = ((course["hypo"] >= 3) | (course["oxy"] >= 3)) | (
        course["icans"] & (e["icans_grade"] >= 2)[:, None]
    )
    # (kind, agent, mask, dose per episode, dose unit)
    blocks = [
        (
            "antipyretic",
            "paracetamol",
            course["fever"] & choice["antipyretic_p"],
            np.minimum(1000.0, np.round(15.0 * weight / 50) * 50),
            "mg",
        ),
        ("tocilizumab", "tocilizumab", toci, np.minimum(800.0, np.round(8.0 * weight)), "mg"),
        ("steroid", "dexamethasone", steroid, np.full(c.ne, 10.0), "mg"),
        ("fluids", "normal saline", course["hypo"] >= 2, np.full(c.ne, 1000.0), "mL"),
        ("vasopressor", "norepinephrine", course["hypo"] >= 3, np.round(2 + 0.12 * weight), "ug/min"),
        ("vasopressor", "epinephrine", course["hypo"] >= 4, np.round(1 + 0.05 * weight), "ug/min"),
        (
            "vasopressin",
            "vasopressin",
            (course["hypo"] == 3) & choice["vasopressin"][:, None],
            np.full(c.ne, 0.03),
            "U/min",
        ),
        ("oxygen", "oxygen", course["oxy"] >= 2, np.full(c.ne, np.nan), None),
    ]
    parts = {k: [] for k in ("ep", "day", "block")}
    for b, (_kind, _agent, mask, _dose, _unit) in enumerate(blocks):
        r, j = np.nonzero(mask & seen)
        parts["ep"].append(r)
        parts["day"].append(toxicity.VITAL_DAYS[j])
        parts["block"].append(np.full(r.size, b, dtype=np.int64))
    a = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((a["block"], a["day"], a["ep"]))
    ep, day, block = a["ep"][order], a["day"][order], a["block"][order]
    dose = np.full(ep.size, np.nan)
    for b, (*_x, d, _u) in enumerate(blocks):
        sel = block == b
        dose[sel] = d[ep[sel]]
    units = [u or "" for (*_x, u) in blocks]
    oxygen = block == len(blocks) - 1
    device_code = choice["o2_device"][ep]
    return frame(
        "support",
        {
            "patient_id": c.patient_ids(ep),
            "episode": e["episode"][ep],
            "day": day,
            "date": e["infusion"][ep] + day,
            "kind": _strings([k for (k, *_x) in blocks], block),
            "agent": _strings([a_ for (_k, a_, *_x) in blocks], block),
            "dose": dose,
            "dose_unit": _nullable_strings(units, block, ~oxygen),
            "o2_device": _nullable_strings(
                ["", *toxicity.OXYGEN_DEVICE_NAMES], device_code, oxygen & (device_code > 0)
            ),
            "o2_flow_l_min": np.where(oxygen, choice["o2_flow"][ep], np.nan),
            "fio2_pct": np.where(oxygen, choice["fio2"][ep], np.nan),
        },
        ep.size,
    )


# --------------------------------------------------------------------------- neurological assessments


def neuro(c: Chunk) -> pl.DataFrame:
    e = c.e
    nz = e["neuro"]
    days = toxicity.VITAL_DAYS
    r, j = np.nonzero(days[None, :] <= e["end_day"][:, None])
    return frame(
        "neuro",
        {
            "patient_id": c.patient_ids(r),
            "episode": e["episode"][r],
            "day": days[j],
            "date": e["infusion"][r] + days[j],
            "ice_score": pl.Series(nz["ice"][r, j], nan_to_null=True).cast(pl.Int64),
            "consciousness": _strings(toxicity.CONSCIOUSNESS, nz["consciousness"][r, j]),
            "seizure": _strings(toxicity.SEIZURE, nz["seizure"][r, j]),
            "motor": _strings(toxicity.MOTOR, nz["motor"][r, j]),
            "raised_icp": _strings(toxicity.RAISED_ICP, nz["raised_icp"][r, j]),
        },
        r.size,
    )


# --------------------------------------------------------------------------- response assessments

LYMPHOMA_DAYS = (-14, 30, 90)  # baseline PET-CT, then days 30 and 90 (plan.response_days)
ALL_DAYS = (-7, 28)  # baseline marrow, then day 28
UPTAKE = ("decreased", "unchanged", "increased")


def assessments(c: Chunk) -> pl.DataFrame:
    """PET-CT (lymphoma) and marrow (B-ALL) assessments consistent with the recorded response.

    Lugano 2014 (docs/criteria.md, "Response: Lugano 2014"): CR = Deauville 1-3, no new lesions; PR =
    Deauville 4-5 with decreased uptake; SD = 4-5 unchanged; PD = 4-5 increased and/or
    new lesions. B-ALL (section 8): CR/CRi = marrow blasts < 5%, no circulating blasts
    or extramedullary disease, CR with ANC >= 1.0 and platelets >= 100 x 10^9/L.
    """
    e = c.e
    if "myeloma" in e:
        return _myeloma_assessments(c)
    if "cll" in e:
        return _cll_assessments(c)
    u = e["assess"]
    is_all = e["is_all"]
    end = e["end_day"]
    prog = e["prog"]
    lym = ~is_all
    # baseline SPD (mm2) per episode, lognormal around 3000
    spd0 = np.round(3000.0 * np.exp(0.8 * (u[:, 0] - 0.5) * 3.4))
    blocks = []  # (episode mask, day, response strings array or None)
    blocks.append((lym, LYMPHOMA_DAYS[0], None))
    blocks.append((lym & (end >= 30), 30, e["r30"]))
    r90 = np.where(prog <= 90, "PD", e["r90"])
    blocks.append((lym & (end >= 90) & (prog >= 90) & (e["r30"] != "PD"), 90, r90))
    blocks.append((is_all, ALL_DAYS[0], None))
    blocks.append((is_all & (end >= 28), 28, e["best"]))
    frames = []
    for mask, day, resp in blocks:
        r = np.flatnonzero(mask)
        k = r.size
        cols = {
            "patient_id": c.patient_ids(r),
            "episode": e["episode"][r],
            "day": np.full(k, day),
            "date": e["infusion"][r] + day,
        }
        ua = u[r] if day != 90 else 1.0 - u[r]
        if day in LYMPHOMA_DAYS:
            cols["method"] = _strings(("pet_ct",), np.zeros(k, dtype=np.int64))
            if resp is None:
                cols["deauville"] = np.where(ua[:, 1] < 0.7, 5, 4)
                cols["spd_mm2"] = spd0[r]
            else:
                rr = resp[r]
                cr, pr, sd = rr == "CR", rr == "PR", rr == "SD"
                cols["response"] = pl.Series(rr, dtype=pl.String)
                cols["deauville"] = np.where(
                    cr,
                    1 + np.floor(ua[:, 2] * 3),
                    np.where(pr | sd, 4 + (ua[:, 2] < 0.4), 5 - (ua[:, 2] < 0.2)),
                ).astype(np.int64)
                cols["uptake_vs_baseline"] = _strings(UPTAKE, np.where(cr | pr, 0, np.where(sd, 1, 2)))
                cols["new_lesions"] = ~(cr | pr | sd) & (ua[:, 3] < 0.5)
                frac = np.select(
                    [cr, pr, sd],
                    [0.2 * ua[:, 4], 0.2 + 0.3 * ua[:, 4], 0.55 + 0.65 * ua[:, 4]],
                    1.5 + 1.5 * ua[:, 4],
                )
                cols["spd_mm2"] = np.round(spd0[r] * frac)
        else:
            cols["method"] = _strings(("marrow",), np.zeros(k, dtype=np.int64))
            second = e["cd22"][r]
            if resp is None:
                blasts = np.where(second, np.round(10 + 80 * ua[:, 1], 1), c.pat["blasts"][e["pidx"][r]])
                cols["marrow_blasts_pct"] = blasts
                # CD19 on the blasts before the CD22 product follows the CD19-episode relapse (seed Fig 1)
                previous = np.maximum(r - 1, 0)
                cd19_negative = second & (e["prog_detail"][previous] == 2)
                cols["cd19_pct"] = np.round(
                    np.where(
                        cd19_negative, 10 * ua[:, 3], np.where(second, 20 + 75 * ua[:, 3], 85 + 15 * ua[:, 3])
                    ),
                    1,
                )
                cols["cd22_pct"] = np.round(np.where(second, 70 + 30 * ua[:, 4], 60 + 40 * ua[:, 4]), 1)
            else:
                rr = resp[r]
                nr = rr == "NR"
                cols["response"] = pl.Series(rr, dtype=pl.String)
                cols["marrow_blasts_pct"] = np.round(np.where(nr, 5 + 85 * ua[:, 1], 4.9 * ua[:, 1]), 1)
                cols["circulating_blasts"] = nr & (ua[:, 2] < 0.6)
                cols["extramedullary"] = nr & (ua[:, 3] < 0.1)
                cols["anc"] = e["counts"]["anc"][r, -1]
                cols["platelets"] = e["counts"]["platelets"][r, -1]
                mrd_neg = ua[:, 4] < 0.7
                cols["mrd_pct"] = np.where(
                    nr,
                    cols["marrow_blasts_pct"],
                    np.round(np.where(mrd_neg, 0.0099 * ua[:, 5], 0.01 + 2 * ua[:, 5]), 4),
                )
                cols["cd19_pct"] = np.where(nr & ~second, np.round(80 + 20 * ua[:, 6], 1), np.nan)
                cols["cd22_pct"] = np.where(nr & second, np.round(60 + 40 * ua[:, 6], 1), np.nan)
        frames.append(frame("assessments", cols, k))
    if "soc_response" in c.pat:
        frames.append(_soc_assessments(c))
    out = pl.concat(frames)
    return out.sort(["patient_id", "episode", "day"], maintain_order=True) if out.height else out


def _soc_assessments(c: Chunk) -> pl.DataFrame:
    """The standard-of-care arm's response (simulate/designs.py ``_soc_responses``): one PET-CT of the
    randomised treatment, episode 0, its day from randomisation; Deauville and uptake as Lugano 2014 reads
    the recorded response (CR Deauville 2; PR 4 decreased; SD 4 unchanged; PD 5 increased)."""
    from cartkit.simulate.designs import SOC_RESPONSES

    code = c.pat["soc_response"][c.p0 : c.p1]
    r = np.flatnonzero(code >= 0)
    code = code[r]
    date = c.pat["soc_response_day"][c.p0 : c.p1][r]
    return frame("assessments", {
        "patient_id": c.ids.slice(c.p0, c.p1 - c.p0).gather(r), "episode": np.zeros(r.size, dtype=np.int64),
        "day": date - c.pat["randomisation"][c.p0 : c.p1][r], "date": date,
        "method": _strings(("pet_ct",), np.zeros(r.size, dtype=np.int64)),
        "response": _strings(SOC_RESPONSES, code),
        "deauville": np.select([code == 0, code == 3], [2, 5], 4),
        "uptake_vs_baseline": _strings(UPTAKE, np.select([code <= 1, code == 2], [0, 1], 2)),
        "new_lesions": code == 3,
    }, r.size)


def _grid_rows(c: Chunk, block: dict, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(episode rows, day columns) of a disease's assessment grid (``days``: the module's ``DAYS``, not a
    per-episode array, so it is not cut by the chunk) seen before the observation end."""
    seen = block["scheduled"] & (days[None, :] <= c.e["end_day"][:, None])
    return np.nonzero(seen)


def _nullable(values: np.ndarray, present: np.ndarray, dtype=pl.Boolean) -> pl.Series:
    return pl.Series(values).cast(dtype).set(pl.Series(~present), None)


def _recorded(a: pl.DataFrame, labs: pl.DataFrame, diagnosis: str, better: np.ndarray) -> pl.DataFrame:
    """``a`` with the response cartkit derives from the values written (IMWG 2016 / iwCLL 2018), a few
    recorded one category better (``better``: the next better of the criteria's ``categories``, so an iwCLL PR
    recorded better is nPR and an SD is PR-L), none at baseline."""
    from cartkit.derive.response import imwg_from_study, iwcll_from_study
    from cartkit.response.imwg import imwg_criteria
    from cartkit.response.iwcll import iwcll_criteria
    from cartkit.study.model import Plan, Study, StudyMeta

    patients = a.select("patient_id").unique().with_columns(diagnosis=pl.lit(diagnosis))
    study = Study(Path("."), StudyMeta("simulated"), Plan(), {"patients": patients, "assessments": a,
                                                                "measurements": labs})
    # "one better" in the criteria file's own order of categories, best first (imwg_2016.toml, iwcll_2018.toml)
    if diagnosis == "MM":
        derived = imwg_from_study(study).select("patient_id", "episode", "day", pl.col("imwg_response").alias("_r"))
        order = list(imwg_criteria()["categories"])
    else:
        derived = iwcll_from_study(study).select("patient_id", "episode", "day", pl.col("iwcll_response").alias("_r"))
        order = list(iwcll_criteria()["categories"])
    one_better = {b: order[max(i - 1, 0)] for i, b in enumerate(order) if b != "PD"}
    out = a.with_columns(_better=pl.Series(better)).join(derived, on=["patient_id", "episode", "day"], how="left")
    recorded = pl.when(pl.col("_better")).then(pl.col("_r").replace(one_better)).otherwise(pl.col("_r"))
    return out.with_columns(response=pl.when(pl.col("day") > 0).then(recorded)).select(a.columns)


def _labs(c: Chunk, r: np.ndarray, day: np.ndarray, values: dict[str, np.ndarray]) -> pl.DataFrame:
    """Long (patient_id, episode, day, time, analyte, value) rows of the measured (non-NaN) values."""
    frames = []
    for code, v in values.items():
        keep = ~np.isnan(v)
        frames.append(pl.DataFrame({
            "patient_id": c.patient_ids(r[keep]), "episode": pl.Series(c.e["episode"][r[keep]], dtype=pl.Int64),
            "day": pl.Series(day[keep], dtype=pl.Int64), "time": pl.Series([None] * int(keep.sum()), dtype=pl.String),
            "analyte": pl.Series([code] * int(keep.sum()), dtype=pl.String),
            "value": pl.Series(v[keep], dtype=pl.Float64),
        }))
    return pl.concat(frames)


def _myeloma_assessments(c: Chunk) -> pl.DataFrame:
    """IMWG assessments (simulate/myeloma.py) with the immunofixation, marrow, plasmacytoma and MRD
    columns; the recorded response is the derived one (``_recorded``)."""
    e = c.e
    mm = e["myeloma"]
    r, j = _grid_rows(c, mm, myeloma.DAYS)
    day = myeloma.DAYS[j]
    k = r.size
    marrow = mm["marrow"][r, j]
    mrd = mm["mrd_days"][r, j]
    cols = {
        "patient_id": c.patient_ids(r), "episode": e["episode"][r], "day": day, "date": e["infusion"][r] + day,
        "method": _strings(("imwg",), np.zeros(k, dtype=np.int64)),
        "serum_ife": _strings(("positive", "negative"), mm["ife_negative"][r, j].astype(np.int64)),
        "urine_ife": _strings(("positive", "negative"), mm["ife_negative"][r, j].astype(np.int64)),
        "marrow_pc_pct": marrow,
        "clonal_pc": _nullable(mm["clonal"][r, j] == 1, ~np.isnan(marrow)),
        "plasmacytoma_spd_mm2": mm["plasmacytoma"][r, j],
        "new_lesions": mm["new_lesions"][r, j],
        "mrd_result": _nullable_strings(("positive", "negative"), mm["mrd_negative"][r, j].astype(np.int64), mrd),
        "mrd_sensitivity": np.where(mrd, mm["mrd_sensitivity"][r], np.nan),
    }
    a = frame("assessments", cols, k)
    if not k:
        return a
    urine = mm["urine_followed"][r] | (day <= 0)
    labs = _labs(c, r, day, {"serum_m_protein": mm["serum"][r, j],
                             "urine_m_protein": np.where(urine, mm["urine"][r, j], np.nan),
                             "flc_kappa": mm["kappa"][r, j], "flc_lambda": mm["lambda"][r, j]})
    return _recorded(a, labs, "MM", mm["recorded_better"][r, j])


def _cll_assessments(c: Chunk) -> pl.DataFrame:
    """iwCLL assessments (simulate/cll.py): nodes, spleen, liver, symptoms, marrow and MRD; blood counts
    are measurements (the grid's up to day 0, then the assessment days'); the recorded response is the
    derived one (``_recorded``)."""
    e = c.e
    cl = e["cll"]
    r, j = _grid_rows(c, cl, cll.DAYS)
    day = cll.DAYS[j]
    k = r.size
    marrow = cl["marrow"][r, j]
    cols = {
        "patient_id": c.patient_ids(r), "episode": e["episode"][r], "day": day, "date": e["infusion"][r] + day,
        "method": _strings(("iwcll",), np.zeros(k, dtype=np.int64)),
        "node_max_ldi_mm": cl["ldi"][r, j], "spd_mm2": cl["spd"][r, j], "spleen_cm": cl["spleen"][r, j],
        "liver_cm": cl["liver"][r, j], "b_symptoms": cl["symptoms"][r, j],
        "marrow_cll_pct": marrow, "marrow_nodules": _nullable(cl["nodules"][r, j], ~np.isnan(marrow)),
        "mrd_pct": cl["mrd_pct"][r, j], "new_lesions": cl["new_lesions"][r, j],
    }
    a = frame("assessments", cols, k)
    if not k:
        return a
    codes = ("alc", "platelets", "hemoglobin", "anc")
    keep = day > counts.COUNT_DAYS[-1]
    labs = [_labs(c, r[keep], day[keep], {code: cl[code][r, j][keep] for code in codes})]
    gr, gj = np.nonzero((counts.COUNT_DAYS[None, :] <= 0) & (counts.COUNT_DAYS[None, :] <= e["end_day"][:, None]))
    labs.append(_labs(c, gr, counts.COUNT_DAYS[gj], {code: e["counts"][code][gr, gj] for code in codes}))
    return _recorded(a, pl.concat(labs), "CLL", cl["recorded_better"][r, j])


# --------------------------------------------------------------------------- adverse events

# CTCAE v5.0 grades of the organ terms from the ASTCT levels: hypotension 2 "non-urgent
# medical intervention", 3 "medical intervention or hospitalization indicated" (vasopressor),
# 4 "life-threatening; urgent intervention"; hypoxia 2 "intermittent supplemental oxygen",
# 3 "decreased oxygen saturation at rest", 4 "life-threatening airway compromise".
SYMPTOMS = ("chills", "fatigue", "headache", "nausea")


def adverse_events(c: Chunk) -> pl.DataFrame:
    e = c.e
    n = c.ne
    end = e["end_day"]
    blocks = []  # (term, system, grade array, onset array (-1 none), resolution array (-1 none), mask)

    def add(term, system, grade, onset, resolution, mask):
        resolution = np.where((resolution >= 0) & (resolution <= end), resolution, -1)
        blocks.append(
            (term, system, grade, np.where(grade > 0, onset, -1), resolution, mask & (onset <= end))
        )

    g = e["crs_grade"]
    everyone = np.ones(n, dtype=bool)
    add(
        "cytokine release syndrome",
        "astct2019",
        g,
        e["crs_onset"],
        np.where((g > 0) & (g < 5), e["crs_end"] + 1, -1),
        everyone,
    )
    ig = e["icans_grade"]
    add("icans", "astct2019", ig, e["icans_onset"], np.where(ig > 0, e["icans_end"] + 1, -1), everyone)
    temperature = np.where(toxicity.VITAL_DAYS[None, :] <= end[:, None], e["vitals"]["temperature"], np.nan)
    fever = toxicity.ctcae_fever_grade(temperature)
    add("fever", "ctcae5.0", fever, e["crs_onset"], e["crs_end"] + 1, fever > 0)
    add(
        "hypotension",
        "ctcae5.0",
        e["hypo_level"],
        e["crs_sev_start"],
        e["crs_sev_end"] + 1,
        e["hypo_level"] > 0,
    )
    add("hypoxia", "ctcae5.0", e["oxy_level"], e["crs_sev_start"], e["crs_sev_end"] + 1, e["oxy_level"] > 0)
    for i, term in enumerate(SYMPTOMS):
        p = np.minimum(0.1 + 0.15 * g, 0.8)
        has = e["symptoms"][:, i] < p
        grade = np.where(g >= 3, 2, 1)
        onset = np.where(g > 0, e["crs_onset"], 1)
        add(term, "ctcae5.0", np.where(has, grade, 0), onset, onset + 2 + i, has)
    observed = counts.COUNT_DAYS[None, :] <= end[:, None]
    male = c.pat["male"][e["pidx"]]
    for term, (grade, onset, resolution) in counts.ctcae_count_grades(e["counts"], observed, male).items():
        add(term, "ctcae5.0", grade, onset, resolution, grade > 0)
    died_of_infection = (e["death_cause"] == 2) & (e["death"] <= end)
    inf_grade = np.where(died_of_infection, 5, np.where(e["infection"], e["infection_grade"], 0))
    inf_onset = np.where(died_of_infection, np.maximum(e["death"] - 5, 1), e["infection_onset"])
    inf_res = np.where(died_of_infection, -1, e["infection_onset"] + 7)
    add("infection", "ctcae5.0", inf_grade, inf_onset, inf_res, inf_grade > 0)

    frames = []
    for b, (_term, _system, grade, onset, resolution, mask) in enumerate(blocks):
        r = np.flatnonzero(mask)
        frames.append(
            pl.DataFrame(
                {
                    "ep": r,
                    "block": np.full(r.size, b),
                    "grade": grade[r].astype(np.int64),
                    "onset": onset[r],
                    "resolution": resolution[r],
                }
            )
        )
    a = pl.concat(frames).sort(["ep", "block"])
    ep = a["ep"].to_numpy()
    block = a["block"].to_numpy()
    onset = a["onset"].to_numpy()
    resolution = a["resolution"].to_numpy()
    return frame(
        "adverse_events",
        {
            "patient_id": c.patient_ids(ep),
            "episode": e["episode"][ep],
            "term": _strings([t for (t, *_x) in blocks], block),
            "grade": a["grade"],
            "grading_system": _strings([s for (_t, s, *_x) in blocks], block),
            "onset_day": pl.Series(onset).set(pl.Series(onset < 0), None),
            "resolution_day": pl.Series(resolution).set(pl.Series(resolution < 0), None),
        },
        ep.size,
    )


# --------------------------------------------------------------------------- follow-up events


def events(c: Chunk) -> pl.DataFrame:
    """Progression/relapse and HSCT per episode; death and last contact per patient."""
    e = c.e
    p = {k: v[c.p0 : c.p1] for k, v in c.pat.items()}
    obs_end = c.pat["obs_end"][e["pidx"]]
    prog_abs = e["infusion"] + np.minimum(e["prog"], cohort.NEVER // 2)
    hsct_abs = e["infusion"] + np.minimum(e["hsct_day"], cohort.NEVER // 2)
    parts = []
    r = np.flatnonzero((e["prog"] < cohort.NEVER) & (prog_abs <= obs_end))
    parts.append(
        (
            r,
            e["prog_kind"][r],
            e["prog"][r],
            prog_abs[r],
            _strings(cohort.PROGRESSION_DETAILS, e["prog_detail"][r]),
        )
    )
    r = np.flatnonzero(e["hsct"] & (hsct_abs <= obs_end))
    parts.append(
        (r, np.full(r.size, 2), e["hsct_day"][r], hsct_abs[r], _strings(("allogeneic HSCT",), r * 0))
    )
    # patient-level rows are attached to the patient's last episode
    last = np.flatnonzero(e["episode"] == p["last_episode"][e["pidx"] - c.p0])
    pl_idx = e["pidx"][last] - c.p0
    dead = p["death_seen"][pl_idx]
    r = last[dead]
    death_abs = p["death_abs"][pl_idx][dead]
    parts.append(
        (
            r,
            np.full(r.size, 3),
            death_abs - e["infusion"][r],
            death_abs,
            _strings(cohort.DEATH_CAUSES, p["death_cause"][pl_idx][dead]),
        )
    )
    end_abs = p["obs_end"][pl_idx]
    parts.append(
        (
            last,
            np.full(last.size, 4),
            end_abs - e["infusion"][last],
            end_abs,
            pl.Series([None] * last.size, dtype=pl.String),
        )
    )
    ep = np.concatenate([x[0] for x in parts])
    kind = np.concatenate([x[1] for x in parts])
    day = np.concatenate([x[2] for x in parts])
    date = np.concatenate([x[3] for x in parts])
    detail = pl.concat([x[4] for x in parts])
    order = np.lexsort((kind, date, ep))
    ep, kind, day, date = ep[order], kind[order], day[order], date[order]
    detail = detail.gather(order)
    out = frame(
        "events",
        {
            "patient_id": c.patient_ids(ep),
            "kind": _strings(EVENT_KINDS, kind),
            "episode": e["episode"][ep],
            "day": day,
            "date": date,
            "detail": detail,
        },
        ep.size,
    )
    if "pre_progression" in c.pat:  # designs with patients followed outside a CAR-T episode
        out = pl.concat([out, _patient_events(c)]).sort("patient_id", "date", maintain_order=True)
    return out


EVENT_KINDS = ("progression", "relapse", "hsct", "death", "last_contact", "new_therapy")


def _patient_events(c: Chunk) -> pl.DataFrame:
    """Follow-up outside a CAR-T episode, dated (no episode): progression and new therapy before a
    crossover infusion or without one; death and last contact of patients never infused."""
    p = {k: v[c.p0 : c.p1] for k, v in c.pat.items()}
    n = c.p1 - c.p0
    rows = np.arange(n)
    never = ~p["infused"]
    parts = [
        (rows[p["pre_progression"] < cohort.NEVER], 0, p["pre_progression"], "treatment failure"),
        (rows[p["pre_new_therapy"] < cohort.NEVER], 5, p["pre_new_therapy"], "salvage therapy"),
        (rows[never & p["death_seen"]], 3, p["death_abs"], None),
        (rows[never], 4, p["obs_end"], None),
    ]
    pidx = np.concatenate([r for r, *_ in parts])
    kind = np.concatenate([np.full(r.size, k) for r, k, *_ in parts])
    date = np.concatenate([d[r] for r, _, d, _ in parts])
    detail = pl.concat([pl.repeat(t, r.size, dtype=pl.String, eager=True) for r, _, _, t in parts])
    causes = _strings(cohort.DEATH_CAUSES, p["death_cause"][pidx])
    detail = pl.select(pl.when(pl.Series(kind == 3)).then(causes).otherwise(detail)).to_series()
    order = np.lexsort((kind, date, pidx))
    pidx, kind, date = pidx[order], kind[order], date[order]
    detail = detail.gather(order)
    return frame("events", {"patient_id": c.ids.slice(c.p0, n).gather(pidx), "kind": _strings(EVENT_KINDS, kind),
                            "date": date, "detail": detail}, pidx.size)


def lesions(c: Chunk) -> pl.DataFrame:
    """Target lesions are not simulated (PET-CT carries the lymphoma response): an empty table."""
    return frame("lesions", {}, 0)
