"""Box-bounded nonlinear least squares: the trust-region reflective method (the Stein model fits).

``trust_region_reflective`` minimises 0.5 |r(x)|^2 subject to lo <= x <= hi for a small dense
problem: Branch MA, Coleman TF, Li Y, "A subspace, interior, and conjugate gradient method for
large-scale bound-constrained minimization problems", SIAM J Sci Comput 1999;21:1-23 (the
Coleman-Li scaling of the variables by their distance to the bound the gradient points at, and
reflection of a step off the bound it would cross), with each trust-region subproblem solved
exactly from the SVD of the scaled, augmented Jacobian (More JJ, "The Levenberg-Marquardt
algorithm: implementation and theory", Lecture Notes in Mathematics 630, 1978). The iteration,
its step selection (the best of the trust-region step cut at the bound, its reflection, and the
scaled steepest descent step), the radius update, the Jacobian column scaling (``x_scale="jac"``)
and the tolerances ``ftol``, ``xtol``, ``gtol`` follow SciPy's implementation of the same method
(``scipy.optimize.least_squares(method="trf", tr_solver="exact")``, scipy/optimize/_lsq/trf.py
and common.py, BSD-3-Clause, Nikolay Mayorov 2016) line by line, so that a fit takes the same path
and stops at the same point (to rounding) as it did with SciPy: the Stein objective has kinks
where Tmax crosses a sampling day, and other methods (a projected Levenberg-Marquardt was tried)
end in other local minima from the same starts.

Why not SciPy (project rule: a well-kept library unless a measurement shows why not): issue 16,
target 1 gives ``cartkit run examples/seed-study`` 2.5 s; importing ``scipy.optimize`` cost
0.13-0.24 s of CPU in every seed run on top of ``scipy.special`` (0.19-0.29 s), which it imports
too (``python -X importtime``, 2026-12-02), and ``least_squares``' own argument handling ran for
each of the seed's 92 calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_EPS = float(np.finfo(float).eps)



def _norm(v):
    """np.linalg.norm(v) of a real vector, the same arithmetic (sqrt(v . v), a NumPy scalar) without its checks."""
    return np.sqrt(v.dot(v))


MESSAGES = {
    0: "the maximum number of function evaluations is exceeded",
    1: "gtol termination condition is satisfied",
    2: "ftol termination condition is satisfied",
    3: "xtol termination condition is satisfied",
    4: "both ftol and xtol termination conditions are satisfied",
}


@dataclass(frozen=True)
class LeastSquaresResult:
    """The end point, its cost 0.5 |r|^2, the Jacobian of the residuals there, status (``MESSAGES``)."""

    x: np.ndarray
    cost: float
    jac: np.ndarray
    status: int
    nfev: int

    @property
    def success(self) -> bool:
        return self.status > 0

    @property
    def message(self) -> str:
        return MESSAGES[self.status]


def _active(x, lb, ub, rtol):
    active = np.zeros_like(x, dtype=int)
    if rtol == 0:
        active[x <= lb] = -1
        active[x >= ub] = 1
        return active
    lower_dist, upper_dist = x - lb, ub - x
    lower_active = np.isfinite(lb) & (lower_dist <= np.minimum(upper_dist, rtol * np.maximum(1, np.abs(lb))))
    active[lower_active] = -1
    upper_active = np.isfinite(ub) & (upper_dist <= np.minimum(lower_dist, rtol * np.maximum(1, np.abs(ub))))
    active[upper_active] = 1
    return active


def _strictly_feasible(x, lb, ub, rstep=1e-10):
    if rstep == 0 and ((x > lb) & (x < ub)).all():  # nothing on or past a bound: x itself
        return x.copy()
    x_new = x.copy()
    active = _active(x, lb, ub, rstep)
    lower, upper = active == -1, active == 1
    if rstep == 0:
        x_new[lower] = np.nextafter(lb[lower], ub[lower])
        x_new[upper] = np.nextafter(ub[upper], lb[upper])
    else:
        x_new[lower] = lb[lower] + rstep * np.maximum(1, np.abs(lb[lower]))
        x_new[upper] = ub[upper] - rstep * np.maximum(1, np.abs(ub[upper]))
    tight = (x_new < lb) | (x_new > ub)
    x_new[tight] = 0.5 * (lb[tight] + ub[tight])
    return x_new


def _cl_scaling(x, g, lb, ub, lb_finite=None, ub_finite=None):
    """Coleman-Li scaling vector v and its derivative sign dv."""
    to_upper = (g < 0) & (np.isfinite(ub) if ub_finite is None else ub_finite)
    to_lower = (g > 0) & (np.isfinite(lb) if lb_finite is None else lb_finite)
    v = np.where(to_lower, x - lb, np.where(to_upper, ub - x, 1.0))
    dv = to_lower.astype(float) - to_upper
    return v, dv


def _jac_scale(jac, scale_inv_old=None):
    scale_inv = (jac**2).sum(axis=0) ** 0.5
    if scale_inv_old is None:
        scale_inv[scale_inv == 0] = 1
    else:
        scale_inv = np.maximum(scale_inv, scale_inv_old)
    return 1 / scale_inv, scale_inv


def _solve_trust_region(n, m, uf, s, V, delta, initial_alpha=None, rtol=0.01, max_iter=10):
    """Exact solution of the trust-region subproblem from the SVD (More 1978), as SciPy."""

    def phi_and_derivative(alpha):
        denom = s**2 + alpha
        p_norm = _norm(suf / denom)
        return p_norm - delta, -(suf**2 / denom**3).sum() / p_norm

    suf = s * uf
    full_rank = bool(s[-1] > _EPS * m * s[0]) if m >= n else False
    if full_rank:
        p = -V.dot(uf / s)
        if _norm(p) <= delta:
            return p, 0.0
    alpha_upper = _norm(suf) / delta
    if full_rank:
        phi, phi_prime = phi_and_derivative(0.0)
        alpha_lower = -phi / phi_prime
    else:
        alpha_lower = 0.0
    if initial_alpha is None or not full_rank and initial_alpha == 0:
        alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
    else:
        alpha = initial_alpha
    for _ in range(max_iter):
        if alpha < alpha_lower or alpha > alpha_upper:
            alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
        phi, phi_prime = phi_and_derivative(alpha)
        if phi < 0:
            alpha_upper = alpha
        ratio = phi / phi_prime
        alpha_lower = max(alpha_lower, alpha - ratio)
        alpha -= (phi + delta) * ratio / delta
        if np.abs(phi) < rtol * delta:
            break
    p = -V.dot(suf / (s**2 + alpha))
    p *= delta / _norm(p)
    return p, alpha


def _quadratic_1d(J, g, s, diag, s0=None):
    v = J.dot(s)
    a = np.dot(v, v)
    a += np.dot(s * diag, s)
    a *= 0.5
    b = np.dot(g, s)
    if s0 is None:
        return a, b, 0
    u = J.dot(s0)
    b += np.dot(u, v)
    c = 0.5 * np.dot(u, u) + np.dot(g, s0)
    b += np.dot(s0 * diag, s)
    c += 0.5 * np.dot(s0 * diag, s0)
    return a, b, c


def _minimise_1d(a, b, lb, ub, c=0):
    t = [lb, ub]
    if a != 0:
        extremum = -0.5 * b / a
        if lb < extremum < ub:
            t.append(extremum)
    t = np.asarray(t)
    y = t * (a * t + b) + c
    i = np.argmin(y)
    return t[i], y[i]


def _evaluate_quadratic(J, g, s, diag):
    Js = J.dot(s)
    q = np.dot(Js, Js) + np.dot(s * diag, s)
    return 0.5 * q + np.dot(s, g)


def _step_to_bound(x, s, lb, ub):
    non_zero = np.nonzero(s)
    s_non_zero = s[non_zero]
    steps = np.full_like(x, np.inf)
    with np.errstate(over="ignore"):
        steps[non_zero] = np.maximum((lb - x)[non_zero] / s_non_zero, (ub - x)[non_zero] / s_non_zero)
    min_step = np.min(steps)
    return min_step, np.equal(steps, min_step) * np.sign(s).astype(int)


def _intersect_trust_region(x, s, delta):
    a = np.dot(s, s)
    b = np.dot(x, s)
    c = np.dot(x, x) - delta**2
    d = np.sqrt(b * b - a * c)
    q = -(b + math.copysign(d, b))
    t1, t2 = q / a, c / q
    return (t1, t2) if t1 < t2 else (t2, t1)


def _select_step(x, J_h, diag_h, g_h, p, p_h, d, delta, lb, ub, theta):
    """The trust-region step cut at the bound, its reflection, or scaled steepest descent."""
    x_p = x + p
    if ((x_p >= lb) & (x_p <= ub)).all():
        return p, p_h, -_evaluate_quadratic(J_h, g_h, p_h, diag_h)
    p_stride, hits = _step_to_bound(x, p, lb, ub)
    r_h = np.copy(p_h)
    r_h[hits.astype(bool)] *= -1
    r = d * r_h
    p *= p_stride
    p_h *= p_stride
    x_on_bound = x + p
    _, to_tr = _intersect_trust_region(p_h, r_h, delta)
    to_bound, _ = _step_to_bound(x_on_bound, r, lb, ub)
    r_stride = min(to_bound, to_tr)
    if r_stride > 0:
        r_stride_l = (1 - theta) * p_stride / r_stride
        r_stride_u = theta * to_bound if r_stride == to_bound else to_tr
    else:
        r_stride_l, r_stride_u = 0, -1
    if r_stride_l <= r_stride_u:
        a, b, c = _quadratic_1d(J_h, g_h, r_h, diag_h, s0=p_h)
        r_stride, r_value = _minimise_1d(a, b, r_stride_l, r_stride_u, c=c)
        r_h *= r_stride
        r_h += p_h
        r = r_h * d
    else:
        r_value = np.inf
    p *= theta
    p_h *= theta
    p_value = _evaluate_quadratic(J_h, g_h, p_h, diag_h)
    ag_h = -g_h
    ag = d * ag_h
    to_tr = delta / _norm(ag_h)
    to_bound, _ = _step_to_bound(x, ag, lb, ub)
    ag_stride = theta * to_bound if to_bound < to_tr else to_tr
    a, b, _ = _quadratic_1d(J_h, g_h, ag_h, diag_h)
    ag_stride, ag_value = _minimise_1d(a, b, 0, ag_stride)
    ag_h *= ag_stride
    ag *= ag_stride
    if p_value < r_value and p_value < ag_value:
        return p, p_h, -p_value
    if r_value < p_value and r_value < ag_value:
        return r, r_h, -r_value
    return ag, ag_h, -ag_value


def trust_region_reflective(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    ftol: float = 1e-8,
    xtol: float = 1e-8,
    gtol: float = 1e-8,
    max_nfev: int | None = None,
) -> LeastSquaresResult:
    """Minimise 0.5 |fun(x)|^2 on lb <= x <= ub from x0 (Jacobian ``jac``; variables scaled by the
    Jacobian's column norms)."""
    lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    x = _strictly_feasible(np.asarray(x0, dtype=float), lb, ub)
    f = fun(x)
    J = jac(x)
    nfev = 1
    m, n = J.shape
    cost = 0.5 * np.dot(f, f)
    g = J.T.dot(f)
    scale, scale_inv = _jac_scale(J)
    if max_nfev is None:
        max_nfev = x.size * 100
    alpha = 0.0
    status = None
    lb_finite, ub_finite = np.isfinite(lb), np.isfinite(ub)
    v, dv = _cl_scaling(x, g, lb, ub, lb_finite, ub_finite)
    v[dv != 0] *= scale_inv[dv != 0]
    delta = _norm(x * scale_inv / v**0.5)
    if delta == 0:
        delta = 1.0
    f_augmented = np.zeros(m + n)
    J_augmented = np.zeros((m + n, n))  # below the m rows of J * d: diag(diag_h ** 0.5), zero elsewhere
    diagonal = (np.arange(m, m + n), np.arange(n))
    while True:
        v, dv = _cl_scaling(x, g, lb, ub, lb_finite, ub_finite)
        g_norm = np.abs(g * v).max(initial=0)  # np.linalg.norm(g * v, ord=np.inf)
        if g_norm < gtol:
            status = 1
        if status is not None or nfev == max_nfev:
            break
        v = np.where(dv != 0, v * scale_inv, v)
        d = v**0.5 * scale
        diag_h = g * dv * scale
        g_h = d * g
        f_augmented[:m] = f
        J_augmented[:m] = J * d
        J_h = J_augmented[:m]
        J_augmented[diagonal] = diag_h**0.5
        U, s, Vt = np.linalg.svd(J_augmented, full_matrices=False)
        V = Vt.T
        uf = U.T.dot(f_augmented)
        theta = max(0.995, 1 - g_norm)
        actual_reduction = -1
        while actual_reduction <= 0 and nfev < max_nfev:
            p_h, alpha = _solve_trust_region(n, m, uf, s, V, delta, initial_alpha=alpha)
            p = d * p_h
            step, step_h, predicted_reduction = _select_step(x, J_h, diag_h, g_h, p, p_h, d, delta, lb, ub, theta)
            x_new = _strictly_feasible(x + step, lb, ub, rstep=0)
            f_new = fun(x_new)
            nfev += 1
            step_h_norm = _norm(step_h)
            if not np.isfinite(f_new).all():
                delta = 0.25 * step_h_norm
                continue
            cost_new = 0.5 * np.dot(f_new, f_new)
            actual_reduction = cost - cost_new
            # trust-region radius update
            if predicted_reduction > 0:
                ratio = actual_reduction / predicted_reduction
            elif predicted_reduction == actual_reduction == 0:
                ratio = 1
            else:
                ratio = 0
            delta_new = delta
            if ratio < 0.25:
                delta_new = 0.25 * step_h_norm
            elif ratio > 0.75 and step_h_norm > 0.95 * delta:
                delta_new = delta * 2.0
            step_norm = _norm(step)
            ftol_ok = actual_reduction < ftol * cost and ratio > 0.25
            xtol_ok = step_norm < xtol * (xtol + _norm(x))
            status = 4 if ftol_ok and xtol_ok else 2 if ftol_ok else 3 if xtol_ok else None
            if status is not None:
                break
            alpha *= delta / delta_new
            delta = delta_new
        if actual_reduction > 0:
            x, f, cost = x_new, f_new, cost_new
            J = jac(x)
            g = J.T.dot(f)
            scale, scale_inv = _jac_scale(J, scale_inv)
    return LeastSquaresResult(x=x, cost=float(cost), jac=J, status=0 if status is None else status, nfev=nfev)
