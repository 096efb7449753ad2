"""Study data in and out of other systems: REDCap projects, workbook templates, SPSS files."""
