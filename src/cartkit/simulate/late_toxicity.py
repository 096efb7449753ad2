"""IEC-HS, infections, IgG and immunoglobulin replacement in simulated studies (docs/criteria.md).

Each builder here is a table builder of ``simulate/tables.py`` with these rows added, so that a
simulated study exercises the report's "IEC-HS, infections and late effects" section end to end:

* **IEC-HS** in about 6% of the episodes with CRS (incidence after CD19 CAR-T of a few per cent; Hines MR
  et al., Transplant Cell Ther 2023;29:438): onset 2-5 days after CRS ends, with ferritin far above
  twice the baseline (ULN 300 ng/mL), fibrinogen 0.7-1.4 g/L, ALT above 5 x ULN in 40%; anakinra from
  the next day (grade 2), with cryoprecipitate in 30% (grade 3); recorded as adverse event ``iec-hs``
  with that grade, so that recorded and derived grades agree.
* **Infections**: the episode's early infection of ``cohort`` (its onset and grade; grade 5 when the
  patient died of it), further early ones (below) and, in 25% of the episodes followed past day 30 (30% in
  B-ALL), one late infection between day 31 and 180. Organism classes follow Hill JA et al. (Blood
  2018;131:121): bacterial infections dominate early and viral ones late; sites by class.
  Early density (days 0-30): Hill 2018 found 43 infections in 30 of 133 patients (23%) within 28 days of
  CD19 CAR-T, 1.19 infections per 100 days at risk, the first a median of 6 days after the infusion, more in
  B-ALL. The cohort's own early infection (6% of the episodes, 15% in B-ALL) is far below that, so
  ``EARLY_EXTRA_P`` more episodes get one (23% in all, 30% in B-ALL) and ``EARLY_SECOND_P`` of the infected a
  second (1.4 infections per infected patient, as Hill's 43/30), on a day drawn with a median of about 6.
  BCMA CAR-T in myeloma has as many or more (infections in 54% of 52 patients within 100 days of
  standard-of-care ide-cel, mostly bacterial and severe in the first 30 days: Logue JM et al., Blood Adv
  2022;6:6109); the myeloma cohort takes Hill's overall numbers. From day 29 to 90 Hill found 0.67 per 100
  days at risk: ``LATE_EXTRA_P`` of the episodes followed past day 30 get one more infection on days 31-90.
  These infections are rows of the infections table only: the adverse-event table keeps the cohort's one
  "infection" row per episode.
* **IgG**: a baseline (day -5) around 700 mg/dL, falling with B-cell aplasia to a nadir of 35-85% of
  it by day 90 (days 30, 90, 180 measured while followed); immunoglobulin replacement (IVIG 0.4 g/kg)
  the day after the first value below 400 mg/dL, then every 28 days to day 180.

The extra rows are drawn from their own numbers, one per episode (a hash of the patient, the episode
and its infusion day), so that the rows the cohort generator writes keep their values and chunked
writing gives the same tables.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cartkit.simulate import tables
from cartkit.simulate.counts import BASELINE_DAY

IEC_HS_P = 0.06
FERRITIN_ULN = 300.0
ALT_ULN = 40.0
LATE_INFECTION_P = (0.25, 0.30)  # DLBCL, B-ALL
IGG_DAYS = np.array([30, 90, 180])
IGG_THRESHOLD = 400.0
# (class, probability early, probability late) and the sites of each class with their probabilities
CLASSES = ("bacterial", "viral", "fungal", "other")
EARLY_P = np.array([0.55, 0.30, 0.10, 0.05])
LATE_P = np.array([0.30, 0.60, 0.05, 0.05])
SITES = ("bloodstream", "respiratory", "urinary", "gastrointestinal", "skin_soft_tissue")
SITE_P = {"bacterial": [0.40, 0.25, 0.20, 0.10, 0.05], "viral": [0.20, 0.70, 0.0, 0.10, 0.0],
          "fungal": [0.20, 0.80, 0.0, 0.0, 0.0], "other": [0.0, 0.40, 0.0, 0.60, 0.0]}


# further early infections (module docs): the chance an episode without the cohort's early infection gets one
# (so that 23% have one, 30% in B-ALL: Hill 2018), the chance of a second, and the mean day (exponential from day
# 1, median about 6: Hill's first infection a median of 6 days after the infusion), up to day 30
EARLY_EXTRA_P = ((0.23 - 0.06) / 0.94, (0.30 - 0.15) / 0.85)  # not B-ALL, B-ALL
EARLY_SECOND_P = 0.43
EARLY_MEAN_DAY = 7.5
EARLY_LAST_DAY = 30
# Hill 2018's density from day 29 to 90 was 0.67 per 100 days at risk; the late infection above (25-30% of the
# episodes, spread over days 31-180) gives about a third of it there, so LATE_EXTRA_P of the episodes followed
# past day 30 get one more on a day of 31-90
LATE_EXTRA_P = 0.2
LATE_EXTRA_DAYS = (31, 90)

_DRAWS = ("iec", "cryo", "alt", "late", "late_day", "early_class", "late_class", "early_site", "late_site",
          "late_grade", "igg", "nadir", "jitter", "ferr",
          # appended: the earlier streams keep their numbers
          "extra", "extra_day", "extra_class", "extra_site", "extra_grade", "second", "second_day", "second_class",
          "second_site", "second_grade", "late2", "late2_day", "late2_class", "late2_site", "late2_grade")


def _uniform(key: np.ndarray, stream: int) -> np.ndarray:
    """A uniform [0, 1) number per key and stream (SplitMix64 finaliser): the same for an episode however
    the patients are chunked, and independent of the cohort generator's draws."""
    with np.errstate(over="ignore"):
        z = key * np.uint64(0x9E3779B97F4A7C15) + np.uint64(stream + 1) * np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53


def _draws(c: tables.Chunk) -> dict[str, np.ndarray]:
    """Every draw of the chunk's episodes, keyed by patient index, episode and infusion day (so a seed's
    draws follow its cohort and do not depend on the chunk)."""
    e = c.e
    key = (np.asarray(e["pidx"], dtype=np.uint64) << np.uint64(24)) ^ (np.asarray(e["episode"], dtype=np.uint64)
                                                                      << np.uint64(20)) \
        ^ np.asarray(e["infusion"], dtype=np.int64).astype(np.uint64)
    return {name: _uniform(key, i) for i, name in enumerate(_DRAWS)}


def _iec_hs(c: tables.Chunk, u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    e = c.e
    onset = e["crs_end"] + 2 + np.floor(u["jitter"] * 4).astype(np.int64)
    has = (e["crs_grade"] >= 1) & (u["iec"] < IEC_HS_P) & (onset + 1 <= np.minimum(e["end_day"], 60))
    return {"has": has, "onset": onset, "cryo": has & (u["cryo"] < 0.3), "alt": has & (u["alt"] < 0.4)}


def _igg(c: tables.Chunk, u: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(baseline per episode, values episodes x IGG_DAYS)."""
    baseline = np.clip(np.round(700.0 * np.exp(0.35 * (u["igg"] - 0.5) * 3.46)), 150, 2000)
    nadir = 0.35 + 0.5 * u["nadir"]
    fall = np.minimum(IGG_DAYS / 90.0, 1.0)[None, :]
    values = np.round(baseline[:, None] * (1 - (1 - nadir[:, None]) * fall))
    return baseline, values


def measurements(c: tables.Chunk, rng: np.random.Generator | None = None) -> pl.DataFrame:
    base = tables.measurements(c, rng)
    e, u = c.e, _draws(c)
    iec = _iec_hs(c, u)
    rows = []  # (episode rows, day, other columns)

    def lab(r, day, analyte, value, unit, uln=None):
        rows.append((r, day, {"analyte": analyte, "value": value, "unit": unit, "uln": uln}))

    r = np.flatnonzero(iec["has"])
    baseline_ferritin = e["chemistry"]["ferritin"][r]
    lab(r, iec["onset"][r], "ferritin", np.round(baseline_ferritin * (8 + 22 * u["ferr"][r]) + 5000), "ng/mL",
        FERRITIN_ULN)
    lab(r, iec["onset"][r] + 1, "ferritin", np.round(baseline_ferritin * 6 + 3000), "ng/mL", FERRITIN_ULN)
    lab(r, iec["onset"][r], "fibrinogen", np.round(0.7 + 0.7 * u["cryo"][r], 2), "g/L")
    a = np.flatnonzero(iec["alt"])
    lab(a, iec["onset"][a], "alt", np.round(300 + 500 * u["alt"][a] / 0.4), "U/L", ALT_ULN)
    baseline, values = _igg(c, u)
    lab(np.arange(c.ne), np.full(c.ne, BASELINE_DAY), "igg", baseline, "mg/dL")
    for j, day in enumerate(IGG_DAYS):
        seen = np.flatnonzero(e["end_day"] >= day)
        lab(seen, np.full(seen.size, day), "igg", values[seen, j], "mg/dL")
    return _merged(base, _frame("measurements", c, rows))


def support(c: tables.Chunk) -> pl.DataFrame:
    base = tables.support(c)
    e, u = c.e, _draws(c)
    iec = _iec_hs(c, u)
    weight = c.pat["weight"][e["pidx"]]
    rows = []
    r = np.flatnonzero(iec["has"])
    for k in range(5):  # anakinra 100 mg daily for 5 days from the day after onset
        day = iec["onset"][r] + 1 + k
        keep = day <= e["end_day"][r]
        rows.append((r[keep], day[keep], {"kind": "anakinra", "agent": "anakinra", "dose": 100.0, "dose_unit": "mg"}))
    q = np.flatnonzero(iec["cryo"])
    rows.append((q, iec["onset"][q] + 1, {"kind": "cryoprecipitate", "agent": "cryoprecipitate", "dose": 10.0,
                                          "dose_unit": "units"}))
    _, values = _igg(c, u)
    low = values < IGG_THRESHOLD
    seen = IGG_DAYS[None, :] <= e["end_day"][:, None]
    first = np.where((low & seen).any(axis=1), IGG_DAYS[np.argmax(low & seen, axis=1)] + 1, -1)
    for k in range(7):
        day = first + 28 * k
        g = np.flatnonzero((first > 0) & (day <= np.minimum(e["end_day"], 180)))
        rows.append((g, day[g], {"kind": "immunoglobulin", "agent": "intravenous immunoglobulin", "dose": np.round(0.4 * weight[g], 1),
                                 "dose_unit": "g"}))
    return _merged(base, _frame("support", c, rows))


def adverse_events(c: tables.Chunk) -> pl.DataFrame:
    base = tables.adverse_events(c)
    e = c.e
    iec = _iec_hs(c, _draws(c))
    r = np.flatnonzero(iec["has"])
    resolution = iec["onset"][r] + 7
    extra = tables.frame("adverse_events", {
        "patient_id": c.patient_ids(r), "episode": e["episode"][r], "term": pl.Series(["iec-hs"] * r.size),
        "grade": np.where(iec["cryo"][r], 3, 2), "grading_system": pl.Series(["astct2023"] * r.size),
        "onset_day": iec["onset"][r],
        "resolution_day": pl.Series(resolution).set(pl.Series(resolution > e["end_day"][r]), None),
    }, r.size)
    return _merged(base, extra)


def infections(c: tables.Chunk) -> pl.DataFrame:
    e, u = c.e, _draws(c)
    end = e["end_day"]
    died = (e["death_cause"] == 2) & (e["death"] <= end)
    early_day = np.where(died, np.maximum(e["death"] - 5, 1), e["infection_onset"])
    early = (e["infection"] | died) & (early_day <= end)
    is_all = c.pat["is_all"][e["pidx"]]
    late = (end >= 31) & (u["late"] < np.where(is_all, LATE_INFECTION_P[1], LATE_INFECTION_P[0]))
    late_day = 31 + np.floor(u["late_day"] * (np.minimum(end, 180) - 31 + 1)).astype(np.int64)
    # further early infections (module docs): one more for EARLY_EXTRA_P of the episodes without the cohort's,
    # a second for EARLY_SECOND_P of the infected; each on a day seen (and before a death), grade 2-3
    first_day = _early_day(u["extra_day"])
    extra = ~early & (u["extra"] < np.where(is_all, EARLY_EXTRA_P[1], EARLY_EXTRA_P[0])) & _seen(first_day, e, end)
    second_day = _early_day(u["second_day"])
    second = (early | extra) & (u["second"] < EARLY_SECOND_P) & _seen(second_day, e, end)
    lo, hi = LATE_EXTRA_DAYS
    late2_day = lo + np.floor(u["late2_day"] * (np.minimum(end, hi) - lo + 1)).astype(np.int64)
    late2 = (end >= lo) & (u["late2"] < LATE_EXTRA_P) & _seen(late2_day, e, end)
    parts = []
    for mask, day, grade, cls_u, site_u, probs in (
        (early, early_day, np.where(died, 5, e["infection_grade"]), u["early_class"], u["early_site"], EARLY_P),
        (extra, first_day, 2 + (u["extra_grade"] < 0.35).astype(np.int64), u["extra_class"], u["extra_site"],
         EARLY_P),
        (second, second_day, 2 + (u["second_grade"] < 0.35).astype(np.int64), u["second_class"], u["second_site"],
         EARLY_P),
        (late, late_day, 2 + (u["late_grade"] < 0.3).astype(np.int64), u["late_class"], u["late_site"], LATE_P),
        (late2, late2_day, 2 + (u["late2_grade"] < 0.3).astype(np.int64), u["late2_class"], u["late2_site"],
         LATE_P),
    ):
        r = np.flatnonzero(mask)
        cls = np.searchsorted(np.cumsum(probs), cls_u[r], side="right").clip(0, len(CLASSES) - 1)
        site = np.zeros(r.size, dtype=np.int64)
        for i, name in enumerate(CLASSES):
            sel = cls == i
            site[sel] = np.searchsorted(np.cumsum(SITE_P[name]), site_u[r][sel], side="right").clip(0, len(SITES) - 1)
        parts.append((r, day[r], cls, site, grade[r]))
    r, day, cls, site, grade = (np.concatenate([p[i] for p in parts]) for i in range(5))
    r, day, cls, site, grade = _one_per_key(r, day, cls, site, grade)
    return tables.frame("infections", {
        "patient_id": c.patient_ids(r), "episode": e["episode"][r], "day": day, "date": e["infusion"][r] + day,
        "organism_class": tables._strings(CLASSES, cls),
        "site": tables._strings(SITES, site), "grade": grade, "grading_system": pl.Series(["ctcae5.0"] * r.size),
    }, r.size)


def _one_per_key(r: np.ndarray, day: np.ndarray, cls: np.ndarray, site: np.ndarray, grade: np.ndarray):
    """The infections (episode row, day, class, site, grade) sorted by episode, day, class and site, two
    drawn for an episode on one day with the same class and site kept as one (the first drawn): they
    would share the infections table's key (patient, episode, day, class, site, no organism), which
    validation rejects. The five draws of ``infections`` collide about once in 1,000 infections (4 in
    5,000 patients of seed 1)."""
    order = np.lexsort((site, cls, day, r))  # stable: the first drawn first
    r, day, cls, site, grade = (a[order] for a in (r, day, cls, site, grade))
    if r.size > 1:
        key = np.stack([r, day, cls, site])
        keep = np.ones(r.size, dtype=bool)
        keep[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
        r, day, cls, site, grade = (a[keep] for a in (r, day, cls, site, grade))
    return r, day, cls, site, grade


def _early_day(u: np.ndarray) -> np.ndarray:
    """Day 1-30 from a uniform number: exponential with mean EARLY_MEAN_DAY - 1 from day 1 (median ~6)."""
    return np.minimum(1 + np.floor(-np.log1p(-u) * (EARLY_MEAN_DAY - 1)), EARLY_LAST_DAY).astype(np.int64)


def _seen(day: np.ndarray, e: dict, end: np.ndarray) -> np.ndarray:
    """The day is observed: on or before the observation end, and before a death."""
    return (day <= end) & (day < e["death"])


def _frame(table: str, c: tables.Chunk, rows) -> pl.DataFrame:
    """One ``table`` frame of ``rows``: (episode rows, day, {column: a value for all or an array})."""
    e = c.e
    frames = []
    for r, day, spec in rows:
        if not len(r):
            continue
        cols = {"patient_id": c.patient_ids(r), "episode": e["episode"][r], "day": day, "date": e["infusion"][r] + day}
        for k, v in spec.items():
            if v is None:
                continue
            cols[k] = pl.Series([v] * len(r)) if isinstance(v, str) else (np.full(len(r), v) if np.isscalar(v) else v)
        frames.append(tables.frame(table, cols, len(r)))
    return pl.concat(frames) if frames else tables.frame(table, {}, 0)


def _merged(base: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    """``base`` with ``extra`` after each episode's own rows (the rows of ``base`` keep their order)."""
    if not extra.height:
        return base
    return pl.concat([base, extra]).sort(["patient_id", "episode"], maintain_order=True)
