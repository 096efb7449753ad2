"""``export_sdtm(study_dir, out)``: a cartkit study -> SDTM datasets (docs/sdtm.md "Export").

    from cartkit.interop.sdtm_export import export_sdtm
    export_sdtm("examples/seed-study", "sdtm")

The study is loaded (a study with errors raises ``StudyError`` with every located problem, and
nothing is written); each domain (:mod:`cartkit.interop.sdtm_export_domains`) is written as SAS
transport v5 in ``out/xpt/<domain>.xpt`` and as Dataset-JSON v1.1 in ``out/json/<domain>.json``
(the writers of :mod:`cartkit.interop.adam_write`), with ``out/metadata/<domain>.metadata.json``,
a Define-XML 2.1 ``out/define.xml`` (Purpose Tabulation, SDTMIG 3.3; :mod:`cartkit.interop.adam_define`,
schema-checked) and an index ``datasets.json``. ``cartkit sdtm import out/xpt`` (or ``out/json``) reads it back.

The folder follows the rule of ``cartkit.report.output_folder`` with its own manifest
(``.cartkit-sdtm.json``): ``out`` must be new, empty, or an earlier SDTM export of cartkit that
holds nothing but its files, unchanged; it is written whole beside ``out`` and swapped into place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cartkit.report.output_folder import SDTM_EXPORT


@dataclass
class SdtmExport:
    out: Path
    datasets: dict[str, int]  # name -> records
    notes: list[str] = field(default_factory=list)


def build_domains(study) -> tuple[list, list[str]]:
    """Every SDTM dataset of the loaded ``study`` and notes on what could not be written."""
    from cartkit.interop import sdtm_codes as C
    from cartkit.interop import sdtm_export_domains as D

    sid = study.meta.id
    out = [D.ts(study, sid), D.dm(study, sid), D.suppdm(study, sid), *D.mh(study, sid), *D.ex(study, sid), D.lb(study, sid),
           D.vs(study, sid), D.pc(study, sid), *D.ae(study, sid), D.cm(study, sid), *D.pr(study, sid),
           D.qs(study, sid), D.fa(study, sid), D.rs(study, sid), *D.tu_tr(study, sid), *D.ds_dd(study, sid),
           D.ce(study, sid), D.ss(study, sid)]
    notes = []
    written = set(C.LB_TESTS) | set(C.VS_TESTS) | set(C.PC_ANALYTES)
    left = study.measurements.filter(~pl.col("analyte").is_in(sorted(written)))
    if left.height:
        names = ", ".join(sorted(set(left["analyte"].to_list())))
        notes.append(f"{left.height} measurements of analytes with no SDTM test code ({names}) are not written "
                     "(interop/sdtm_codes.py maps each analyte to its LB, VS or PC test)")
    return [d for d in out if d is not None], notes


def export_sdtm(study_dir: str | Path, out: str | Path) -> SdtmExport:
    """Write the SDTM datasets of the study folder ``study_dir`` into the new folder ``out``."""
    from cartkit.interop.adam_define import define_xml, dictionary_versions
    from cartkit.interop.adam_write import dataset_json, metadata, write_xpt
    from cartkit.interop.export_folder import export_folder

    with export_folder(study_dir, out, SDTM_EXPORT) as run:
        study, tmp, version, created = run.study, run.tmp, run.version, run.created
        datasets, notes = build_domains(study)
        for sub in ("xpt", "json", "metadata"):
            (tmp / sub).mkdir()
        for ds in datasets:
            base = ds.name.lower()
            notes += [f"{ds.name}: {n}" for n in write_xpt(ds, tmp / "xpt" / f"{base}.xpt")]
            doc = dataset_json(ds, study_oid=study.meta.id, created=created, version=version)
            (tmp / "json" / f"{base}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            (tmp / "metadata" / f"{base}.metadata.json").write_text(
                json.dumps(metadata(ds, version=version), indent=1, ensure_ascii=False), encoding="utf-8")
        (tmp / "define.xml").write_text(define_xml(datasets, study_oid=study.meta.id, study_name=study.meta.title,
                                                   created=created, version=version, tabulation=True, folder="xpt/",
                                                   dictionary_versions=dictionary_versions(study)),
                                        encoding="utf-8")
        index = {"study": study.meta.id, "generator": f"cartkit {version}", "created": created,
                 "standard": "SDTM (SDTMIG 3.3 domains); codes cartkit chose are listed in docs/sdtm.md",
                 "datasets": [{"name": ds.name, "label": ds.label, "records": ds.frame.height,
                               "files": [f"xpt/{ds.name.lower()}.xpt", f"json/{ds.name.lower()}.json",
                                         f"metadata/{ds.name.lower()}.metadata.json"]} for ds in datasets],
                 "define": "define.xml", "notes": notes}
        (tmp / "datasets.json").write_text(json.dumps(index, indent=1, ensure_ascii=False), encoding="utf-8")
    return SdtmExport(Path(out), {ds.name: ds.frame.height for ds in datasets}, notes)
