"""The two-group hazard ratio of the [plan.survival] tables never stops the report.

A Cox fit that cannot be made gives a row with no estimate and the reason in hr_warning (no traceback);
a boolean grouping column (its groups spelled "false"/"true" once cast to strings) is compared against
its first group, with R's hazard ratio.
"""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cartkit.analysis.survival_analysis import _two_group_hazard_ratio, survival_analysis


def test_a_cox_fit_that_fails_gives_a_row_saying_why():
    # a negative time (an event dated before day 0) is rejected by the model: the fit raises ValueError
    time = np.array([-1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([True, True, False, True, True, False])
    group = np.array(["a", "a", "a", "b", "b", "b"])
    row = _two_group_hazard_ratio(time, event, group, "a")
    assert row["hr"] is None and row["hr_lower"] is None and row["hr_upper"] is None and row["hr_pvalue"] is None
    assert row["hr_comparison"] == "b vs a"
    assert row["hr_warning"].startswith("no hazard ratio: the Cox model could not be fitted")
    assert "times must be >= 0" in row["hr_warning"]
    # a reference that is not one of the groups: the same, never a traceback
    row = _two_group_hazard_ratio(time[1:], event[1:], group[1:], "False")
    assert row["hr"] is None and "is not one of the groups" in row["hr_warning"]


def test_boolean_groups_get_their_hazard_ratio():
    # before: reference str(False) = "False" against the groups "false"/"true": ValueError, the report stopped
    days = [10, 20, 30, 40, 50, 60, 70, 80]
    events = [1, 1, 0, 1, 1, 1, 0, 1]
    f = pl.DataFrame({"patient_id": [str(i) for i in range(8)], "episode": [1] * 8, "g": [True, False] * 4,
                      "pfs_days": days, "pfs_event": events, "os_days": days, "os_event": events})
    tests = survival_analysis({"x": f}, "g", ("pfs",), 30)[2]
    row = tests.row(0, named=True)
    # R 4.x, survival 3.5: summary(coxph(Surv(t, e) ~ g, ties = "efron")), g a factor with levels false, true
    assert row["hr_comparison"] == "true vs false"
    assert row["hr"] == pytest.approx(0.873276705576692, abs=1e-6)
    assert row["hr_lower"] == pytest.approx(0.1438395953804, abs=1e-6)
    assert row["hr_upper"] == pytest.approx(5.30182389964368, abs=1e-6)
    assert row["hr_pvalue"] == pytest.approx(0.882931479091063, abs=1e-6)
