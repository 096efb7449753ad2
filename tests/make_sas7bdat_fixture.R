# Writes tests/data/infusions.sas7bdat: the seed study's infusions table as a SAS data set, so that
# the SAS reader is tested on a file cartkit did not write (pyreadstat cannot write .sas7bdat).
# Run from the repository root: Rscript tests/make_sas7bdat_fixture.R   (R haven 2.5.1)
library(haven)
x <- read.csv("examples/seed-study/infusions.csv", stringsAsFactors = FALSE)
x$infusion_date <- as.Date(x$infusion_date)
names(x) <- toupper(names(x))  # SAS programs usually write names in capitals
suppressWarnings(write_sas(x, "tests/data/infusions.sas7bdat"))  # write_sas is deprecated; ReadStat reads it
