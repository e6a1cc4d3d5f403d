"""Theory beside measurement: what a dense net's per-layer statistics should be at initialisation.

Pure NumPy, no training code, no printing. For a stack of dense layers with widths
``(n_0, n_1, ..., n_L, K)`` (input, L hidden layers, K classes), zero biases, weights drawn from
one of the project's initialisations and inputs of second moment E[x^2], it predicts the
statistics ``glorotcli.stats.probes.measure`` and
``glorotcli.stats.jacobian.jacobian_singular_values`` report at step 0:

* ``linear_regime``: the paper's eqs. 5-7 (Glorot & Bengio 2010, §4.2.1), the network taken as
  linear (f(s) = s, f'(s) = 1);
* ``mean_field``: the wide-network recursions of Poole et al. (2016), *Exponential expressivity
  in deep neural networks through transient chaos*, and Schoenholz et al. (2017), *Deep
  information propagation*, for any activation, and the mean singular value of the
  layer-to-layer Jacobians (Pennington, Schoenholz & Ganguli 2017, *Resurrecting the sigmoid in
  deep learning through dynamical isometry*);
* ``predict``: both, as JSON-ready per-layer lists (the function reports call).

Notation and indices follow ``probes`` (and the paper, §4.2.1): ``s[i] = z[i] @ W[i]``,
``z[i+1] = f(s[i])``, ``z[0] = x``; W[i] is n_i x n_{i+1} with variance v_i = Var[W[i]]; hidden
layer j (j = 1..L, the paper's "Layer j") is column j-1 of every per-layer array.

What is predicted, per example e (E examples, second moments m_e = mean_i x_ei^2)
--------------------------------------------------------------------------------
Mean field (u ~ N(0, 1); exact as the widths grow, for Gaussian-like weights; the weights here
are uniform, which the central limit theorem makes Gaussian in every sum over a layer):

* pre-activation variance: ``q_0 = n_0 v_0 m_e``, ``q_j = n_j v_j E[f(sqrt(q_{j-1}) u)^2]``
  (Poole et al. 2016, eq. 3); the logits' ``q_out = n_L v_L E[f(sqrt(q_{L-1}) u)^2]``;
* activations of hidden layer j: z = f(s), s ~ N(0, q_{j-1}), pooled over examples: mean
  E_e E[f], std sqrt(E_e E[f^2] - (E_e E[f])^2);
* back-propagated gradient dC/ds, per example (as ``probes`` measures it), mean 0:
  ``b_{L-1} = v_L delta2``, ``b_{j-1} = n_{j+1} v_j b_j E[f'(sqrt(q_{j-1}) u)^2]``
  (Schoenholz et al. 2017, eq. 11, under their gradient-independence assumption: the weights
  used going back are taken independent of those used going forward). ``delta2`` =
  E[sum_c (dC/ds_c^out)^2], the size of the output layer's delta (``output_delta_sq``);
* weight gradient dC/dW = z_l dC/ds_k (eq. 3 of the paper), per example, pooled over examples
  and entries, mean 0: variance ``E_e[E[z_in^2] b]`` with E[z_in^2] = m_e for layer 1 and
  E[f^2] of the layer below otherwise;
* saturated fraction: the Gaussian mass of s beyond the values where f crosses the bounds of
  ``summary.saturation_bounds`` (|z| > 0.97 for tanh and softsign, z < 0.03 or z > 0.97 for
  sigmoid, z = 0 for relu);
* Jacobian J^j = dz^{j+1}/dz^j = diag(f'(s^j)) (W^j)^T between hidden layers j and j+1: its mean
  squared singular value over the K_j = min(n_j, n_{j+1}) values, ``max(n_j, n_{j+1}) v_j
  E[f'^2]`` (n v E[f'^2] for square layers: Poole et al.'s chi_1), and its mean singular value
  (``mean_singular_value``), exact in the wide limit for the actual spread of f'.

The pooled statistics are averages over examples of these per-example predictions, because the
probes pool values across examples whose second moments differ (Shapeset images differ in
brightness, so their q differ).

Linear regime (eqs. 5-7; f'(0) = 1, z = s): the same recursions with E[f^2] = q and f' = 1:
``Var[z^j] = m prod_{i<j} n_i v_i`` (eq. 5), ``Var[dC/ds^j] = delta2 / K prod_{i>=j} n_{i+1}
v_i`` (eq. 6, each matrix contributing its fan-out going back) and their product for the weight
gradients (eq. 7). The Jacobian of a linear layer is W^T: its mean singular value is that of a
matrix of iid entries of variance v (Marchenko-Pastur). Meaningful for tanh and softsign (f(0) =
0, f'(0) = 1) with small inputs; for sigmoid and relu it describes another network.

The output delta at initialisation
----------------------------------
The probes measure dC/ds per example; for softmax + negative log-likelihood the output delta is
``p - onehot(y)``, whose squared norm is ``1 - 2 p_y + sum_c p_c^2``. At initialisation the K
logits of an example are iid N(0, q_out) (over the random output weights) and independent of
the label, so E[p_y] = 1/K exactly and ``delta2 = 1 - 2/K + E[sum_c p_c^2]``; the last term is
1/K when the logits are 0 and grows with q_out. It is computed without sampling
(``output_delta_sq``). The quadratic cost (Fig. 5's) is given to leading order, at p = 1/K.

Gaussian expectations
---------------------
``gaussian_expectation(fn, q)`` = E[fn(sqrt(q) u)], by Gauss-Legendre panels on u: split at 0
(relu and softsign, and their derivatives, have their kinks there) and graded towards 0 at the
scale 1/sqrt(q) (where tanh, sigmoid and softsign turn, sharply when q is large), out to
|u| = 9 (the Gaussian mass beyond is 2e-19). Plain Gauss-Hermite quadrature
(``numpy.polynomial.hermite_e.hermegauss``, 200 nodes) is within 1e-10 for smooth integrands at
q <= 1 and is the reference the tests compare with there; it is not used here because it
converges slowly across a kink (E[f'^2] of softsign at q = 1: 2.8 % off) and for a sharp
transition (E[tanh'^2] at q = 25: 4.5 % off).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

from glorotcli.config import ACTIVATIONS, COSTS, INITS
from glorotcli.errors import GlorotError
from glorotcli.nn.activations import act, act_grad
from glorotcli.nn.init import bound
from glorotcli.stats.summary import saturation_bounds

#: the largest |u| integrated over (standard-normal units); the mass beyond is 2e-19
U_MAX = 9.0
#: Gauss-Legendre nodes per panel, and the graded panels between c/16 and 1 (c = 1/sqrt(q))
_PANEL_NODES = 8
_GRADED_PANELS = 12
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SV_NODES = 32  # Gauss-Legendre nodes of the angle integral in mean_singular_value
_Q_GRID = 16  # per-example predictions costlier than the recursions: at most this many q, then
#              interpolated (output_delta_sq, the Jacobians)


# ------------------------------------------------------------------ Gaussian expectations ----

@functools.lru_cache(maxsize=8)
def _leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached; read-only)."""
    x, w = legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def _panel_rule(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes u and weights w (already multiplied by the normal density) of the composite rule
    for each q: arrays of shape q.shape + (N,), N fixed."""
    x, wx = _leggauss(_PANEL_NODES)
    c = np.minimum(1.0, 1.0 / np.sqrt(np.maximum(q, 1e-300)))  # graded towards 0 below c
    lo = np.log(c / 16.0)[..., None]
    t = np.linspace(0.0, 1.0, _GRADED_PANELS + 1)
    graded = np.exp(lo * (1.0 - t))  # c/16 .. 1
    unit = np.broadcast_to(np.arange(2.0, U_MAX + 1.0), q.shape + (int(U_MAX) - 1,))
    zero = np.zeros(q.shape + (1,))
    edges = np.concatenate([zero, graded, unit], axis=-1)  # 0, c/16 .. 1, 2 .. 9
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    u = 0.5 * (b - a) * x + 0.5 * (b + a)  # (..., panels, nodes)
    w = 0.5 * (b - a) * wx * _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    shape = q.shape + (-1,)
    u, w = u.reshape(shape), w.reshape(shape)
    return np.concatenate([-u, u], axis=-1), np.concatenate([w, w], axis=-1)


def gaussian_expectation(fn: Callable[[np.ndarray], np.ndarray], q) -> np.ndarray:
    """E[fn(sqrt(q) u)] for u ~ N(0, 1), for each variance in ``q``.

    ``q``: float or array (any shape) of variances >= 0. ``fn`` maps a float64 array of
    pre-activations to an array of the same shape. Returns float64 of ``q``'s shape. Composite
    Gauss-Legendre panels, split at 0 and graded at the scale 1/sqrt(q) (module docstring);
    for the activations' f, f^2 and f'^2 the relative error is below 1e-7 at
    1e-6 <= q <= 100 and below 1e-5 up to q = 1e4 (measured against a 4-million-point
    trapezoid rule; tested). Raises GlorotError for a negative or non-finite variance.
    """
    q = _check_q(q)
    u, w = _panel_rule(q)
    s = np.sqrt(q)[..., None] * u
    return np.sum(w * fn(s), axis=-1)


def moments(activation: str, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E[f(s)], E[f(s)^2], E[f'(s)^2]) for s ~ N(0, q), each of ``q``'s shape (float64).

    f and f' are the project's (``glorotcli.nn.activations.act``/``act_grad``). These are the
    three Gaussian integrals of the mean-field recursions (Poole et al. 2016, eq. 3; Schoenholz
    et al. 2017, eq. 11). Raises GlorotError for an unknown activation or a bad variance.
    """
    _check_activation(activation)
    q = _check_q(q)
    u, w = _panel_rule(q)
    s = np.sqrt(q)[..., None] * u
    with np.errstate(over="ignore"):  # sigmoid's exp(-s) at s << 0: z = 0, as it should
        z = act(activation, s)
    fp = act_grad(activation, s, z)
    return np.sum(w * z, -1), np.sum(w * z * z, -1), np.sum(w * fp * fp, -1)


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF, elementwise (math.erfc: no SciPy)."""
    x = np.asarray(x, dtype=np.float64)
    return np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0)), otypes=[float])(x)


def _crossing(activation: str, level: float) -> float:
    """sup{s : f(s) < level} for the non-decreasing f (-inf if f never is below ``level``,
    +inf if it always is), by bisection on the project's ``act``."""
    if not math.isfinite(level):
        return math.inf if level > 0 else -math.inf
    lo, hi = -1e4, 1e4
    def f(s: float) -> float:
        with np.errstate(over="ignore"):  # sigmoid's exp(-s) at s = -1e4: z = 0
            return float(act(activation, np.float64(s)))

    if f(lo) >= level:
        return -math.inf
    if f(hi) < level:
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < level:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def saturation_mass(activation: str, q) -> np.ndarray:
    """Predicted saturated fraction of z = f(s), s ~ N(0, q): the Gaussian mass where
    f(s) < lo or f(s) > hi, with (lo, hi) = ``summary.saturation_bounds(activation)`` (the
    definition the probes measure). Float64 of ``q``'s shape. relu: 1/2 for any q > 0."""
    _check_activation(activation)
    q = _check_q(q)
    lo, hi = saturation_bounds(activation)
    s_lo = _crossing(activation, lo)  # f(s) < lo  <=>  s < s_lo
    s_hi = _crossing(activation, np.nextafter(hi, math.inf))  # f(s) > hi <=> s >= s_hi
    sd = np.sqrt(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(sd > 0, _phi_cdf(np.divide(s_lo, sd)), float(0.0 < s_lo))
        above = np.where(sd > 0, _phi_cdf(-np.divide(s_hi, sd)), float(0.0 >= s_hi))
    return below + above


# ------------------------------------------------------------------ the output delta ----

def output_delta_sq(q_out, n_classes: int, cost: str = "nll") -> np.ndarray:
    """Expected squared norm of the per-example output delta dC/ds^out at initialisation.

    ``q_out``: variance of the logits (float or array, >= 0); ``n_classes`` K >= 2.
    nll (softmax + negative log-likelihood): dC/ds^out = p - onehot(y), so the squared norm is
    1 - 2 p_y + sum_c p_c^2. With iid N(0, q_out) logits independent of the label, E[p_y] = 1/K
    and E[sum_c p_c^2] = K int_0^inf t E[e^{2s} e^{-t e^s}] E[e^{-t e^s}]^{K-1} dt (from
    1/a^2 = int_0^inf t e^{-t a} dt), computed by quadrature (trapezoid in log t, Gaussian
    expectations by ``gaussian_expectation``-style panels in s). At q_out = 0: 1 - 1/K.
    quadratic: to leading order (p = 1/K), 4 (K - 1) / K^3.
    Returns float64 of ``q_out``'s shape. Raises GlorotError for another cost or K < 2.
    """
    if cost not in COSTS:
        raise GlorotError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    if int(n_classes) != n_classes or n_classes < 2:
        raise GlorotError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    K = int(n_classes)
    q = _check_q(q_out)
    if cost == "quadratic":
        return np.full(q.shape, 4.0 * (K - 1) / K ** 3)
    out = _on_grid(lambda grid: np.array([_sum_p_squared(v, K) for v in grid]), q.ravel())
    return (1.0 - 2.0 / K + out).reshape(q.shape)


def _sum_p_squared(q: float, K: int) -> float:
    """E[sum_c p_c^2] for K iid N(0, q) logits (see output_delta_sq), by the trapezoid rule in
    r = log t of K int t^2 A B^(K-1) dr, where t^2 A = E[g(s + r)] with g(w) = exp(2w - e^w)
    and B = E[h(s + r)] with h(w) = exp(-e^w). For sd = sqrt(q) <= 1 the expectations over s are
    Gauss-Legendre panels in s; for sd > 1, where g and h are narrow beside the Gaussian, they
    are convolutions computed over w instead: E[g(s + r)] = int g(w) phi_sd(w - r) dw and
    E[h(s + r)] = int rho(u) Phi((u - r) / sd) du with rho = -h' = exp(u - e^u)."""
    if q <= 0.0:
        return 1.0 / K
    sd = math.sqrt(q)
    x, wx = _leggauss(_PANEL_NODES)
    if sd <= 1.0:
        e = np.linspace(-U_MAX * sd, U_MAX * sd, 37)  # panels of width <= 1/2
        a, b = e[:-1, None], e[1:, None]
        s = (0.5 * (b - a) * x + 0.5 * (b + a)).ravel()
        ws = (0.5 * (b - a) * wx).ravel() * np.exp(-0.5 * (s / sd) ** 2) * _INV_SQRT_2PI / sd
        r = np.arange(-q - 30.0, 8.0 * sd + 30.0, 0.05)
        w = s[None, :] + r[:, None]  # (R, S)
        T = (np.exp(2.0 * w - np.exp(w)) * ws).sum(axis=1)
        B = (np.exp(-np.exp(w)) * ws).sum(axis=1)
    else:
        e = np.arange(-40.0, 5.01, 0.5)  # g and rho are below 1e-17 outside [-40, 5]
        a, b = e[:-1, None], e[1:, None]
        u = (0.5 * (b - a) * x + 0.5 * (b + a)).ravel()
        wu = (0.5 * (b - a) * wx).ravel()
        rho = np.exp(u - np.exp(u)) * wu
        g = np.exp(u) * rho
        r = np.arange(-40.0 - U_MAX * sd, 5.0 + U_MAX * sd, 0.02 * sd)
        d = (u[None, :] - r[:, None]) / sd  # (R, U)
        T = (g * np.exp(-0.5 * d * d)).sum(axis=1) * _INV_SQRT_2PI / sd
        B = (rho * _phi_table(d)).sum(axis=1)
    integrand = T * B ** (K - 1)
    dr = r[1] - r[0]  # trapezoid rule on a uniform grid (np.trapezoid needs NumPy 2)
    return float(K * dr * (integrand.sum() - 0.5 * (integrand[0] + integrand[-1])))


@functools.lru_cache(maxsize=1)
def _phi_grid() -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-40.0, 40.0, 160_001)  # spacing 5e-4: linear interpolation within 1e-8
    return z, _phi_cdf(z)


def _phi_table(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF by interpolation in a table (absolute error below 1e-8)."""
    z, p = _phi_grid()
    return np.interp(x, z, p)


# ---------------------------------------------------------------------- Jacobians ----

def mean_singular_value(tau: np.ndarray, weights: np.ndarray, var_w: float, fan_in: int,
                        fan_out: int) -> np.ndarray:
    """Mean singular value of J = diag(d) W^T in the wide limit, over its min(fan_in, fan_out)
    singular values, where W is fan_in x fan_out with iid entries of variance ``var_w`` and the
    squared factors d_k^2 have the distribution {``tau``[..., i] with probability
    ``weights``[..., i]} (the last axis; leading axes: independent cases, e.g. examples).

    The squared singular values are the eigenvalues of W diag(d^2) W^T = var_w fan_in B with
    B = (1/fan_in) Y^T T Y (Y iid unit variance, T = diag(d^2)); B's Stieltjes transform m
    solves z = -1/m + c E[tau / (1 + tau m)], c = fan_out / fan_in (Silverstein 1995, eq. 1.4;
    the free multiplicative convolution of Marchenko-Pastur with the law of d^2 that Pennington
    et al. 2017 use). On z = -x < 0 the root m(-x) > 0 is unique (Newton from the left, which
    converges monotonically: the equation is concave in m). Then E[sqrt(lambda)] =
    (2/pi) int_0^inf (1 - s^2 m(-s^2)) ds (from sqrt(l) = (2/pi) int l / (l + s^2) ds),
    integrated by Gauss-Legendre after s = a tan(theta). Zero singular values (relu's dead
    units, a rank deficit) count in the mean, as in ``jacobian.jacobian_singular_values``.
    With tau = 1 and fan_in = fan_out: 8/(3 pi) sqrt(n var_w) (the quarter-circle law).
    Returns float64 of the leading shape.
    """
    tau = np.asarray(tau, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if tau.shape != weights.shape or tau.ndim < 1:
        raise GlorotError(f"tau and weights must have one shape, got {tau.shape} and "
                          f"{weights.shape}")
    if not (np.all(tau >= 0) and np.all(weights >= 0) and np.all(np.isfinite(tau))):
        raise GlorotError("tau and weights must be finite and >= 0")
    if not (var_w >= 0 and fan_in >= 1 and fan_out >= 1):
        raise GlorotError("var_w must be >= 0 and the fans >= 1")
    weights = weights / weights.sum(axis=-1, keepdims=True)
    c = fan_out / fan_in
    mean_tau = (weights * tau).sum(axis=-1)  # E[d^2]
    lead = mean_tau.shape
    scale = np.sqrt(np.maximum(c * mean_tau, 1e-300))  # sqrt(E[mu]) of B
    theta, wt = _leggauss(_SV_NODES)
    theta = 0.25 * math.pi * (theta + 1.0)  # (0, pi/2)
    wt = 0.25 * math.pi * wt
    s = scale[..., None] * np.tan(theta)  # lead + (S,)
    x = s * s
    tau_ = tau[..., None, :]
    w_ = weights[..., None, :]
    m = np.zeros(x.shape)
    for _ in range(100):  # about 15 steps; 1e-12: rounding keeps some steps near 1e-14
        tm = tau_ * m[..., None]
        g = m * x + c * (w_ * tm / (1.0 + tm)).sum(-1) - 1.0
        dg = x + c * (w_ * tau_ / (1.0 + tm) ** 2).sum(-1)
        step = g / dg
        m = m - step
        if np.all(np.abs(step) <= 1e-12 * np.maximum(m, 1e-300)):
            break
    integrand = (1.0 - x * m) * scale[..., None] / np.cos(theta) ** 2
    e_sqrt_mu = (2.0 / math.pi) * (integrand * wt).sum(-1)
    e_sqrt_mu = np.where(mean_tau > 0, e_sqrt_mu, 0.0)
    k = min(fan_in, fan_out)
    out = (fan_in / k) * math.sqrt(var_w * fan_in) * e_sqrt_mu
    return out.reshape(lead)


def _jacobian_sv(activation: str, q: np.ndarray, var_w: float, fan_in: int, fan_out: int
                 ) -> np.ndarray:
    """``mean_singular_value`` of diag(f'(s)) W^T for s ~ N(0, q), for each q of a 1-D array
    (``_on_grid``)."""
    def at(grid: np.ndarray) -> np.ndarray:
        u, w = _panel_rule(grid)
        s = np.sqrt(grid)[:, None] * u
        with np.errstate(over="ignore"):
            fp = act_grad(activation, s, act(activation, s))
        return mean_singular_value(fp * fp, w, var_w, fan_in, fan_out)

    return _on_grid(at, q)


def _on_grid(fn: Callable[[np.ndarray], np.ndarray], q: np.ndarray) -> np.ndarray:
    """fn (a smooth function of a variance, evaluated on a 1-D array) at every value of the
    1-D ``q``: exactly when q holds at most ``_Q_GRID`` distinct values, else at ``_Q_GRID``
    values geometrically spread over [min q, max q] and interpolated linearly in log q."""
    uniq = np.unique(q)
    if len(uniq) <= _Q_GRID:
        return fn(uniq)[np.searchsorted(uniq, q)]
    lo = max(uniq[0], 1e-300)
    grid = np.geomspace(lo, uniq[-1], _Q_GRID)
    return np.interp(np.log(np.maximum(q, lo)), np.log(grid), fn(grid))


def mp_mean_singular_value(mean_sq: float | np.ndarray, fan_in: int, fan_out: int) -> np.ndarray:
    """Mean singular value of a fan_out x fan_in matrix of iid entries whose squared singular
    values average ``mean_sq`` over the min(fan_in, fan_out) of them (Marchenko-Pastur);
    8/(3 pi) sqrt(mean_sq) for a square matrix (paper §4.2.2's "check")."""
    mean_sq = np.asarray(mean_sq, dtype=np.float64)
    v = mean_sq / max(fan_in, fan_out)  # entry variance
    ones = np.ones(mean_sq.shape + (1,))
    return mean_singular_value(ones, ones, 1.0, fan_in, fan_out) * np.sqrt(v)


# --------------------------------------------------------------------- the recursions ----

@dataclass
class Prediction:
    """Predicted step-0 statistics of one network. L hidden layers, E examples.

    Per hidden layer, (L,) float64: ``act_mean``, ``act_std``, ``bgrad_std``, ``wgrad_std``,
    ``sat`` (NaN in the linear regime). Per pair of hidden layers j -> j+1, (L-1,):
    ``jacobian_ms`` (mean squared singular value), ``jacobian_mean_sv`` (mean singular value),
    ``jacobian_mean_sv_iid`` (mean singular value of an iid matrix with the same
    ``jacobian_ms``; equal to ``jacobian_mean_sv`` when f' is constant).
    Per example: ``q`` (E, L) pre-activation variances, ``q_out`` (E,) the logits', ``delta_sq``
    (E,) E[sum_c (dC/ds_c^out)^2], ``bgrad_var`` (E, L), ``input_sq`` (E, L) the second moment
    of each layer's input (x for layer 1). ``n_var_w`` (L + 1,): n_i Var[W^i] for every matrix.
    """

    regime: str
    act_mean: np.ndarray
    act_std: np.ndarray
    bgrad_std: np.ndarray
    wgrad_std: np.ndarray
    sat: np.ndarray
    jacobian_ms: np.ndarray
    jacobian_mean_sv: np.ndarray
    jacobian_mean_sv_iid: np.ndarray
    q: np.ndarray
    q_out: np.ndarray
    delta_sq: np.ndarray
    bgrad_var: np.ndarray
    input_sq: np.ndarray
    n_var_w: np.ndarray

    def to_json(self) -> dict:
        """Per-layer lists (JSON-ready floats; NaN as None), and the per-layer n Var[W]."""
        def lst(a):
            return [None if not math.isfinite(v) else float(v) for v in np.asarray(a).ravel()]

        out = {k: lst(getattr(self, k)) for k in (
            "act_mean", "act_std", "bgrad_std", "wgrad_std", "jacobian_mean_sv",
            "jacobian_mean_sv_iid", "jacobian_ms")}
        if self.regime == "mean_field":
            out["sat"] = lst(self.sat)
        out["preact_var"] = lst(self.q.mean(axis=0))
        out["logit_var"] = float(self.q_out.mean())
        out["output_delta_sq"] = float(self.delta_sq.mean())
        out["n_var_w"] = lst(self.n_var_w)
        return out


def weight_variances(widths: Sequence[int], init: str) -> np.ndarray:
    """Var[W^i] for every matrix of a net with layer sizes ``widths``: b^2 / 3 for U[-b, b]
    with b = ``glorotcli.nn.init.bound(init, n_i, n_{i+1})``. (L + 1,) float64."""
    widths = _check_widths(widths)
    if init not in INITS:
        raise GlorotError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    return np.array([bound(init, a, b) ** 2 / 3.0 for a, b in zip(widths[:-1], widths[1:],
                                                                   strict=True)])


def input_second_moments(x: np.ndarray) -> np.ndarray:
    """Per-example second moments E[x^2] = mean_i x_ei^2 of scaled inputs ``x`` (E, n_0):
    (E,) float64, the ``input_second_moment`` that ``predict`` takes for a probe set."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not len(x):
        raise GlorotError(f"inputs must be (examples, features), got shape {x.shape}")
    return np.mean(x * x, axis=1)


def mean_field(widths: Sequence[int], activation: str, var_w: Sequence[float],
               input_second_moment, *, cost: str = "nll",
               jacobian_examples: int | None = None) -> Prediction:
    """The mean-field predictions (module docstring) for a net with layer sizes ``widths``
    (n_0, n_1..n_L, K), weight variances ``var_w`` (L + 1,), and input second moments
    (a float, or (E,) per example). ``jacobian_examples``: predict the Jacobians from the first
    N examples only (as ``jacobian.jacobian_singular_values`` measures them); None: all.
    Raises GlorotError for bad arguments."""
    widths, v, m = _check_net(widths, var_w, input_second_moment)
    _check_activation(activation)
    L = len(widths) - 2
    n = np.asarray(widths, dtype=np.float64)
    E = len(m)
    q = np.empty((E, L))
    m1 = np.empty((E, L))
    m2 = np.empty((E, L))
    fp2 = np.empty((E, L))
    prev = m
    for j in range(L):
        q[:, j] = n[j] * v[j] * prev
        m1[:, j], m2[:, j], fp2[:, j] = moments(activation, q[:, j])
        prev = m2[:, j]
    q_out = n[L] * v[L] * prev
    delta = output_delta_sq(q_out, widths[-1], cost)
    b = np.empty((E, L))
    if L:
        b[:, L - 1] = v[L] * delta * fp2[:, L - 1]
    for j in range(L - 1, 0, -1):
        b[:, j - 1] = n[j + 1] * v[j] * b[:, j] * fp2[:, j - 1]
    zin = np.concatenate([m[:, None], m2[:, :-1]], axis=1) if L else np.empty((E, 0))
    sat = np.stack([saturation_mass(activation, q[:, j]) for j in range(L)], axis=1) \
        if L else np.empty((E, 0))
    J = E if jacobian_examples is None else max(1, min(int(jacobian_examples), E))
    ms, msv, iid = (np.empty(max(L - 1, 0)) for _ in range(3))
    for j in range(1, L):
        fan_in, fan_out = widths[j], widths[j + 1]
        qj = q[:J, j]
        ms[j - 1] = max(fan_in, fan_out) * v[j] * float(np.mean(fp2[:J, j]))
        msv[j - 1] = float(np.mean(_jacobian_sv(activation, qj, v[j], fan_in, fan_out)))
        iid[j - 1] = float(np.mean(mp_mean_singular_value(
            max(fan_in, fan_out) * v[j] * fp2[:J, j], fan_in, fan_out)))
    mean1 = m1.mean(axis=0)
    return Prediction(
        regime="mean_field",
        act_mean=mean1,
        act_std=np.sqrt(np.maximum(m2.mean(axis=0) - mean1 ** 2, 0.0)),
        bgrad_std=np.sqrt(b.mean(axis=0)),
        wgrad_std=np.sqrt((zin * b).mean(axis=0)),
        sat=sat.mean(axis=0),
        jacobian_ms=ms, jacobian_mean_sv=msv, jacobian_mean_sv_iid=iid,
        q=q, q_out=q_out, delta_sq=delta, bgrad_var=b, input_sq=zin,
        n_var_w=n[:-1] * v)


def linear_regime(widths: Sequence[int], var_w: Sequence[float], input_second_moment, *,
                  cost: str = "nll") -> Prediction:
    """The paper's eqs. 5-7 (§4.2.1) for layer sizes ``widths`` and weight variances
    ``var_w``: every unit linear (f(s) = s, f' = 1), per example then pooled; the output delta's
    size from the linear logits' variance (``output_delta_sq``); the Jacobians W^T, whose mean
    singular value is Marchenko-Pastur's. ``sat`` is NaN (no saturation in a linear net)."""
    widths, v, m = _check_net(widths, var_w, input_second_moment)
    L = len(widths) - 2
    n = np.asarray(widths, dtype=np.float64)
    E = len(m)
    gain = np.cumprod(n[:-1] * v)  # prod_{i <= j} n_i v_i, (L + 1,)
    zvar = m[:, None] * gain[None, :L]  # eq. 5: Var[z^j], hidden layers
    q_out = m * gain[L]
    delta = output_delta_sq(q_out, widths[-1], cost)
    back = np.cumprod((n[1:] * v)[::-1])[::-1]  # prod_{i >= j} n_{i+1} v_i, (L + 1,)
    K = widths[-1]
    b = (delta / K)[:, None] * back[None, 1:L + 1]  # eq. 6: Var[dC/ds^j], hidden layers
    zin = np.concatenate([m[:, None], zvar[:, :-1]], axis=1) if L else np.empty((E, 0))
    ms = np.array([max(widths[j], widths[j + 1]) * v[j] for j in range(1, L)])
    msv = np.array([float(mp_mean_singular_value(ms[j - 1], widths[j], widths[j + 1]))
                    for j in range(1, L)])
    return Prediction(
        regime="linear",
        act_mean=np.zeros(L),
        act_std=np.sqrt(zvar.mean(axis=0)),
        bgrad_std=np.sqrt(b.mean(axis=0)),
        wgrad_std=np.sqrt((zin * b).mean(axis=0)),  # eq. 7
        sat=np.full(L, np.nan),
        jacobian_ms=ms, jacobian_mean_sv=msv, jacobian_mean_sv_iid=msv.copy(),
        q=zvar, q_out=q_out, delta_sq=delta, bgrad_var=b, input_sq=zin,
        n_var_w=n[:-1] * v)


def predict(widths: Sequence[int], activation: str, init: str, input_second_moment, *,
            cost: str = "nll", jacobian_examples: int | None = None) -> dict:
    """Predicted step-0 statistics of a net, as ``probes`` measures them: the function the
    reports call.

    ``widths``: layer sizes (n_0, n_1, ..., n_L, K), e.g. ``run.sizes``; ``activation``,
    ``init``: as in ``glorot train``; ``input_second_moment``: E[x^2] of the scaled inputs,
    a float or (E,) per example (``input_second_moments(probe_x)``); ``cost``: "nll" or
    "quadratic"; ``jacobian_examples``: the number of probe examples the Jacobians were
    measured on (the first N).

    Returns ``{"linear": {...}, "mean_field": {...}}``, each a dict of per-layer lists:
    ``act_mean``, ``act_std``, ``bgrad_std``, ``wgrad_std`` (L,), ``sat`` (L,; mean field only),
    ``jacobian_mean_sv``, ``jacobian_mean_sv_iid``, ``jacobian_ms`` (L-1,), ``preact_var`` (L,),
    ``n_var_w`` (L+1,) and the floats ``logit_var``, ``output_delta_sq`` (see ``Prediction``).
    Column j of a per-layer list is hidden layer j+1, as in ``probes.ProbeResult``. Takes a few
    milliseconds per layer (plus ~20 ms per Jacobian pair for 20 examples).
    """
    v = weight_variances(widths, init)
    return {"linear": linear_regime(widths, v, input_second_moment, cost=cost).to_json(),
            "mean_field": mean_field(widths, activation, v, input_second_moment, cost=cost,
                                     jacobian_examples=jacobian_examples).to_json()}


# ---------------------------------------------------------------------- checks ----

def _check_q(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise GlorotError("variances must be finite and >= 0")
    return q


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                          f"got {activation!r}")


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    try:
        w = tuple(int(n) for n in widths)
    except (TypeError, ValueError):
        raise GlorotError(f"widths must be integers, got {widths!r}") from None
    if len(w) < 3 or min(w) < 1 or w[-1] < 2:
        raise GlorotError(f"widths must be (inputs, hidden..., classes) with at least one "
                          f"hidden layer, all >= 1 and at least 2 classes, got {w}")
    return w


def _check_net(widths, var_w, input_second_moment) -> tuple[tuple[int, ...], np.ndarray,
                                                             np.ndarray]:
    w = _check_widths(widths)
    v = np.asarray(var_w, dtype=np.float64)
    if v.shape != (len(w) - 1,) or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise GlorotError(f"var_w must hold {len(w) - 1} finite variances >= 0")
    m = np.atleast_1d(np.asarray(input_second_moment, dtype=np.float64))
    if m.ndim != 1 or not len(m) or not np.all(np.isfinite(m)) or np.any(m < 0):
        raise GlorotError("input_second_moment must be a float or (examples,) of finite "
                          "values >= 0")
    return w, v, m
