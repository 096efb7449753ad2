"""Write a simulated cohort as a study folder: ``study.toml`` plus one file per table.

The folder is written by the rule of ``cartkit.report.output_folder`` (docs/output.md): cartkit
deletes or replaces only what it wrote itself. The study is written whole into a hidden sibling
folder with a manifest, ``.cartkit-simulate.json``, of the files written, and then moved into
place: into a missing or empty folder, or replacing a folder simulated earlier whose manifest is
valid and whose listed files are unchanged. Any other non-empty folder (a real study, a simulated
study that gained a user file or had a table edited) is refused before anything is simulated.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from cartkit.report.output_folder import SIMULATED_STUDY, check_output_folder, install, manifest_text
from cartkit.simulate import cll, cohort, designs, late_toxicity, myeloma, tables

FORMATS = ("parquet", "csv")
DESIGNS = ("sequential", "single-arm", "randomised")
# disease cohorts (simulate/myeloma.py, simulate/cll.py): single-arm trials of one product
DISEASES = ("myeloma", "CLL")
DEFAULT_CUTOFF = dt.date(2025, 12, 31)
# Patients per written chunk. Fixed (not tuned to memory) so that the bytes written for a
# seed never depend on the machine; the only randomness drawn per chunk is the choice of
# rows written in alternative units.
CHUNK_PATIENTS = 20_000
_EPOCH = dt.date(1970, 1, 1)

# IEC-HS, infections, IgG and immunoglobulin replacement come from simulate/late_toxicity.py, which adds
# its rows to the measurements, support and adverse events and writes the infections table
_BUILDERS = {
    "patients": tables.patients,
    "infusions": tables.infusions,
    "measurements": late_toxicity.measurements,
    "support": late_toxicity.support,
    "neuro": tables.neuro,
    "assessments": tables.assessments,
    "lesions": tables.lesions,
    "adverse_events": late_toxicity.adverse_events,
    "infections": late_toxicity.infections,
    "events": tables.events,
}


def simulate_study(
    out_dir: str | Path,
    patients: int,
    seed: int = 0,
    format: str = "parquet",
    *,
    unit_variety: bool = False,
    data_cutoff: dt.date = DEFAULT_CUTOFF,
    progress: Callable[[str, int, int], None] | None = None,
    design: str = "sequential",
    crossover: bool = False,
    shards: int = 1,
    disease: str | None = None,
) -> Path:
    """Write a synthetic, valid CAR-T study of ``patients`` patients to ``out_dir``; return its path.

    The study has both diseases (DLBCL ~55%, B-ALL ~45%), a CD19 CAR-T episode
    for everyone and a CD22 CAR-T episode for part of those who fail it;
    CAR-T kinetics from the Stein 2019 model, cytokines, vital signs and
    supportive care consistent with the recorded ASTCT 2019 CRS/ICANS grades,
    blood counts consistent with the CTCAE v5.0 haematological grades,
    response assessments, adverse events, and follow-up censored at
    ``data_cutoff``. The same seed and size give the same bytes.

    ``format`` is "parquet" or "csv". ``unit_variety=True`` writes about 5% of
    the convertible measurements in an accepted alternative unit (cells/uL,
    g/dL, F, mg/dL ...), so that loading exercises unit conversion.
    ``progress(table, done, total)`` is called after each written chunk
    (for a progress bar; ``total`` counts chunks over all tables).
    ``out_dir`` must be missing, empty, or a study simulated earlier (its
    ``.cartkit-simulate.json`` valid, every listed file unchanged, nothing
    else in it), which is then replaced whole and atomically; any other
    folder raises ``OutputFolderError`` (a ValueError) before anything is
    simulated, and is left as it was.

    ``design`` (simulate/designs.py): ``"sequential"`` (the default, described above: the seed's
    shape), ``"single-arm"`` (one CD19 CAR-T product, everyone leukapheresed, ~10% never infused)
    or ``"randomised"`` (CAR-T vs standard of care 1:1 in large B-cell lymphoma, ~6% of the CAR-T
    arm never infused with a reason, the standard-of-care arm never infused; ``crossover=True``
    gives part of its failures CAR-T after failure). Each writes a study.toml whose plan fits it.

    ``shards`` > 1 writes a sharded study (docs/scale.md): ``study.toml`` and, for each of ``shards``
    contiguous ranges of patients, a folder ``shards/NNNNN`` holding the tables of those patients
    only; ``cartkit run`` then loads, validates and derives it shard by shard. The rows are the
    rows of the unsharded study of the same seed and size (with ``unit_variety``, the rows written
    in alternative units are drawn per shard).

    ``disease`` ``"myeloma"`` (a BCMA CAR-T product; M-protein and free light chains, IMWG 2016
    responses) or ``"CLL"`` (CD19 CAR-T; nodes, spleen, lymphocytes, iwCLL 2018 responses) writes a
    single-arm trial of that disease (``design`` "sequential" or "single-arm"); None the lymphoma and
    B-ALL mix above.

        >>> import tempfile, pathlib
        >>> from cartkit.simulate import simulate_study
        >>> path = simulate_study(pathlib.Path(tempfile.mkdtemp()) / "sim", patients=12, seed=1,
        ...                       format="csv")
        >>> (path / "study.toml").is_file(), (path / "patients.csv").is_file()
        (True, True)
        >>> import shutil; shutil.rmtree(path.parent)
    """
    if format not in FORMATS:
        raise ValueError(f"format {format!r} is not supported: use one of {', '.join(FORMATS)}")
    if isinstance(patients, bool) or not isinstance(patients, (int, np.integer)) or patients < 1:
        raise ValueError(f"patients={patients!r}: the number of patients must be an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: the seed must be an integer >= 0")
    if not isinstance(data_cutoff, dt.date):
        raise ValueError(f"data_cutoff={data_cutoff!r}: must be a datetime.date")
    if design not in DESIGNS:
        raise ValueError(f"design {design!r} is not known: use one of {', '.join(DESIGNS)}")
    if crossover and design != "randomised":
        raise ValueError("crossover applies to the randomised design only")
    if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or not 1 <= shards <= patients:
        raise ValueError(f"shards={shards!r}: the number of shards must be an integer from 1 to the number "
                         "of patients")
    if disease is not None:
        disease = {d.lower(): d for d in DISEASES}.get(str(disease).lower())
        if disease is None:
            raise ValueError(f"disease must be one of {', '.join(DISEASES)}")
        if design == "randomised":
            raise ValueError("a disease cohort is a single-arm trial: use design 'single-arm'")
        design = "single-arm"
    out = check_output_folder(out_dir, kind=SIMULATED_STUDY).path
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes 0700; the study is an ordinary folder
        _write_study(tmp, patients, seed, format, unit_variety, data_cutoff, progress, design, crossover,
                     int(shards), disease)
        (tmp / SIMULATED_STUDY.manifest).write_text(
            manifest_text(tmp, _version(), SIMULATED_STUDY), encoding="utf-8")
        install(tmp, out_dir, kind=SIMULATED_STUDY)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Path(out_dir)


def _version() -> str:
    import cartkit

    return cartkit.__version__


def _write_study(out: Path, patients: int, seed: int, format: str, unit_variety: bool,
                 data_cutoff: dt.date, progress: Callable[[str, int, int], None] | None,
                 design: str = "sequential", crossover: bool = False, shards: int = 1,
                 disease: str | None = None) -> None:
    """Simulate the cohort and write study.toml and its tables into the (new, empty) ``out``."""
    patients = int(patients)
    cutoff = (data_cutoff - _EPOCH).days
    rng = np.random.default_rng(seed)
    if design == "sequential":
        pat, eps = cohort.simulate_cohort(rng, patients, cutoff)
    elif design == "single-arm":
        pat, eps = designs.simulate_single_arm(rng, patients, cutoff, disease)
    else:
        pat, eps = designs.simulate_randomised(rng, patients, cutoff, crossover)
    width = max(4, len(str(patients)))
    ids = pl.Series(np.arange(1, patients + 1)).cast(pl.String).str.zfill(width)
    ids = ("SIM-" + ids).alias("patient_id")
    # each shard a contiguous range of patients, written in chunks of at most CHUNK_PATIENTS
    edges = [round(k * patients / shards) for k in range(shards + 1)]
    layout = []
    for k in range(shards):
        cuts = sorted({edges[k], edges[k + 1], *range(edges[k] - edges[k] % CHUNK_PATIENTS + CHUNK_PATIENTS,
                                                      edges[k + 1], CHUNK_PATIENTS)})
        folder = out if shards == 1 else out / "shards" / f"{k:05d}"
        layout.append((folder, list(zip(cuts[:-1], cuts[1:], strict=True))))
    total = len(_BUILDERS) * sum(len(chunks) for _, chunks in layout)
    done = 0
    for shard, (folder, chunks) in enumerate(layout):
        folder.mkdir(parents=True, exist_ok=True)
        for table_index, (name, build) in enumerate(_BUILDERS.items()):
            with _TableWriter(folder / f"{name}.{format}", format) as writer:
                for chunk_index, (p0, p1) in enumerate(chunks):
                    chunk = tables.Chunk(pat, eps, ids, p0, p1)
                    if name == "measurements" and unit_variety:
                        key = [seed, table_index, chunk_index] if shards == 1 else [seed, table_index, shard,
                                                                                      chunk_index]
                        df = build(chunk, np.random.default_rng(key))
                    else:
                        df = build(chunk)
                    writer.write(df)
                    del df, chunk
                    done += 1
                    if progress is not None:
                        progress(name, done, total)
    products = [cohort.PRODUCTS[k] for k in (0, 1) if (eps["episode"] == k + 1).any()]
    diseases = [
        d for d, present in (("DLBCL", (~pat["is_all"]).any()), ("B-ALL", pat["is_all"].any())) if present
    ]
    if disease is not None:  # one product, one diagnosis
        dx, product = designs.DISEASES[disease][:2]
        products, diseases = [cohort.PRODUCTS[product]], [tables.DIAGNOSES[dx]]
    if design == "sequential":
        toml = study_toml(patients, seed, data_cutoff, products, diseases)
    else:
        toml = design_study_toml(design, patients, seed, data_cutoff, products, diseases, crossover, disease)
    (out / "study.toml").write_text(toml, encoding="utf-8")


def study_toml(
    patients: int, seed: int, data_cutoff: dt.date, products: list[str], diseases: list[str]
) -> str:
    """The study metadata and analysis plan; the plan names only products and diseases present."""
    return _study_toml(f"seed {seed}", f"simulated-{patients}-seed-{seed}",
                       f"Simulated sequential CD19 then CD22 CAR-T cohort ({patients} patients, seed {seed})",
                       data_cutoff, products, diseases, survival_origin='from_product = "CD19 CAR-T"\n')


def _days(days) -> str:
    """The simulator's post-infusion response assessment days (myeloma.DAYS, cll.DAYS) as a TOML list body."""
    return ", ".join(str(int(d)) for d in days if d > 0)


def _study_toml(written_by: str, study_id: str, title: str, data_cutoff: dt.date, products: list[str],
                diseases: list[str], survival_origin: str = "", extra: str = "") -> str:
    """The [study] table and the plan every simulated design shares; ``extra`` follows (populations ...)."""
    products_toml = ", ".join(f'"{p}"' for p in products)
    diseases_toml = ", ".join(f'"{d}"' for d in diseases)
    return f"""# Synthetic study written by cartkit.simulate ({written_by}); no real patient data.
[study]
id = "{study_id}"
title = "{title}"
reference = "synthetic: cartkit.simulate"
data_cutoff = {data_cutoff.isoformat()}

[plan]
products = [{products_toml}]
diseases = [{diseases_toml}]
crs_system = "astct2019"
icans_system = "astct2019"
ctcae_version = "5.0"
quantile_method = "r7"
kinetic_analytes = ["car_t_pct_cd3", "car_dna", "il6", "il2r", "il8", "tnfa"]
kinetics_window = [0, 28]

[plan.response_days]
lymphoma = [30, 90]
all = [28]
myeloma = [{_days(myeloma.DAYS)}]
cll = [{_days(cll.DAYS)}]

[plan.survival]
{survival_origin}endpoints = ["pfs", "os"]
group_by = "diagnosis"
censor_at_hsct = true
landmark_day = 180
time_unit = "months"
{extra}"""


def design_study_toml(design: str, patients: int, seed: int, data_cutoff: dt.date, products: list[str],
                      diseases: list[str], crossover: bool = False, disease: str | None = None) -> str:
    """study.toml of the single-arm and randomised designs: their populations and endpoints (docs/plan.md).

    Randomised: intention to treat (all randomised, primary) and the infused patients; EFS (progression,
    relapse, new therapy or death; ZUMA-7's definition without its "stable disease by day 150" event, as
    the standard-of-care arm's responses are not simulated) and OS from randomisation, by arm.
    Single-arm: the leukapheresed (ITT) and infused (primary) patients; PFS, OS and duration of response
    from the infusion, OS from leukapheresis."""
    if design == "randomised":
        title = (f"Simulated randomised trial: CD19 CAR-T vs standard of care{' with crossover' if crossover else ''}"
                 f" ({patients} patients, seed {seed})")
        populations = """
[[plan.population]]
name = "ITT"
label = "Intention to treat: all randomised patients"
rule = "randomised"
primary = true

[[plan.population]]
name = "infused"
label = "Patients infused with CAR-T"
rule = "infused"
"""
        endpoints = """
[[plan.endpoint]]
name = "EFS"
label = "Event-free survival"
origin = "randomisation"
events = ["progression", "relapse", "new_therapy", "death"]
hsct = "ignore"
reference = "standard of care"
time_unit = "months"
populations = ["ITT"]

[[plan.endpoint]]
name = "OS"
label = "Overall survival"
origin = "randomisation"
events = ["death"]
hsct = "ignore"
reference = "standard of care"
time_unit = "months"
populations = ["ITT"]
"""
    else:
        title = f"Simulated single-arm {products[0] if disease else 'CD19 CAR-T'} trial" + (
            f" in {'multiple myeloma' if disease == 'myeloma' else disease}" if disease else "") + (
            f" ({patients} patients, seed {seed})")
        populations = """
[[plan.population]]
name = "leukapheresed"
label = "All leukapheresed patients (intention to treat)"
rule = "leukapheresed"

[[plan.population]]
name = "infused"
label = "Patients infused with CAR-T"
rule = "infused"
primary = true
"""
        endpoints = """
[[plan.endpoint]]
name = "PFS"
label = "Progression-free survival"
origin = "first infusion"
events = ["progression", "relapse", "death"]
hsct = "censor"
time_unit = "months"
populations = ["infused"]

[[plan.endpoint]]
name = "OS"
label = "Overall survival from infusion"
origin = "first infusion"
events = ["death"]
hsct = "ignore"
time_unit = "months"
populations = ["infused"]

[[plan.endpoint]]
name = "OS from leukapheresis"
origin = "leukapheresis"
events = ["death"]
hsct = "ignore"
time_unit = "months"
populations = ["leukapheresed"]

[[plan.endpoint]]
name = "DOR"
label = "Duration of response"
origin = "first response"
events = ["progression", "relapse", "death"]
hsct = "censor"
time_unit = "months"
populations = ["infused"]
"""
    if disease is not None:  # myeloma and CLL record MRD: PFS by MRD status at six months (docs/survival.md)
        endpoints += MRD_LANDMARK
    return _study_toml(f"design {design}, seed {seed}", f"simulated-{design}-{patients}-seed-{seed}", title,
                       data_cutoff, products, diseases, extra=populations + endpoints)


# the disease cohorts' PFS by MRD status ([plan.mrd_landmark], study/plan_mrd.py): the landmark at six months
# (myeloma MRD is tested on days 28 and 168 by then, CLL MRD at its assessments: simulate/myeloma.py, cll.py)
MRD_LANDMARK = """
[plan.mrd_landmark]
day = 180
endpoint = "PFS"
not_evaluable = "positive"
"""


class _TableWriter:
    """Appends frames of one table to a Parquet or CSV file."""

    def __init__(self, path: Path, format: str):
        self.path = path
        self.format = format
        self._writer = None
        self._file = None
        self._empty = True

    def __enter__(self):
        return self

    def write(self, df: pl.DataFrame) -> None:
        if self.format == "csv":
            if self._file is None:
                self._file = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
                df.write_csv(self._file, include_header=True)
            else:
                df.write_csv(self._file, include_header=False)
        else:
            import pyarrow.parquet as pq

            table = df.to_arrow()
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._writer.write_table(table)

    def __exit__(self, *exc):
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
        return False
