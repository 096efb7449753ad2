"""Define-XML 2.1 (``define.xml``) for the ADaM datasets of ``cartkit adam export``, written with
odmlib (PyPI ``odmlib``, its Define-XML 2.1 object model) and checked against the Define-XML 2.1
schema odmlib ships (``define2-1-0.xsd``) before it is written; docs/adam.md#define-xml.

Per dataset an ItemGroupDef (Purpose "Analysis", the ADaM class, its keys, ``def:leaf`` pointing at
the XPT file); per variable an ItemDef with its label, type, length, ``def:Origin`` (Collected,
Derived or Assigned, with the study column or derivation it comes from) and, for a derived
variable, a MethodDef (Type "Computation") holding the derivation; codelists for the flags ("Y")
and each dataset's PARAMCD (decoded by PARAM).
"""

from __future__ import annotations

from cartkit.interop.adam_write import (
    ASSIGNED,
    COLLECTED,
    DATE,
    DERIVED,
    FLOAT,
    INTEGER,
    TEXT,
    AdamDataset,
    typed,
)
from cartkit.interop.adam_write import text_lengths as _text_lengths

DEFINE_VERSION = "2.1.0"
ADAMIG = ("ADaMIG", "1.1")  # ADaM Implementation Guide version the variable conventions follow
# Define-XML 2.1 ItemGroupDef def:Class (ADaM dataset classes)
ADAM_CLASS = {"ADSL": "SUBJECT LEVEL ANALYSIS DATASET", "ADAE": "OCCURRENCE DATA STRUCTURE"}
BDS = "BASIC DATA STRUCTURE"
SDTMIG = ("SDTMIG", "3.3")
# SDTM dataset classes (Define-XML 2.1 def:Class for Purpose "Tabulation"; SDTM v1.7 observation classes)
SDTM_CLASS = {
    **dict.fromkeys(("DM", "SE", "SV"), "SPECIAL PURPOSE"),
    **dict.fromkeys(("EX", "CM", "PR", "EC", "AG"), "INTERVENTIONS"),
    **dict.fromkeys(("AE", "DS", "CE", "MH"), "EVENTS"),
    **dict.fromkeys(("LB", "VS", "PC", "PP", "QS", "RS", "TR", "TU", "DD", "SS", "MB", "EG"), "FINDINGS"),
    "FA": "FINDINGS ABOUT", "TS": "TRIAL DESIGN",
}
_DATA_TYPE = {TEXT: "text", INTEGER: "integer", FLOAT: "float", DATE: "integer"}
_ORIGIN = {COLLECTED: "Collected", DERIVED: "Derived", ASSIGNED: "Assigned"}
# CDISC controlled terminology the export uses, with the NCI Thesaurus codes of the codelists and
# their terms (def:Alias Context "nci:ExtCodeID", Define-XML 2.1 section 5.3.4): codelist OID ->
# (name, NCI code, {value: NCI code}, variables using it). NY (C66742) holds Y (C49488) and N; ADaM
# flags use "Y" only. SEX (C66731): M C20197, F C16576, U C17998. AGEU (C66781): YEARS C29848.
NCI_CODELISTS: dict[str, tuple[str, str, dict[str, str], tuple[str, ...]]] = {
    "CL.SEX": ("Sex", "C66731", {"M": "C20197", "F": "C16576", "U": "C17998"}, ("SEX",)),
    "CL.AGEU": ("Age Unit", "C66781", {"YEARS": "C29848"}, ("AGEU",)),
}
NY_CODELIST, Y_TERM = "C66742", "C49488"


# Value-level metadata (Define-XML 2.1 section 5.3.6): per PARAMCD, the analysis value's own ItemDef
# (its parameter's name in the description), selected by a WhereClauseDef PARAMCD EQ code.
VLM_VARIABLES = ("AVAL",)
# AVALC beside AVAL (ADLB, ADPC: the character result of a qualified value, "<0.5"): value-level metadata for
# the parameters that have such a result only, so that a reader sees which parameters carry one
VLM_WHERE_PRESENT = ("AVALC",)


def _value_level(model, ds: AdamDataset, v, item, ref, pairs: list[tuple[str, str]]):
    """(ValueListDef, WhereClauseDefs, ItemDefs) of ``v`` (AVAL) in ``ds``, one per PARAMCD of ``pairs``."""
    import re

    refs, wheres, defs = [], [], []
    for order, (code, param) in enumerate(pairs, start=1):
        key = re.sub(r"[^A-Za-z0-9_]", "_", code)
        where = f"WC.{ds.name}.PARAMCD.{key}"
        wheres.append(model.WhereClauseDef(OID=where, RangeCheck=[model.RangeCheck(
            Comparator="EQ", SoftHard="Soft", ItemOID=f"IT.{ds.name}.PARAMCD",
            CheckValue=[model.CheckValue(_content=code)])]))
        oid = f"IT.{ds.name}.{v.name}.{key}"
        vref = model.ItemRef(ItemOID=oid, OrderNumber=order, Mandatory="No",
                             WhereClauseRef=[model.WhereClauseRef(WhereClauseOID=where)])
        if ref.MethodOID:
            vref.MethodOID = ref.MethodOID
        refs.append(vref)
        defs.append(model.ItemDef(OID=oid, Name=v.name, SASFieldName=v.name, DataType=item.DataType,
                                  Length=item.Length, Description=_text(model, f"{v.label} of {param} ({code})"),
                                  Origin=item.Origin))
    vl = f"VL.{ds.name}.{v.name}"
    item.ValueListRef = model.ValueListRef(ValueListOID=vl)
    return model.ValueListDef(OID=vl, ItemRef=refs), wheres, defs


# A dictionary-named variable whose coding is told by another variable of its record: AEDECOD is the
# MedDRA preferred term on a record with a MedDRA PT code (AEPTCD), cartkit's short-list term (the
# CTCAE term), "Infection" or a malignancy's kind on the others. Define-XML 2.1 (section 5.3.11, ItemDef
# def:CodeListRef: the codelist the variable's values are taken from) has no way to say "from MedDRA on
# some records": a dataset whose records are all coded keeps the MedDRA codelist on AEDECOD; one with
# uncoded records gives AEDECOD no codelist and a def:CommentDef counting them (docs/sdtm.md "MedDRA").
# The code and SOC variables keep MedDRA: their values are MedDRA or empty.
CODED_BY = {"AEDECOD": "AEPTCD"}


def partly_coded(ds: AdamDataset) -> dict[str, tuple[int, int]]:
    """{variable: (uncoded records, records)} of ``ds``'s dictionary variables (CODED_BY) that have
    records without the dictionary's code."""
    out = {}
    for v in ds.variables:
        code = CODED_BY.get(v.name)
        if not v.dictionary or code is None or code not in ds.frame.columns or v.name not in ds.frame.columns:
            continue
        uncoded = int((ds.frame[v.name].is_not_null() & ds.frame[code].is_null()).sum())
        if uncoded:
            out[v.name] = (uncoded, ds.frame.height)
    return out


def _partly_coded_comment(ds: AdamDataset, name: str, counts: tuple[int, int], versions: dict[str, str]) -> str:
    uncoded, n = counts
    v = next(v for v in ds.variables if v.name == name)
    version = f" {versions[v.dictionary]}" if versions.get(v.dictionary) else ""
    return (f"{v.dictionary}{version} preferred term on the {n - uncoded} of {n} records coded in {v.dictionary} "
            f"({CODED_BY[name]} not empty); {uncoded} record{'s are' if uncoded != 1 else ' is'} not coded and hold "
            f"the study's own term (cartkit's short list of CTCAE terms, 'Infection', a malignancy's kind), so "
            f"{name} names no {v.dictionary} codelist")


class DefineXmlError(ValueError):
    """The define.xml odmlib built does not validate against the Define-XML 2.1 schema."""


def _text(model, text: str):
    return model.Description(TranslatedText=[model.TranslatedText(_content=text, lang="en")])


def dictionary_versions(study) -> dict[str, str]:
    """The external dictionaries' versions the study states: MedDRA from study.toml [study] meddra_version."""
    version = getattr(study.meta, "meddra_version", "")
    return {"MedDRA": version} if version else {}


def _dictionary_codelists(model, datasets: list[AdamDataset], versions: dict[str, str], skip=frozenset()):
    """(codelists, {(dictionary, type): OID}) for the external dictionaries the variables name (MedDRA):
    one CodeList per dictionary and data type (names text, MedDRA codes integer) holding a
    def:ExternalCodeList with the Dictionary and, where the study states it, the Version (Define-XML 2.1
    section 5.3.4; ODM 1.3.2 ExternalCodeList). The study's own terms are not listed: MedDRA is licensed."""
    out, oids = [], {}
    for ds in datasets:
        for v in ds.variables:
            if not v.dictionary or (ds.name, v.name) in skip:  # skip: partly coded (partly_coded)
                continue
            data_type = _DATA_TYPE[v.type]
            key = (v.dictionary, data_type)
            if key in oids:
                continue
            oid = f"CL.{v.dictionary.upper()}" + ("" if data_type == "text" else f".{data_type.upper()}")
            ext = model.ExternalCodeList(Dictionary=v.dictionary)
            if versions.get(v.dictionary):
                ext.Version = versions[v.dictionary]
            out.append(model.CodeList(OID=oid, Name=v.dictionary + ("" if data_type == "text" else " codes"),
                                      DataType=data_type, ExternalCodeList=ext))
            oids[key] = oid
    return out, oids


def define_xml(datasets: list[AdamDataset], *, study_oid: str, study_name: str, created: str,
               version: str, tabulation: bool = False, folder: str = "",
               dictionary_versions: dict[str, str] | None = None) -> str:
    """The define.xml text of ``datasets`` (module docs); raises DefineXmlError if not schema-valid.
    ``tabulation``: SDTM datasets (Purpose "Tabulation", SDTMIG 3.3, the SDTM observation classes) instead
    of ADaM; ``folder``: where the XPT files are, relative to define.xml ("xpt/"); ``dictionary_versions``:
    the version of each external dictionary ({"MedDRA": "26.0"}; study.toml ``[study] meddra_version``)."""
    import odmlib.define_2_1.model as model

    kind = "SDTM" if tabulation else "ADAM"
    ig = SDTMIG if tabulation else ADAMIG
    mdv = model.MetaDataVersion(
        OID=f"MDV.{study_oid}.{kind}", Name=f"{study_oid} {'SDTM' if tabulation else 'ADaM'}",
        Description=f"{'SDTM' if tabulation else 'ADaM'} datasets written by cartkit", DefineVersion=DEFINE_VERSION)
    std = f"STD.{ig[0].upper()}"
    mdv.Standards = model.Standards(Standard=[model.Standard(
        OID=std, Name=ig[0], Type="IG", Version=ig[1], Status="Final")])
    items, methods, value_lists, where_clauses = [], [], [], []
    nci = "nci:ExtCodeID"
    codelists = [model.CodeList(OID="CL.Y", Name="No Yes Response (Y)", DataType="text",
                                Alias=[model.Alias(Context=nci, Name=NY_CODELIST)],
                                EnumeratedItem=[model.EnumeratedItem(CodedValue="Y", OrderNumber=1,
                                                                     Alias=[model.Alias(Context=nci, Name=Y_TERM)])])]
    used = {v.name for ds in datasets for v in ds.variables}
    by_variable = {}
    for oid, (name, code, terms, variables) in NCI_CODELISTS.items():
        if not used & set(variables):
            continue
        codelists.append(model.CodeList(
            OID=oid, Name=name, DataType="text", Alias=[model.Alias(Context=nci, Name=code)],
            EnumeratedItem=[model.EnumeratedItem(CodedValue=value, OrderNumber=i, Alias=[model.Alias(
                Context=nci, Name=term)]) for i, (value, term) in enumerate(terms.items(), start=1)]))
        by_variable.update(dict.fromkeys(variables, oid))
    partial = {(ds.name, name): counts for ds in datasets for name, counts in partly_coded(ds).items()}
    external, external_oid = _dictionary_codelists(model, datasets, dictionary_versions or {}, frozenset(partial))
    codelists += external
    comments = []
    for ds in datasets:
        frame = typed(ds)
        lengths = _text_lengths(frame, ds)
        param_list = None
        if {"PARAMCD", "PARAM"} <= set(frame.columns) and frame.height:
            param_list = f"CL.{ds.name}.PARAMCD"
            pairs = frame.select("PARAMCD", "PARAM").unique(maintain_order=True).sort("PARAMCD").rows()
            codelists.append(model.CodeList(OID=param_list, Name=f"{ds.name} Parameter Code", DataType="text",
                                            CodeListItem=[model.CodeListItem(
                                                CodedValue=code, OrderNumber=i,
                                                Decode=model.Decode(TranslatedText=[model.TranslatedText(
                                                    _content=param, lang="en")]))
                                                for i, (code, param) in enumerate(pairs, start=1)]))
        refs = []
        for order, v in enumerate(ds.variables, start=1):
            oid = f"IT.{ds.name}.{v.name}"
            ref = model.ItemRef(ItemOID=oid, OrderNumber=order, Mandatory="Yes" if v.name in ds.keys else "No")
            if v.name in ds.keys:
                ref.KeySequence = ds.keys.index(v.name) + 1
            origin = model.Origin(Type=_ORIGIN[v.origin])
            if v.origin == DERIVED:
                method = f"MT.{ds.name}.{v.name}"
                ref.MethodOID = method
                methods.append(model.MethodDef(OID=method, Name=f"Algorithm to derive {ds.name}.{v.name}",
                                               Type="Computation", Description=_text(model, v.source)))
                origin.Source = "Sponsor"
            else:
                origin.Description = _text(model, v.source)
            refs.append(ref)
            item = model.ItemDef(
                OID=oid, Name=v.name, SASFieldName=v.name, DataType=_DATA_TYPE[v.type],
                Length=min(lengths[v.name], 200) if v.type == TEXT else 8, Description=_text(model, v.label),
                Origin=[origin])
            if v.type == DATE:
                item.DisplayFormat = "DATE9."
            if v.type == TEXT and v.name.endswith("FL"):  # ADaM flags: "Y" or empty
                item.CodeListRef = model.CodeListRef(CodeListOID="CL.Y")
            elif v.name == "PARAMCD" and param_list is not None:
                item.CodeListRef = model.CodeListRef(CodeListOID=param_list)
            elif (ds.name, v.name) in partial:
                comment = f"COM.{ds.name}.{v.name}"
                item.CommentOID = comment
                comments.append(model.CommentDef(OID=comment, Description=_text(model, _partly_coded_comment(
                    ds, v.name, partial[(ds.name, v.name)], dictionary_versions or {}))))
            elif v.dictionary:
                item.CodeListRef = model.CodeListRef(CodeListOID=external_oid[(v.dictionary, _DATA_TYPE[v.type])])
            elif v.name in by_variable:
                item.CodeListRef = model.CodeListRef(CodeListOID=by_variable[v.name])
            vlm_pairs = pairs if v.name in VLM_VARIABLES and param_list is not None else None
            if v.name in VLM_WHERE_PRESENT and param_list is not None and "AVAL" in frame.columns:
                import polars as pl

                # typed text: an empty AVALC is "" (as SAS has it)
                present = set(frame.filter(pl.col(v.name).fill_null("") != "")["PARAMCD"].to_list())
                vlm_pairs = [(code, param) for code, param in pairs if code in present] or None
            if vlm_pairs is not None:
                vlm = _value_level(model, ds, v, item, ref, vlm_pairs)
                value_lists.append(vlm[0])
                known = {w.OID for w in where_clauses}  # AVAL's and AVALC's VLM share the PARAMCD clauses
                where_clauses.extend(w for w in vlm[1] if w.OID not in known)
                items.extend(vlm[2])
            items.append(item)
        leaf_id = f"LF.{ds.name}"
        group = model.ItemGroupDef(
            OID=f"IG.{ds.name}", Name=ds.name, SASDatasetName=ds.name,
            Repeating="No" if ds.name in ("ADSL", "DM") else "Yes",
            IsReferenceData="Yes" if ds.name == "TS" else "No", Purpose="Tabulation" if tabulation else "Analysis",
            Structure=ds.structure, ArchiveLocationID=leaf_id, StandardOID=std,
            Description=_text(model, ds.label), ItemRef=refs,
            Class=model.Class(Name=_class(ds.name, tabulation), SubClass=[
                model.SubClass(Name="TIME-TO-EVENT", ParentClass=BDS)] if ds.name == "ADTTE" else []),
            leaf=model.leaf(ID=leaf_id, href=f"{folder}{ds.name.lower()}.xpt",
                            title=model.title(_content=f"{ds.name.lower()}.xpt")))
        mdv.ItemGroupDef.append(group)
    mdv.ValueListDef = value_lists
    mdv.WhereClauseDef = where_clauses
    mdv.ItemDef = items
    mdv.CodeList = codelists
    mdv.MethodDef = methods
    mdv.CommentDef = comments
    study = model.Study(OID=f"ST.{study_oid}")
    study.GlobalVariables = model.GlobalVariables(
        StudyName=model.StudyName(_content=study_oid), StudyDescription=model.StudyDescription(_content=study_name or study_oid),
        ProtocolName=model.ProtocolName(_content=study_oid))
    study.MetaDataVersion = mdv
    odm = model.ODM(FileType="Snapshot", FileOID=f"DEF.{study_oid}.{kind}", CreationDateTime=created,
                    ODMVersion="1.3.2", Originator="cartkit", SourceSystem="cartkit", SourceSystemVersion=version,
                    Context="Other", Study=study)
    text = odm.to_xml_string(xml_declaration=True)
    problems = schema_problems(text)
    if problems:
        raise DefineXmlError("define.xml does not validate against Define-XML 2.1: " + "; ".join(problems[:5]))
    return text


def _class(name: str, tabulation: bool) -> str:
    if not tabulation:
        return ADAM_CLASS.get(name, BDS)
    return "RELATIONSHIP" if name.startswith("SUPP") else SDTM_CLASS.get(name, "FINDINGS")


def schema_problems(text: str) -> list[str]:
    """Reasons ``text`` is not valid against odmlib's Define-XML 2.1 schema (empty when valid)."""
    import xmlschema
    from odmlib.schema_manager import get_schema_path

    schema = xmlschema.XMLSchema(get_schema_path("define", "2.1"))
    return [str(e.reason or e.message) for e in schema.iter_errors(text)]
