"""Landmark survival by group: S(day) with its confidence interval, as R's
``summary(survfit(Surv(time, event) ~ group), times = day)``.

The seed's plan reports survival at a fixed day (a 180-day landmark) per
group. Each group's Kaplan-Meier curve is read at ``day``: n_risk (still
followed at ``day``), n_event and n_censor (up to and including ``day``),
survival, std_err (Greenwood, as ``summary`` prints it), lower, upper (R's
``conf.type``: "log" by default, "log-log", "plain").

Beyond a group's last follow-up time the estimate is undefined: R stops with
"no points selected" (or, with ``extend = TRUE``, carries the last value
forward with n.risk 0); cartkit returns the row with n_risk 0 and NaN
survival and limits, so every group keeps its row and no value is invented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cartkit.survival.kaplan_meier import kaplan_meier, survival_data
from cartkit.survival.logrank import group_codes

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def landmark(time: object, event: object, group: object, day: float, conf_type: str = "log",
             level: float = 0.95) -> pl.DataFrame:
    """Per group (R's factor order): group, day, n_risk, n_event, n_censor, survival, std_err, lower, upper.

    >>> landmark([5, 8, 12, 3, 6, 9], [1, 0, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"], 7)["survival"].to_list()
    [0.6666666666666667, 0.33333333333333337]
    """
    import polars as pl

    t, e = survival_data(time, event, "landmark")
    day = float(day)
    if not np.isfinite(day) or day < 0:
        raise ValueError(f"landmark: day must be a finite number >= 0, got {day}")
    labels, codes = group_codes(group, t.size, "group", "landmark")
    rows = []
    for k, label in enumerate(labels.tolist()):
        sel = codes == k
        at = kaplan_meier(t[sel], e[sel], conf_type=conf_type, level=level).at([day])
        rows.append(at.lazy().with_columns(pl.lit(label).alias("group")))
    out = pl.concat(rows, how="vertical").rename({"time": "day"})  # one query for every group
    return out.select("group", *[c for c in out.collect_schema().names() if c != "group"]).collect()
