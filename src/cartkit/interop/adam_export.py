"""``export_adam(study_dir, out)``: a cartkit study -> ADaM datasets (docs/adam.md).

    from cartkit.interop.adam_export import export_adam
    export_adam("examples/seed-study", "adam")

The study is loaded (a study with errors raises ``StudyError`` with every located problem, and
nothing is written) and derived (``cartkit.derive``); each dataset is built from the derived
tables and written as XPT v5, Dataset-JSON v1.1 and a metadata file (``adam_write``), with one
Define-XML 2.1 ``define.xml`` for all of them (``adam_define``, checked against the schema). The folder
is written by the rule of ``cartkit.report.output_folder`` with its own manifest
(``.cartkit-adam.json``): ``out`` must be new, empty, or an earlier ADaM export of cartkit that
holds nothing but its files, unchanged; it is written whole beside ``out`` and swapped into place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cartkit.report.output_folder import ADAM_EXPORT


@dataclass
class AdamExport:
    out: Path
    datasets: dict[str, int]  # name -> records
    notes: list[str] = field(default_factory=list)


def build_datasets(study, derived) -> list:
    """Every ADaM dataset of ``study`` (loaded) and ``derived`` (``cartkit.derive.derive(study)``)."""
    from cartkit.interop.adam_adae import build_adae
    from cartkit.interop.adam_adlb import build_adlb
    from cartkit.interop.adam_adpc import build_adpc, build_adpp
    from cartkit.interop.adam_adrs import build_adrs
    from cartkit.interop.adam_adsl import build_adsl
    from cartkit.interop.adam_adtte import build_adtte

    adsl = build_adsl(study)
    out = [adsl, build_adae(study, derived, adsl.frame), build_adlb(study, adsl.frame),
           build_adrs(study, derived, adsl.frame)]
    if derived.tte:
        out.append(build_adtte(study, derived, adsl.frame))
    out += [build_adpc(study, adsl.frame), build_adpp(study, derived, adsl.frame)]
    return out


def export_adam(study_dir: str | Path, out: str | Path) -> AdamExport:
    """Write the ADaM datasets of the study folder ``study_dir`` into the new folder ``out``."""
    from cartkit.derive import derive
    from cartkit.interop.adam_define import define_xml, dictionary_versions
    from cartkit.interop.adam_write import write_dataset
    from cartkit.interop.export_folder import export_folder

    with export_folder(study_dir, out, ADAM_EXPORT) as run:
        study, tmp, version, created = run.study, run.tmp, run.version, run.created
        datasets = build_datasets(study, derive(study))
        notes: list[str] = []
        for ds in datasets:
            write_dataset(ds, tmp, study_oid=study.meta.id, created=created, version=version)
            notes += [f"{ds.name}: {n}" for n in ds.notes]
        (tmp / "define.xml").write_text(define_xml(datasets, study_oid=study.meta.id, study_name=study.meta.title,
                                                   created=created, version=version,
                                                   dictionary_versions=dictionary_versions(study)), encoding="utf-8")
        index = {"study": study.meta.id, "generator": f"cartkit {version}", "created": created,
                 "datasets": [{"name": ds.name, "label": ds.label, "records": ds.frame.height,
                               "files": [f"{ds.name.lower()}.xpt", f"{ds.name.lower()}.json",
                                         f"{ds.name.lower()}.metadata.json"]} for ds in datasets],
                 "define": "define.xml",
                 "notes": notes}
        (tmp / "datasets.json").write_text(json.dumps(index, indent=1, ensure_ascii=False), encoding="utf-8")
    return AdamExport(Path(out), {ds.name: ds.frame.height for ds in datasets}, notes)
