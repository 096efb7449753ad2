"""Write examples/myeloma-study/: a synthetic single-arm BCMA CAR-T trial in multiple myeloma.

Every value is simulated by ``cartkit.simulate`` (``simulate_study(..., disease="myeloma")``; the shapes
and their sources are in src/cartkit/simulate/myeloma.py): no real patient data. The folder holds the
study tables as CSV, the study.toml the simulator writes (single-arm plan: leukapheresed and infused
populations; PFS, OS and duration of response) and a README saying what it is.

Deterministic: the same seed writes byte-identical files (tests/test_myeloma_study.py checks that this
script's output equals the committed folder). Run from the repository root:
    python scripts/make_myeloma_study.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "myeloma-study"
PATIENTS = 40
SEED = 2016  # the year of the IMWG criteria
CUTOFF = dt.date(2025, 12, 31)

README = f"""# Synthetic multiple myeloma study (BCMA CAR-T)

**Synthetic data: no real patient.** Written by `scripts/make_myeloma_study.py` with
`cartkit.simulate` (`disease="myeloma"`, {PATIENTS} patients, seed {SEED}, data cut-off
{CUTOFF.isoformat()}); regenerate it with `python scripts/make_myeloma_study.py`, never by hand.

A single-arm trial of one BCMA CAR-T product: every patient enrolled and leukapheresed, about 10%
never infused (with the reason). Per infused patient: CAR-T kinetics, cytokines, vital signs and
supportive care behind the recorded ASTCT 2019 CRS and ICANS grades, blood counts, serum and urine
M-protein and serum free light chains over time, IMWG 2016 assessments (immunofixation, marrow
plasma cells, clonality, plasmacytomas, MRD by NGS at 10^-5 or 10^-6) with the recorded responses,
progression, death and last contact, infections (Hill 2018's early and late densities) and IgG. The
shapes (response depth, M-protein half-life, MRD negativity, progression and survival) and the trials
they follow are described in `src/cartkit/simulate/myeloma.py`; the BCMA CAR kinetics (peak, timing
and decline in the range of CARTITUDE-1 and KarMMa, sampled to day 90) in
`src/cartkit/simulate/kinetics.py`.

The plan (study.toml) asks for PFS by MRD status at a day-180 landmark (`[plan.mrd_landmark]`,
docs/survival.md): MRD by NGS at 10^-5 (IMWG 2016) from the tests done by then, PFS counted from the
landmark in the patients free of progression at it.

The recorded IMWG response of each assessment is the one cartkit derives from the values, except a
few recorded one category better, so that the report lists derived-vs-recorded disagreements.

    cartkit run examples/myeloma-study --out myeloma-report
"""


def main(out: Path = OUT) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    from cartkit.simulate import simulate_study

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sim = simulate_study(Path(tmp) / "sim", patients=PATIENTS, seed=SEED, format="csv", disease="myeloma",
                             data_cutoff=CUTOFF)
        for f in sorted(sim.glob("*.csv")) + [sim / "study.toml"]:
            (out / f.name).write_bytes(f.read_bytes())
    (out / "README.md").write_text(README, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(f"wrote {main()}")
