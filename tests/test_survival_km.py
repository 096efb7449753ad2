"""Kaplan-Meier against R 4.2 / survival 3.5.3 ``survfit``.

The tables below are R's own printout of
    f <- survfit(Surv(t, e) ~ 1, conf.type=CT)
    print(data.frame(time=f$time, n.risk=f$n.risk, n.event=f$n.event, n.censor=f$n.censor,
                     surv=f$surv, se=f$std.err*f$surv, lower=f$lower, upper=f$upper), digits=15)
(se = the standard error ``summary(f)`` prints), and the medians are ``quantile(f, 0.5)``.
The data sets are d1..d6 below and ``survival::aml`` (time, status).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartkit.survival import kaplan_meier, median_followup

DATA = {
    "d1": ([5, 8, 8, 12, 15, 15, 20, 22, 30, 34, 40, 45], [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0]),
    "d2": ([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1]),  # S = 0.5 exactly on [3, 5): median is a midpoint
    "d3": ([2, 3, 3, 6, 7, 10], [1, 1, 1, 1, 1, 1]),  # everyone dies: S reaches 0
    "aml": (  # survival::aml
        [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
        [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    ),
    "d5": ([3, 5, 7, 9, 11, 13], [0, 1, 0, 0, 0, 1]),  # censored first (S = 1 row)
    "d6": ([3, 5, 7, 9, 11, 13], [0, 1, 0, 0, 0, 0]),  # median not reached
}

R_TABLES = {
    ("d1", "log"): """
   time n.risk n.event n.censor              surv                 se             lower             upper
1     5     12       1        0 0.916666666666667 0.0797855923130282 0.772900973689615 1.000000000000000
2     8     11       1        1 0.833333333333333 0.1075828707279838 0.647036987013362 1.000000000000000
3    12      9       1        0 0.740740740740741 0.1294825738481668 0.525865823442666 1.000000000000000
4    15      8       1        1 0.648148148148148 0.1426112969400977 0.421100135271266 0.997615499879274
5    20      6       1        0 0.540123456790123 0.1544281178217909 0.308406673461867 0.945937211086270
6    22      5       0        1 0.540123456790123 0.1544281178217909 0.308406673461867 0.945937211086270
7    30      4       1        0 0.405092592592593 0.1645889583927588 0.182688603174501 0.898249840011325
8    34      3       0        1 0.405092592592593 0.1645889583927588 0.182688603174501 0.898249840011325
9    40      2       1        0 0.202546296296296 0.1651813620777987 0.040958970699897 1.000000000000000
10   45      1       0        1 0.202546296296296 0.1651813620777987 0.040958970699897 1.000000000000000
""",
    ("d1", "log-log"): """
   time n.risk n.event n.censor              surv                 se              lower             upper
1     5     12       1        0 0.916666666666667 0.0797855923130282 0.5389771805707413 0.987825565400458
2     8     11       1        1 0.833333333333333 0.1075828707279838 0.4817149421953789 0.955509365728065
3    12      9       1        0 0.740740740740741 0.1294825738481668 0.3906761276077819 0.908623869404062
4    15      8       1        1 0.648148148148148 0.1426112969400977 0.3096622270171608 0.851797512335439
5    20      6       1        0 0.540123456790123 0.1544281178217909 0.2165611731673369 0.780363562947660
6    22      5       0        1 0.540123456790123 0.1544281178217909 0.2165611731673369 0.780363562947660
7    30      4       1        0 0.405092592592593 0.1645889583927588 0.1128935621484877 0.687738931223533
8    34      3       0        1 0.405092592592593 0.1645889583927588 0.1128935621484877 0.687738931223533
9    40      2       1        0 0.202546296296296 0.1651813620777987 0.0129728385438019 0.556085767621106
10   45      1       0        1 0.202546296296296 0.1651813620777987 0.0129728385438019 0.556085767621106
""",
    ("d1", "plain"): """
   time n.risk n.event n.censor              surv                 se             lower             upper
1     5     12       1        0 0.916666666666667 0.0797855923130282 0.760289779247936 1.000000000000000
2     8     11       1        1 0.833333333333333 0.1075828707279838 0.622474781353057 1.000000000000000
3    12      9       1        0 0.740740740740741 0.1294825738481668 0.486959559372786 0.994521922108695
4    15      8       1        1 0.648148148148148 0.1426112969400977 0.368635142357009 0.927661153939287
5    20      6       1        0 0.540123456790123 0.1544281178217909 0.237449907659105 0.842797005921142
6    22      5       0        1 0.540123456790123 0.1544281178217909 0.237449907659105 0.842797005921142
7    30      4       1        0 0.405092592592593 0.1645889583927588 0.082504161889824 0.727681023295361
8    34      3       0        1 0.405092592592593 0.1645889583927588 0.082504161889824 0.727681023295361
9    40      2       1        0 0.202546296296296 0.1651813620777987 0.000000000000000 0.526295816886052
10   45      1       0        1 0.202546296296296 0.1651813620777987 0.000000000000000 0.526295816886052
""",
    ("d2", "log"): """
  time n.risk n.event n.censor              surv                se              lower upper
1    1      6       1        0 0.833333333333333 0.152145154862546 0.5826547954771396     1
2    2      5       1        0 0.666666666666667 0.192450089729875 0.3786064608870951     1
3    3      4       1        0 0.500000000000000 0.204124145231932 0.2246303477692667     1
4    4      3       0        1 0.500000000000000 0.204124145231932 0.2246303477692667     1
5    5      2       1        0 0.250000000000000 0.204124145231932 0.0504587931389417     1
6    6      1       1        0 0.000000000000000               NaN                 NA    NA
""",
    ("d2", "log-log"): """
  time n.risk n.event n.censor              surv                se              lower             upper
1    1      6       1        0 0.833333333333333 0.152145154862546 0.2731228499283560 0.974712426690894
2    2      5       1        0 0.666666666666667 0.192450089729875 0.1946166368062349 0.904434164322516
3    3      4       1        0 0.500000000000000 0.204124145231932 0.1109482603514380 0.803709236850057
4    4      3       0        1 0.500000000000000 0.204124145231932 0.1109482603514380 0.803709236850057
5    5      2       1        0 0.250000000000000 0.204124145231932 0.0123095164750105 0.645948537398101
6    6      1       1        0 0.000000000000000               NaN                 NA                NA
""",
    ("d3", "plain"): """
  time n.risk n.event n.censor              surv                se              lower             upper
1    2      6       1        0 0.833333333333333 0.152145154862546 0.5351343093804739 1.000000000000000
2    3      5       2        0 0.500000000000000 0.204124145231932 0.0999240269703909 0.900075973029609
3    6      3       1        0 0.333333333333333 0.192450089729875 0.0000000000000000 0.710528578025390
4    7      2       1        0 0.166666666666667 0.152145154862546 0.0000000000000000 0.464865690619526
5   10      1       1        0 0.000000000000000               NaN                NaN               NaN
""",
    ("aml", "log"): """
   time n.risk n.event n.censor              surv                 se              lower             upper
1     5     23       2        0 0.913043478260870 0.0587533847558414 0.8048547977829578 1.000000000000000
2     8     21       2        0 0.826086956521739 0.0790341964475118 0.6848394680718987 0.996466605022982
3     9     19       1        0 0.782608695652174 0.0860061487037983 0.6309579105995876 0.970708759207681
4    12     18       1        0 0.739130434782609 0.0915605371517001 0.5797992179680311 0.942246527231519
5    13     17       1        1 0.695652173913043 0.0959438755421514 0.5308783416282121 0.911568450100481
6    16     15       0        1 0.695652173913043 0.0959438755421514 0.5308783416282121 0.911568450100481
7    18     14       1        0 0.645962732919255 0.1011426751752846 0.4752577247055145 0.877982262316863
8    23     13       2        0 0.546583850931677 0.1072506417401223 0.3720780872492112 0.802933352802370
9    27     11       1        0 0.496894409937888 0.1084017807886830 0.3240165456898159 0.762010637765041
10   28     10       0        1 0.496894409937888 0.1084017807886830 0.3240165456898159 0.762010637765041
11   30      9       1        0 0.441683919944790 0.1095180699776571 0.2716759953922916 0.718078477474975
12   31      8       1        0 0.386473429951691 0.1088588014948644 0.2225152977468858 0.671242442973631
13   33      7       1        0 0.331262939958592 0.1063909728875506 0.1765201825807047 0.621657726531294
14   34      6       1        0 0.276052449965493 0.1019833760904919 0.1338221956292728 0.569449296311515
15   43      5       1        0 0.220841959972395 0.0953674384864344 0.0947332405633126 0.514826379784336
16   45      4       1        1 0.165631469979296 0.0860352084085751 0.0598407178100809 0.458446770885507
17   48      2       1        0 0.082815734989648 0.0726618005035283 0.0148346082548472 0.462327406565294
18  161      1       0        1 0.082815734989648 0.0726618005035283 0.0148346082548472 0.462327406565294
""",
    ("aml", "log-log"): """
   time n.risk n.event n.censor              surv                 se               lower             upper
1     5     23       2        0 0.913043478260870 0.0587533847558414 0.69494753753205873 0.977515669900713
2     8     21       2        0 0.826086956521739 0.0790341964475118 0.60061041123719894 0.930903558387115
3     9     19       1        0 0.782608695652174 0.0860061487037983 0.55421150666872854 0.903207489881887
4    12     18       1        0 0.739130434782609 0.0915605371517001 0.50920943875421876 0.873375781697676
5    13     17       1        1 0.695652173913043 0.0959438755421514 0.46564174976200395 0.841721291391763
6    16     15       0        1 0.695652173913043 0.0959438755421514 0.46564174976200395 0.841721291391763
7    18     14       1        0 0.645962732919255 0.1011426751752846 0.41395295071711707 0.805307764482079
8    23     13       2        0 0.546583850931677 0.1072506417401223 0.31925041397118686 0.726449173820634
9    27     11       1        0 0.496894409937888 0.1084017807886830 0.27556562801213719 0.684213788447816
10   28     10       0        1 0.496894409937888 0.1084017807886830 0.27556562801213719 0.684213788447816
11   30      9       1        0 0.441683919944790 0.1095180699776571 0.22738116846254250 0.637092687459888
12   31      8       1        0 0.386473429951691 0.1088588014948644 0.18283661864862794 0.587476914417940
13   33      7       1        0 0.331262939958592 0.1063909728875506 0.14182569348173837 0.535273789989068
14   34      6       1        0 0.276052449965493 0.1019833760904919 0.10444134323359304 0.480284660416562
15   43      5       1        0 0.220841959972395 0.0953674384864344 0.07099664898286148 0.422167443380925
16   45      4       1        1 0.165631469979296 0.0860352084085751 0.04211428126157690 0.360361360273183
17   48      2       1        0 0.082815734989648 0.0726618005035283 0.00695596679853646 0.286760367980918
18  161      1       0        1 0.082815734989648 0.0726618005035283 0.00695596679853646 0.286760367980918
""",
    ("d5", "log-log"): """
  time n.risk n.event n.censor surv                se             lower             upper
1    3      6       0        1  1.0 0.000000000000000                NA                NA
2    5      5       1        0  0.8 0.178885438199983 0.203809263267639 0.969179788866743
3    7      4       0        1  0.8 0.178885438199983 0.203809263267639 0.969179788866743
4    9      3       0        1  0.8 0.178885438199983 0.203809263267639 0.969179788866743
5   11      2       0        1  0.8 0.178885438199983 0.203809263267639 0.969179788866743
6   13      1       1        0  0.0               NaN                NA                NA
""",
}

# quantile(survfit(Surv(t, e) ~ 1, conf.type=CT), 0.5): median, lower, upper (NA -> nan)
NA = float("nan")
R_MEDIANS = {
    ("d1", "log"): (30, 15, NA),
    ("d1", "log-log"): (30, 8, NA),
    ("d1", "plain"): (30, 12, NA),
    ("d2", "log"): (4, 2, NA),
    ("d2", "log-log"): (4, 1, NA),
    ("d2", "plain"): (4, 2, NA),
    ("d3", "log"): (4.5, 3, NA),
    ("d3", "log-log"): (4.5, 2, NA),
    ("d3", "plain"): (4.5, 3, 7),
    ("aml", "log"): (27, 18, 48),
    ("aml", "log-log"): (27, 13, 34),
    ("aml", "plain"): (27, 18, 34),
    ("d5", "log"): (13, NA, NA),
    ("d5", "log-log"): (13, 5, NA),
    ("d5", "plain"): (13, 5, NA),
    ("d6", "log"): (NA, NA, NA),
    ("d6", "log-log"): (NA, 5, NA),
    ("d6", "plain"): (NA, 5, NA),
}


def _parse(text: str) -> dict[str, np.ndarray]:
    lines = [ln.split() for ln in text.strip().splitlines()]
    header = lines[0]
    rows = [[float("nan") if v in ("NA", "NaN") else float(v) for v in ln[1:]] for ln in lines[1:]]
    cols = np.array(rows).T
    return dict(zip(header, cols, strict=True))


@pytest.mark.parametrize("key", sorted(R_TABLES))
def test_km_table_matches_r(key):
    name, conf_type = key
    expected = _parse(R_TABLES[key])
    table = kaplan_meier(*DATA[name], conf_type=conf_type).table
    assert table.columns == ["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"]
    for ours, theirs in [("time", "time"), ("n_risk", "n.risk"), ("n_event", "n.event"),
                         ("n_censor", "n.censor"), ("survival", "surv"), ("std_err", "se"),
                         ("lower", "lower"), ("upper", "upper")]:
        np.testing.assert_allclose(table[ours].to_numpy().astype(float), expected[theirs], rtol=1e-6, atol=1e-12,
                                   equal_nan=True, err_msg=f"{key} {ours}")


@pytest.mark.parametrize("key", sorted(R_MEDIANS))
def test_km_median_matches_r(key):
    name, conf_type = key
    km = kaplan_meier(*DATA[name], conf_type=conf_type)
    np.testing.assert_allclose([km.median, *km.median_ci], R_MEDIANS[key], equal_nan=True)


def test_km_median_flat_at_half_until_the_end():
    # S = 0.5 from t = 2 to the last (censored) time 4: R's findq takes the midpoint of 2 and the last time.
    # quantile(survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1), 0.5) -> 3 (lower 1, upper NA)
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])
    np.testing.assert_allclose([km.median, *km.median_ci], [3, 1, NA], equal_nan=True)


def test_survival_at():
    # summary(survfit(Surv(time, status) ~ 1, data=aml), times=c(0, 4, 5, 20, 27.5, 48, 100, 161))$surv
    km = kaplan_meier(*DATA["aml"])
    expected = [1.0, 1.0, 0.913043478260870, 0.645962732919255, 0.496894409937888, 0.082815734989648,
                0.082815734989648, 0.082815734989648]
    got = [km.survival_at(t) for t in (0, 4, 5, 20, 27.5, 48, 100, 161)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isnan(km.survival_at(200))  # beyond the last follow-up time


def test_median_followup_reverse_km():
    # quantile(survfit(Surv(t, 1 - e) ~ 1), 0.5): d1 -> 34 (22, NA); aml -> 161 (45, NA)
    fu = median_followup(*DATA["d1"])
    np.testing.assert_allclose([fu.median, *fu.median_ci], [34, 22, NA], equal_nan=True)
    fu = median_followup(*DATA["aml"])
    np.testing.assert_allclose([fu.median, *fu.median_ci], [161, 45, NA], equal_nan=True)


def test_km_bad_input():
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError, match=">= 0"):
        kaplan_meier([-1, 2], [1, 0])
    with pytest.raises(ValueError, match="0/1"):
        kaplan_meier([1, 2], [2, 0])
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier([1, 2], [1, 0], conf_type="logit")


def test_km_at_landmark_times():
    # s <- summary(survfit(Surv(time, status) ~ 1, data=aml), times=c(0, 4, 5, 10, 27.5, 48, 100))
    # time n.risk n.event n.censor surv se lower upper:
    r_summary = """
      0.0     23       0        0 1.000000000000000 0.0000000000000000 1.0000000000000000 1.000000000000000
      4.0     23       0        0 1.000000000000000 0.0000000000000000 1.0000000000000000 1.000000000000000
      5.0     23       2        0 0.913043478260870 0.0587533847558414 0.8048547977829578 1.000000000000000
     10.0     18       3        0 0.782608695652174 0.0860061487037983 0.6309579105995876 0.970708759207681
     27.5     10       6        2 0.496894409937888 0.1084017807886830 0.3240165456898159 0.762010637765041
     48.0      2       7        2 0.082815734989648 0.0726618005035283 0.0148346082548472 0.462327406565294
    100.0      1       0        0 0.082815734989648 0.0726618005035283 0.0148346082548472 0.462327406565294
    """
    expected = np.array([[float(v) for v in line.split()] for line in r_summary.strip().splitlines()])
    got = kaplan_meier(*DATA["aml"]).at([0, 4, 5, 10, 27.5, 48, 100])
    np.testing.assert_allclose(got.to_numpy().astype(float), expected, rtol=1e-6, atol=1e-12)
    beyond = kaplan_meier(*DATA["aml"]).at([200])
    assert beyond["n_risk"][0] == 0 and np.isnan(beyond["survival"][0])
    with pytest.raises(ValueError, match="increasing"):
        kaplan_meier(*DATA["aml"]).at([10, 5])


def test_survival_at_stays_zero_after_everyone_had_the_event():
    from cartkit.survival import kaplan_meier

    # R: summary(survfit(Surv(c(2, 5, 9), c(1, 1, 1)) ~ 1), times = 12, extend = TRUE)$surv -> 0
    km = kaplan_meier([2, 5, 9], [1, 1, 1])
    assert km.survival_at(12) == 0.0
    # censored last: beyond follow-up the curve is unknown
    assert math.isnan(kaplan_meier([2, 5, 9], [1, 1, 0]).survival_at(12))


@pytest.mark.parametrize("key", sorted(R_TABLES))
def test_km_table_matches_r_through_the_hash_count(key, monkeypatch):
    """The Polars group-by count (for many observations) gives R's tables too."""
    import sys

    monkeypatch.setattr(sys.modules["cartkit.survival.kaplan_meier"], "HASH_COUNT_FROM", 0)
    test_km_table_matches_r(key)


def test_risk_table_counts_the_same_by_sort_and_by_hash():
    from cartkit.survival.kaplan_meier import HASH_COUNT_FROM, risk_table

    rng = np.random.default_rng(7)
    n = HASH_COUNT_FROM + 1000
    t = np.round(rng.exponential(200.0, n))
    e = (rng.random(n) < 0.6).astype(float)
    hashed = risk_table(t, e)  # n >= HASH_COUNT_FROM: the Polars group-by
    sorted_ = risk_table(t[:HASH_COUNT_FROM - 1], e[:HASH_COUNT_FROM - 1])  # numpy
    times, counts = np.unique(t[:HASH_COUNT_FROM - 1], return_counts=True)
    assert np.array_equal(sorted_[0], times) and sorted_[1][0] == HASH_COUNT_FROM - 1
    assert np.array_equal(sorted_[2] + sorted_[3], counts)
    tail = t >= 0  # every row: the hash count against a direct count by time
    times, counts = np.unique(t[tail], return_counts=True)
    events = np.array([e[t == x].sum() for x in times[:50]])
    assert np.array_equal(hashed[0], times) and np.array_equal(hashed[2][:50], events)
    assert np.array_equal(hashed[1], np.cumsum(counts[::-1])[::-1])
