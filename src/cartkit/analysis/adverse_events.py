"""Table 2: adverse events by product x disease, with CRS and ICANS grades (seed Table 2).

A patient counts once per term and episode. Haematological terms are counted
at CTCAE grade >= 3, as the seed's Table 2 reports them ("grade 3/4");
every other term at any grade >= 1. CRS and ICANS are reported as the
distribution of each episode's maximum grade 0-5 (no event = grade 0).

When the adverse events are coded in MedDRA (``meddra_pt``/``meddra_soc`` columns,
cartkit.study.meddra), the rows are the system organ classes and, under each, its preferred
terms, each counted at any grade and at grade >= 3 (docs/criteria.md "Adverse events in MedDRA").
"""

from __future__ import annotations

import polars as pl

# term -> (section, label, minimum grade counted). Labels follow the seed's Table 2 wording.
TERM_ROWS: dict[str, tuple[str, str, int]] = {
    "fever": ("General condition", "Temperature \u2265 38 \u00b0C (fever)", 1),
    "chills": ("General condition", "Chills", 1),
    "fatigue": ("General condition", "Fatigue", 1),
    "headache": ("General condition", "Headache", 1),
    "muscle weakness": ("General condition", "Muscular weakness", 1),
    "edema": ("General condition", "Edema", 1),
    "neutrophil count decreased": ("Hematological", "Neutropenia (grade 3/4) (< 1 \u00d7 10\u2079/L)", 3),
    "anemia": ("Hematological", "Anemia (grade 3/4) (< 80 g/L)", 3),
    "platelet count decreased": ("Hematological", "Thrombocytopenia (grade 3/4) (< 50 \u00d7 10\u2079/L)", 3),
    "white blood cell decreased": ("Hematological", "Leukopenia (grade 3/4) (< 2 \u00d7 10\u2079/L)", 3),
    "lymphocyte count decreased": ("Hematological", "Lymphopenia (grade 3/4) (< 0.5 \u00d7 10\u2079/L)", 3),
    "febrile neutropenia": ("Hematological", "Febrile neutropenia", 1),
    "hypoxia": ("Respiratory", "Hypoxia (SaO\u2082 < 90%)", 1),
    "dyspnea": ("Respiratory", "Dyspnoea", 1),
    "cough": ("Respiratory", "Cough", 1),
    "pleural effusion": ("Respiratory", "Pleural effusion", 1),
    "nausea": ("Gastrointestinal", "Nausea", 1),
    "vomiting": ("Gastrointestinal", "Vomiting", 1),
    "anorexia": ("Gastrointestinal", "Decreased appetite", 1),
    "diarrhea": ("Gastrointestinal", "Diarrhoea", 1),
    "aminotransferase increased": ("Hepatic", "Increased serum ALT, AST", 1),
    "blood bilirubin increased": ("Hepatic", "Increased serum bilirubin levels", 1),
    "creatinine increased": ("Renal", "Increased serum creatinine levels", 1),
    "oliguria": ("Renal", "Oliguria", 1),
    "sinus tachycardia": ("Heart", "Tachycardia", 1),
    "arrhythmia": ("Heart", "Arrhythmia", 1),
    "hypotension": ("Heart", "Systolic blood pressure < 90 mm Hg", 1),
    "disseminated intravascular coagulation": ("Coagulopathy", "Disseminated intravascular coagulation", 1),
    "encephalopathy": ("Neurological", "Encephalopathy", 1),
    "confusion": ("Neurological", "Confused state", 1),
    "dizziness": ("Neurological", "Dizziness", 1),
    "aphasia": ("Neurological", "Aphasia", 1),
    "somnolence": ("Neurological", "Somnolence", 1),
    "seizure": ("Neurological", "Seizure", 1),
    "tremor": ("Neurological", "Tremor", 1),
    "infection": ("Infection", "Infection", 1),
    "sepsis": ("Infection", "Sepsis", 1),
    "invasive fungal infection": ("Infection", "Invasive fungal disease", 1),
}
# Reported as grade distributions, not as rows of their own.
GRADED_SYNDROMES = ("cytokine release syndrome", "icans")

_SCHEMA = {
    "section": pl.String, "term": pl.String, "label": pl.String, "product": pl.String,
    "diagnosis": pl.String, "n": pl.Int64, "N": pl.Int64, "pct": pl.Float64,
}


def episode_groups(infusions: pl.DataFrame, patients: pl.DataFrame, products, diseases) -> pl.DataFrame:
    """patient_id, episode, product, diagnosis for the episodes of the plan's products and diseases."""
    return (
        infusions.select("patient_id", "episode", "product")
        .join(patients.select("patient_id", "diagnosis"), on="patient_id", how="left")
        .filter(pl.col("product").is_in(list(products)) & pl.col("diagnosis").is_in(list(diseases)))
    )


def plan_groups(study) -> tuple[tuple[str, ...], tuple[str, ...], pl.DataFrame]:
    """(products, diseases, episode groups) of an analysis: the plan's products and diseases, or every
    one recorded (in order of appearance) when the plan names none."""
    plan = study.plan
    products = tuple(plan.products) or tuple(study.infusions["product"].unique(maintain_order=True).to_list())
    diseases = tuple(plan.diseases) or tuple(study.patients["diagnosis"].unique(maintain_order=True).to_list())
    return products, diseases, episode_groups(study.infusions, study.patients, products, diseases)


def _denominators(groups: pl.DataFrame) -> pl.DataFrame:
    return groups.group_by("product", "diagnosis").agg(pl.len().cast(pl.Int64).alias("N"))


def ae_table(
    adverse_events: pl.DataFrame,
    groups: pl.DataFrame,
    crs: pl.DataFrame,
    icans: pl.DataFrame,
    products,
    diseases,
    terms: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Long Table 2 (section, term, label, product, diagnosis, n, N, pct).

    ``crs``/``icans``: patient_id, episode, grade (the episode maximum under the plan's system).
    ``terms``: the rows to report in order; empty = every recorded term, in the seed's order.
    """
    from cartkit.study.meddra import is_coded

    denominators = _denominators(groups)
    cells = pl.DataFrame(
        [(p, d) for p in products for d in diseases], schema={"product": pl.String, "diagnosis": pl.String},
        orient="row",
    ).join(denominators, on=["product", "diagnosis"], how="left").with_columns(pl.col("N").fill_null(0))

    if is_coded(adverse_events):
        term_rows = meddra_rows(adverse_events, groups, cells)
        return _with_pct(pl.concat([term_rows, *_syndrome_rows(groups, crs, icans, cells)],
                                   how="diagonal_relaxed"), _SCHEMA | _MEDDRA_SCHEMA)
    recorded = sorted(set(adverse_events["term"].to_list()) - set(GRADED_SYNDROMES))
    wanted = list(terms) if terms else [t for t in TERM_ROWS if t in recorded]
    wanted += [t for t in recorded if t not in wanted and not terms]
    spec = pl.DataFrame(
        [
            (t, *TERM_ROWS.get(t, ("Other", t.capitalize(), 1)), i)
            for i, t in enumerate(wanted)
        ],
        schema={"term": pl.String, "section": pl.String, "label": pl.String, "min_grade": pl.Int64,
                "order": pl.Int64},
        orient="row",
    )
    # the rows counted first, with only the columns counted: at registry size (10^7 adverse events) the join of
    # every column with the groups held about 2 GiB for a moment (docs/scale.md)
    counted = (
        adverse_events.select("patient_id", "episode", "term", "grade")
        .join(spec.select("term", "min_grade"), on="term", how="inner")
        .filter(pl.col("grade") >= pl.col("min_grade"))
        .join(groups.select("patient_id", "episode", "product", "diagnosis"), on=["patient_id", "episode"],
              how="inner")
        .group_by("term", "product", "diagnosis")
        .agg(pl.struct("patient_id", "episode").n_unique().cast(pl.Int64).alias("n"))  # episodes, as N
    )
    term_rows = (
        spec.join(cells, how="cross")
        .join(counted, on=["term", "product", "diagnosis"], how="left")
        .with_columns(pl.col("n").fill_null(0))
    )
    out = pl.concat(
        [term_rows.sort("order").select("section", "term", "label", "product", "diagnosis", "n", "N"),
         *_syndrome_rows(groups, crs, icans, cells)],
        how="vertical_relaxed",
    )
    return _with_pct(out, _SCHEMA)


def _with_pct(out: pl.DataFrame, schema: dict) -> pl.DataFrame:
    def pct(n: str) -> pl.Expr:
        return pl.when(pl.col("N") > 0).then(100.0 * pl.col(n) / pl.col("N")).otherwise(None)

    out = out.with_columns(pct("n").alias("pct"))
    if "n_grade3" in out.columns:
        out = out.with_columns(pct("n_grade3").alias("pct_grade3"))
    return out.select([c for c in schema if c in out.columns])


def _syndrome_rows(groups: pl.DataFrame, crs, icans, cells: pl.DataFrame) -> list[pl.DataFrame]:
    return [
        _grade_rows(name, section, grades, groups, cells) for name, section, grades in
        (("CRS", "Cytokine release syndrome (CRS)", crs),
         ("ICANS", "Immune effector cell-associated neurotoxicity syndrome (ICANS)", icans))
        if grades is not None
    ]


# the columns a MedDRA-coded table adds (optional columns of the result schema)
_MEDDRA_SCHEMA = {"level": pl.String, "soc_code": pl.String, "pt_code": pl.String, "n_grade3": pl.Int64,
                  "pct_grade3": pl.Float64}
NOT_CODED = "Not coded in MedDRA"
SERIOUS_GRADE = 3  # "grade >= 3" columns: CTCAE grades 3-5 (severe, life-threatening, fatal)


def _named(adverse_events: pl.DataFrame, name: str, code: str) -> pl.Expr:
    """A MedDRA term's label: its name as the data give it (the first spelling of its code), else its code."""
    first_name = pl.col(name).drop_nulls().first().over(pl.coalesce(code, pl.col(name).str.to_lowercase()))
    return pl.coalesce(first_name, pl.col(name), pl.lit("MedDRA ") + pl.col(code))


def meddra_rows(adverse_events: pl.DataFrame, groups: pl.DataFrame, cells: pl.DataFrame) -> pl.DataFrame:
    """The SOC and PT rows of a MedDRA-coded table: section (the SOC), term and label (the SOC on its own
    row, level "soc"; the PT on the rows under it, level "pt"), soc_code, pt_code, product, diagnosis,
    n (episodes with the event at any grade), n_grade3 (at grade >= 3), N.

    A patient episode counts once per PT and once per SOC however many of its terms fall there. SOCs,
    and the PTs within each, are ordered by the number of episodes with them (all groups), then by name.
    Rows with no MedDRA coding are counted under "Not coded in MedDRA" by their term; CRS and ICANS
    rows are left to the grade rows (their maximum grade per episode).
    """
    ae = (
        adverse_events.filter(~pl.col("term").is_in(list(GRADED_SYNDROMES)))
        .with_columns(
            soc=_named(adverse_events, "meddra_soc", "meddra_soc_code").fill_null(NOT_CODED),
            pt=_named(adverse_events, "meddra_pt", "meddra_pt_code"),
        )
        .with_columns(pt=pl.coalesce("pt", _term_label(pl.col("term"))))
        .join(groups, on=["patient_id", "episode"], how="inner")
    )
    episode = pl.struct("patient_id", "episode")

    def counted(keys: list[str]) -> pl.DataFrame:
        return ae.group_by(*keys, "product", "diagnosis").agg(
            n=episode.n_unique().cast(pl.Int64),
            n_grade3=episode.filter(pl.col("grade") >= SERIOUS_GRADE).n_unique().cast(pl.Int64))

    def spec(keys: list[str], code: str) -> pl.DataFrame:
        return ae.group_by(keys).agg(pl.col(code).drop_nulls().first(), total=episode.n_unique())

    socs = spec(["soc"], "meddra_soc_code").rename({"meddra_soc_code": "soc_code", "total": "soc_total"})
    pts = spec(["soc", "pt"], "meddra_pt_code").rename({"meddra_pt_code": "pt_code"})
    soc_rows = (
        socs.join(cells, how="cross").join(counted(["soc"]), on=["soc", "product", "diagnosis"], how="left")
        .with_columns(level=pl.lit("soc"), term=pl.col("soc"), pt_code=pl.lit(None, pl.String),
                      total=pl.col("soc_total"), _pt_rank=pl.lit(0))
    )
    pt_rows = (
        pts.join(socs, on="soc").join(cells, how="cross")
        .join(counted(["soc", "pt"]), on=["soc", "pt", "product", "diagnosis"], how="left")
        .with_columns(level=pl.lit("pt"), term=pl.col("pt"), _pt_rank=pl.lit(1))
    )
    rows = pl.concat([soc_rows.drop("pt", strict=False), pt_rows.drop("pt")], how="diagonal_relaxed")
    return (
        rows.with_columns(pl.col("n", "n_grade3").fill_null(0), section=pl.col("soc"), label=pl.col("term"),
                          _not_coded=pl.col("soc") == NOT_CODED)
        .sort(["_not_coded", "soc_total", "soc", "_pt_rank", "total", "term"],
              descending=[False, True, False, False, True, False], maintain_order=True)
        .select("section", "term", "label", "product", "diagnosis", "n", "N", "level", "soc_code", "pt_code",
                "n_grade3")
    )


def _term_label(term: pl.Expr) -> pl.Expr:
    """The short list's label of a term, else the term with a capital first letter."""
    capitalised = term.str.slice(0, 1).str.to_uppercase() + term.str.slice(1)
    return term.replace_strict({t: row[1] for t, row in TERM_ROWS.items()}, default=capitalised,
                               return_dtype=pl.String)


def episode_grades(grades: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """groups with each episode's grade: an episode absent from ``grades`` had no event (grade 0); an
    episode present with a null grade could not be graded (e.g. grade 0-1 needs a lower limit of normal
    the study does not give) and is left out."""
    present = grades.lazy().select("patient_id", "episode", "grade").with_columns(pl.lit(True).alias("_graded"))
    return (  # one query (a registry's frames, and the comparisons' many small ones)
        groups.lazy().join(present, on=["patient_id", "episode"], how="left", maintain_order="left")
        .filter(pl.col("_graded").is_null() | pl.col("grade").is_not_null())
        .with_columns(pl.col("grade").fill_null(0).cast(pl.Int64))
        .drop("_graded")
        .collect()
    )


def _grade_rows(name: str, section: str, grades: pl.DataFrame, groups: pl.DataFrame, cells) -> pl.DataFrame:
    per_episode = episode_grades(grades, groups)
    counts = per_episode.group_by("product", "diagnosis", "grade").agg(pl.len().cast(pl.Int64).alias("n"))
    levels = pl.DataFrame({"grade": list(range(6))}, schema={"grade": pl.Int64})
    return (
        levels.join(cells, how="cross")
        .join(counts, on=["product", "diagnosis", "grade"], how="left")
        .with_columns(
            pl.col("n").fill_null(0),
            pl.lit(section).alias("section"),
            ("grade " + pl.col("grade").cast(pl.String)).alias("term"),
            (pl.lit("Grade ") + pl.col("grade").cast(pl.String) + pl.lit(f" {name}")).alias("label"),
        )
        .sort("grade")
        .select("section", "term", "label", "product", "diagnosis", "n", "N")
    )


def grade_distribution(grades: pl.DataFrame, groups: pl.DataFrame, toxicity: str) -> pl.DataFrame:
    """toxicity, product, grade, n over all episodes of each product (no event = grade 0)."""
    return grade_counts(episode_grades(grades, groups), toxicity)


def grade_counts(per_episode: pl.DataFrame, toxicity: str) -> pl.DataFrame:
    """``grade_distribution`` of the episodes' grades (``episode_grades``)."""
    return (  # one query (one row per product and grade: the sort fixes the order)
        per_episode.lazy().group_by("product", "grade").agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.lit(toxicity).alias("toxicity"))
        .select("toxicity", "product", "grade", "n")
        .sort("product", "grade")
        .collect()
    )


def grade_contingency(distribution: pl.DataFrame, products) -> list[list[int]]:
    """products x grades table of counts, dropping grades nobody had (as SPSS and R's table() do)."""
    grades = sorted(distribution.filter(pl.col("n") > 0)["grade"].unique().to_list())
    lookup = {(p, g): n for p, g, n in distribution.select("product", "grade", "n").iter_rows()}
    return [[int(lookup.get((p, g), 0)) for g in grades] for p in products]
