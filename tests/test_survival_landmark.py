"""Landmark survival by group and median follow-up with its CI, against R 4.2 / survival 3.5.3.

Data (R):
    t <- c(5, 8, 8, 12, 15, 15, 20, 22, 30, 34, 40, 45, 3, 6, 6, 9, 11, 14, 18, 25, 7, 10, 13, 13, 16, 21, 28,
           33, 39, 4, 12, 19)
    e <- c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0)
    g <- c(rep("A",12), rep("B",8), rep("C",9), rep("D", 3))   # D: no events, censored at its last time 19
References: s <- summary(survfit(Surv(t, e) ~ g, conf.type=CT), times=day, extend=TRUE), printed with
options(digits=15) as data.frame(strata, time, n.risk, n.event, n.censor, surv, std.err, lower, upper).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cartkit.survival import landmark, median_followup

T = [5, 8, 8, 12, 15, 15, 20, 22, 30, 34, 40, 45, 3, 6, 6, 9, 11, 14, 18, 25, 7, 10, 13, 13, 16, 21, 28, 33, 39,
     4, 12, 19]
E = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0]
G = ["A"] * 12 + ["B"] * 8 + ["C"] * 9 + ["D"] * 3
NA = float("nan")

# (day, conf.type) -> rows for A, B, C, D: n.risk n.event n.censor surv se lower upper
R_SUMMARY = {
    (15, "log"): """
        8 4 2 0.648148148148148 0.142611296940098 0.421100135271266 0.997615499879274
        2 5 1 0.312500000000000 0.178152410171740 0.102232853052319 0.955233538772734
        5 2 2 0.750000000000000 0.153093108923949 0.502701841294047 1.000000000000000
        1 0 2 1.000000000000000 0.000000000000000 1.000000000000000 1.000000000000000""",
    (15, "log-log"): """
        8 4 2 0.648148148148148 0.142611296940098 0.3096622270171608 0.851797512335439
        2 5 1 0.312500000000000 0.178152410171740 0.0478494747394415 0.640770420515070
        5 2 2 0.750000000000000 0.153093108923949 0.3148071137055191 0.930898317090628
        1 0 2 1.000000000000000 0.000000000000000 nan nan""",
    (15, "plain"): """
        8 4 2 0.648148148148148 0.142611296940098 0.368635142357009 0.927661153939287
        2 5 1 0.312500000000000 0.178152410171740 0.000000000000000 0.661672307695618
        5 2 2 0.750000000000000 0.153093108923949 0.449943020227793 1.000000000000000
        1 0 2 1.000000000000000 0.000000000000000 1.000000000000000 1.000000000000000""",
    # day 19 = D's last time (a censoring): still in its follow-up
    (19, "log"): """
        6 4 2 0.648148148148148 0.142611296940098 0.421100135271266 0.997615499879274
        1 5 2 0.312500000000000 0.178152410171740 0.102232853052319 0.955233538772734
        4 3 2 0.600000000000000 0.181659021245850 0.331464624343297 1.000000000000000
        1 0 3 1.000000000000000 0.000000000000000 1.000000000000000 1.000000000000000""",
    (19, "log-log"): """
        6 4 2 0.648148148148148 0.142611296940098 0.3096622270171608 0.851797512335439
        1 5 2 0.312500000000000 0.178152410171740 0.0478494747394415 0.640770420515070
        4 3 2 0.600000000000000 0.181659021245850 0.1954958660849980 0.852254345762209
        1 0 3 1.000000000000000 0.000000000000000 nan nan""",
    # D row, days 21 and 25: past D's follow-up; R (extend=TRUE) prints "0 0 3 1 0 1 1" (carried forward),
    # cartkit gives NaN (test_landmark_beyond_follow_up_is_nan_not_carried_forward)
    (21, "plain"): """
        5 5 2 0.540123456790123 0.154428117821791 0.237449907659105 0.842797005921142
        1 5 2 0.312500000000000 0.178152410171740 0.000000000000000 0.661672307695618
        4 3 3 0.600000000000000 0.181659021245850 0.243954860891339 0.956045139108662
        0 0 3 nan nan nan nan""",
    # day 25: B's last subject dies at 25 (S = 0: R prints se NaN and NA limits)
    (25, "log"): """
        4 5 3 0.540123456790123 0.154428117821791 0.308406673461867 0.94593721108627
        1 6 2 0.000000000000000 nan nan nan
        3 3 3 0.600000000000000 0.181659021245850 0.331464624343297 1.00000000000000
        0 0 3 nan nan nan nan""",
}


@pytest.mark.parametrize("key", list(R_SUMMARY))
def test_landmark_matches_r_summary_times(key):
    day, conf_type = key
    expected = np.array([[float(v) for v in line.split()] for line in R_SUMMARY[key].strip().splitlines()])
    got = landmark(T, E, G, day, conf_type=conf_type)
    assert got["group"].to_list() == ["A", "B", "C", "D"]
    assert got["day"].to_list() == [day] * 4
    cols = ["n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"]
    np.testing.assert_allclose(got.select(cols).to_numpy().astype(float), expected, rtol=1e-9, atol=1e-14)


def test_landmark_beyond_follow_up_is_nan_not_carried_forward():
    # R: summary(survfit(Surv(t, e) ~ g), times=21) stops ("no points selected for one or more curves");
    # with extend=TRUE it prints D: n.risk 0, surv 1 (carried forward). cartkit: n_risk 0 and NaN.
    d = landmark(T, E, G, 21).filter(pl.col("group") == "D")
    assert d["n_risk"][0] == 0 and np.isnan(d["survival"][0]) and np.isnan(d["upper"][0])


def test_landmark_groups_in_r_factor_order_and_errors():
    got = landmark([1, 2, 3, 4], [1, 0, 1, 0], [2, 10, 2, 10], 1)
    assert got["group"].to_list() == [2, 10]  # numbers sorted as numbers, like factor(g)
    with pytest.raises(ValueError, match="day"):
        landmark(T, E, G, -1)
    with pytest.raises(ValueError, match="landmark: group must have one value per subject"):
        landmark(T, E, G[:-1], 10)
    with pytest.raises(ValueError, match="conf_type"):
        landmark(T, E, G, 10, conf_type="logit")


@pytest.mark.parametrize(
    ("time", "event", "conf_type", "expected"),
    [
        # quantile(survfit(Surv(t, 1 - e) ~ 1, conf.type=CT), 0.5): 22 (19, NA) log; 22 (18, NA) log-log, plain
        (T, E, "log", (22, 19, NA)),
        (T, E, "log-log", (22, 18, NA)),
        (T, E, "plain", (22, 18, NA)),
        # t2 <- c(30, 45, 60, 60, 90, 120, 150, 180, 200, 240, 270, 300, 365, 400, 450, 500, 14, 21, 75, 100)
        # e2 <- c(rep(0, 16), 1, 1, 1, 1); quantile(survfit(Surv(t2, 1 - e2) ~ 1, conf.type=CT), 0.5):
        # log 200 (120, 400); log-log 200 (90, 300); plain 200 (120, 300)
        ([30, 45, 60, 60, 90, 120, 150, 180, 200, 240, 270, 300, 365, 400, 450, 500, 14, 21, 75, 100],
         [0] * 16 + [1] * 4, "log", (200, 120, 400)),
        ([30, 45, 60, 60, 90, 120, 150, 180, 200, 240, 270, 300, 365, 400, 450, 500, 14, 21, 75, 100],
         [0] * 16 + [1] * 4, "log-log", (200, 90, 300)),
        ([30, 45, 60, 60, 90, 120, 150, 180, 200, 240, 270, 300, 365, 400, 450, 500, 14, 21, 75, 100],
         [0] * 16 + [1] * 4, "plain", (200, 120, 300)),
    ],
)
def test_median_followup_with_confidence_interval(time, event, conf_type, expected):
    fu = median_followup(time, event, conf_type=conf_type)
    np.testing.assert_allclose([fu.median, *fu.median_ci], expected, equal_nan=True)
    assert fu.n == len(time)


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_landmark_before_the_first_time_is_one_with_limits_one_as_r(conf_type):
    # R 4.x, survival 3.5.3: f <- survfit(Surv(c(1, 2, 3, 4), c(0, 1, 1, 0)) ~ 1, conf.type = CT)
    #   summary(f, times = 0.5): surv 1, std.err 0, lower 1, upper 1 for every conf.type (R pads the curve with
    #   its start, S = 1 with limits 1), while at time 1 (a censoring, S = 1) log-log gives NA limits
    #   (survfit_confint: p == 1 -> NA). cartkit gave NaN limits before the first time under log-log.
    out = landmark([1, 2, 3, 4], [0, 1, 1, 0], ["a"] * 4, 0.5, conf_type=conf_type).row(0, named=True)
    assert (out["n_risk"], out["survival"], out["std_err"], out["lower"], out["upper"]) == (4, 1.0, 0.0, 1.0, 1.0)
    at_one = landmark([1, 2, 3, 4], [0, 1, 1, 0], ["a"] * 4, 1, conf_type=conf_type).row(0, named=True)
    if conf_type == "log-log":
        assert np.isnan(at_one["lower"]) and np.isnan(at_one["upper"])
    else:
        assert (at_one["lower"], at_one["upper"]) == (1.0, 1.0)
