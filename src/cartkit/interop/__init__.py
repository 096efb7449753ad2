"""Study data in and out of other systems: REDCap projects, workbook templates, SPSS files (issue 11).

* ``cartkit.interop.redcap_*``: REDCap data dictionaries, exports and imports;
* ``cartkit.interop.template``: the clinician's workbook (``cartkit template OUT.xlsx``), a sheet
  per table with drop-downs and checks, and the same layout for any study written as XLSX;
* ``cartkit.interop.spss``: SPSS ``.sav`` and SAS ``.sas7bdat`` / ``.xpt`` tables read as a study
  folder's tables, and ``.sav`` files written with variable and value labels;
* ``cartkit.interop.convert``: a study folder written in another format (``cartkit convert``);
* ``cartkit.interop.sdtm_import`` (and ``sdtm_read``): CDISC SDTM datasets as a new study folder
  (``cartkit sdtm import``, issue 12, docs/sdtm.md);
* ``cartkit.interop.adam_export`` (with ``adam_adsl``, ``adam_adae``, ``adam_adlb``, ``adam_adrs``,
  ``adam_adtte``, ``adam_adpc``, ``adam_write``, ``adam_define``): a study's ADaM datasets as XPT v5,
  Dataset-JSON v1.1, metadata and Define-XML 2.1 (``cartkit adam export``, docs/adam.md).

Everything here reads and writes through the schema (``cartkit.study.schema``) and the
vocabularies (``cartkit.study.vocabulary``); nothing restates a column list.
"""
