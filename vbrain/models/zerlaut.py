r"""AdEx mean fields of conductance-based E-I networks (Zerlaut et al. 2018; adaptation as
in di Volo et al. 2019), TVB's ``ZerlautAdaptationFirstOrder`` and
``ZerlautAdaptationSecondOrder``.

An excitatory (e) and an inhibitory (i) population of adaptive exponential
integrate-and-fire neurons, with firing rates :math:`E, I` (kHz) and mean
adaptation currents :math:`W_e, W_i` (pA). The first-order model:

.. math::

    T\,\dot E &= \mathcal F_e(E, I, \nu^{e}_{e}, \nu^{e}_{i}, W_e) - E \qquad
    T\,\dot I = \mathcal F_i(E, I, \nu^{i}_{e}, \nu^{i}_{i}, W_i) - I \\
    \dot W_\mu &= -W_\mu / \tau_{w\mu} + b_\mu \nu_\mu
                  + a_\mu (\mu_V^\mu - E_{L\mu}) / \tau_{w\mu} \\
    \dot{\mathrm{ou}} &= -\mathrm{ou} / \tau_{OU}

:math:`\nu^{\mu}_{e}, \nu^{\mu}_{i}` (kHz) are the excitatory and inhibitory
external rates onto population :math:`\mu`; :math:`\mathrm{ou}` (``ou_drift``)
is a state variable that only decays: noise added to it (by the integrator, as
in TVB) makes it an Ornstein-Uhlenbeck drive. With the network input
:math:`c_0` (kHz, from :math:`E`):

- first order: :math:`f = c_0 + w_{noise}\,\mathrm{ou}`, set to 0 where
  :math:`f K_{ext,e} < 0`; :math:`\nu^{e}_{e} = f + \nu^{ext}_{ee}`,
  :math:`\nu^{i}_{e} = f + \nu^{ext}_{ie}`;
- second order: :math:`\nu^{e}_{e} = \max(0, c_0 + \nu^{ext}_{ee} + w_{noise}\mathrm{ou})`,
  :math:`\nu^{i}_{e} = \max(0, S_i c_0 + \nu^{ext}_{ie} + w_{noise}\mathrm{ou})`;

and in both :math:`\nu^{e}_{i} = \nu^{ext}_{ei}`, :math:`\nu^{i}_{i} = \nu^{ext}_{ii}`
(``external_input_<target>_<source>``, e.g. ``external_input_in_ex``: excitatory
drive to the inhibitory population).

Transfer function (:math:`\mu = e, i`; conductances nS, potentials mV, times ms):

.. math::

    f_e &= (E + 10^{-6})(1 - g)\,p_e N_{tot} + \nu^\mu_e K_{ext,e} \qquad
    f_i = (I + 10^{-6})\,g\,p_i N_{tot} + \nu^\mu_i K_{ext,i} \\
    \mu_{Ge} &= Q_e \tau_e f_e \quad \mu_{Gi} = Q_i \tau_i f_i \quad
    \mu_G = g_L + \mu_{Ge} + \mu_{Gi} \quad T_m = C_m / \mu_G \\
    \mu_V &= (\mu_{Ge} E_e + \mu_{Gi} E_i + g_L E_{L\mu} - W_\mu) / \mu_G \qquad
    U_s = Q_s (E_s - \mu_V) / \mu_G \\
    \sigma_V^2 &= \sum_{s=e,i} \frac{f_s (U_s \tau_s)^2}{2 (\tau_s + T_m)} \qquad
    T_V = \frac{\sum_s f_s (U_s\tau_s)^2}{\sum_s f_s (U_s\tau_s)^2 / (\tau_s + T_m)} \\
    V^{eff}_{thre} &= 10^3\,P_\mu\big(\tfrac{\mu_V + 60}{10},
        \tfrac{\sigma_V - 4}{6}, \tfrac{T_V g_L / C_m - 0.5}{1}\big) \qquad
    \mathcal F_\mu = \frac{1}{2 T_V}\,
        \mathrm{erfc}\Big(\frac{V^{eff}_{thre} - \mu_V}{\sqrt 2\,\sigma_V}\Big)

with :math:`P(V, S, T) = P_0 + P_1 V + P_2 S + P_3 T + P_4 V^2 + P_5 S^2 + P_6 T^2
+ P_7 V S + P_8 V T + P_9 S T` (``P_e``, ``P_i``: the fitted coefficients, in V).
:math:`\mu_V^\mu` in :math:`\dot W_\mu` is that of :math:`\mathcal F_\mu`.

The second-order model (Zerlaut et al. 2018, eq. 3; El Boustani & Destexhe 2009)
adds the (co)variances :math:`C_{ee}, C_{ei}, C_{ii}` (kHz²) of the rates, as TVB
computes them (:math:`\partial_E, \partial_I`: derivatives in :math:`E, I`):

.. math::

    T\dot E &= \mathcal F_e - E + \tfrac12 \big(C_{ee}\,\partial^2_{EE}\mathcal F_e
        + 2 C_{ei}\,\partial^2_{EI}\mathcal F_e + C_{ii}\,\partial^2_{II}\mathcal F_e\big)
        \qquad (\dot I \text{ likewise with } \mathcal F_i) \\
    T\dot C_{ee} &= \frac{\mathcal F_e (1/T - \mathcal F_e)}{N_e} + (\mathcal F_e - E)^2
        + 2 C_{ee}\,\partial_E \mathcal F_e + 2 C_{ei}\,\partial_I \mathcal F_e - 2 C_{ee} \\
    T\dot C_{ei} &= (\mathcal F_e - E)(\mathcal F_i - I) + C_{ee}\,\partial_E \mathcal F_e
        + C_{ei}\,\partial_E \mathcal F_i + C_{ei}\,\partial_I \mathcal F_e
        + C_{ii}\,\partial_I \mathcal F_i - 2 C_{ei} \\
    T\dot C_{ii} &= \frac{\mathcal F_i (1/T - \mathcal F_i)}{N_i} + (\mathcal F_i - I)^2
        + 2 C_{ii}\,\partial_I \mathcal F_i + 2 C_{ei}\,\partial_E \mathcal F_i - 2 C_{ii}

(:math:`N_e = N_{tot}(1 - g)`, :math:`N_i = N_{tot} g`; El Boustani & Destexhe's
general form has :math:`C_{ee}\partial_E\mathcal F_i` and :math:`C_{ii}\partial_I
\mathcal F_e` in :math:`\dot C_{ei}`; TVB's terms are kept). As in TVB the
derivatives are central differences with step :math:`\delta = 10^{-7}` kHz,
divided by :math:`2 \cdot 10^3\delta` (first) and :math:`(10^3\delta)^2` (second),
i.e. derivatives with respect to rates in Hz; the mixed one is the mean of both
orders of differencing. These cancel ~8 of 16 digits: the dfun follows TVB's
operations in TVB's order, and agrees with it to ~1e-13 absolute (first order:
~1e-15 relative); the transfer function's erfc is vbrain's (within 6 ulp; its
own polynomial approximation, several times faster than ``math.erfc``).

Coupling: TVB's ``cvar`` is :math:`E` alone, usually through ``Linear``
coupling (:math:`c_0` a rate in kHz, scaled by ``K_ext_e`` synapses); ``S_i``
scales it onto the inhibitory population in the second-order model only (the
first-order dfun ignores it, as TVB's does). TVB adds local coupling
:math:`l E` and :math:`l I` to the external rates; dropped here (vbrain has
none). TVB's ``N_tot``, ``K_ext_e`` and ``K_ext_i`` are integers; floats here.
:math:`E, I \ge 0`.

References
----------
di Volo M, Romagnoni A, Capone C, Destexhe A (2019). Biologically realistic
mean-field models of conductance-based networks of spiking neurons with
adaptation. Neural Comput 31:653-680.

El Boustani S, Destexhe A (2009). A master equation formalism for macroscopic
modeling of asynchronous irregular activity states. Neural Comput 21:46-100.

Zerlaut Y, Chemla S, Chavane F, Destexhe A (2018). Modeling mesoscopic cortical
dynamics using a mean-field model of conductance-based networks of adaptive
exponential integrate-and-fire neurons. J Comput Neurosci 44:45-61.
"""

import math

import numpy as np
from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp

_SQRT2 = 1.4142135623730951  # numpy.sqrt(2)
_DF = 1e-7  # kHz: TVB's finite-difference step in E and I
_H1 = 2 * _DF * 1e3  # TVB's first-difference divisor (as it computes it)
_H2 = (_DF * 1e3) ** 2  # ... and second-difference divisor
# offsets in E and I of the points of the finite differences, e's nine then i's (x + 0.0 is
# x, x + -d is x - d: the same numbers as TVB's E + df, E - df); see _differences
_OFF_E = np.array((0.0, _DF, -_DF, 0.0, 0.0, _DF, -_DF, _DF, -_DF) * 2)
_OFF_I = np.array((0.0, 0.0, 0.0, _DF, -_DF, _DF, _DF, -_DF, -_DF) * 2)
_ERFC_K = 3.75
# h(t) = (1 + 2a) exp(a^2) erfc(a), a = K (1 + t) / (1 - t), as a polynomial in t on [-1, 1]
# (coefficients of t^0 ... t^26): interpolated at 200 Chebyshev nodes in 40-digit mpmath
# arithmetic, 27 Chebyshev terms (those left out are below 3e-20), converted to powers of t in
# the same precision and rounded (the sum of their magnitudes is 1.76: Horner's rule loses
# no digits)
_ERFC_P = (
    1.2375126308378275, -0.14024059858554702, 0.00358541548546369,
    0.08227673849015102, -0.10880393014170746, 0.09230432116019834,
    -0.05869339859054762, 0.0283622774215156, -0.009746579547619623,
    0.0017556258324217529, 0.00029371359480570737, -0.00029015397928986765,
    5.164940777546399e-05, 2.2383912036550678e-05, -1.1445049125831309e-05,
    -9.72849582211122e-07, 1.7534434251106334e-06, -5.826281078800777e-08,
    -2.6114702359900956e-07, 2.4289762925488707e-08, 4.0971223152703e-08,
    -4.3892841599863274e-09, -6.545560212480265e-09, 5.457157304704684e-10,
    9.022149700340584e-10, -3.753158277959615e-11, -7.339505008529528e-11,
)


@njit(inline="always", error_model="numpy")
def _erfc(x):  # pragma: no cover - compiled
    """erfc(x) within 6 ulp (math.erfc: 2 ulp), in plain arithmetic: the node loop can
    vectorise it, and it takes ~8 ns where math.erfc takes 30-50 ns (x > 1.5).

    erfc(a) = exp(-a^2) h(t) / (1 + 2a) for a = |x|, h the polynomial above, exp(-a^2) with
    a^2 split exactly (a = a_h + a_l, a_h of 26 bits: a_h^2 exact, the rest a small factor);
    erfc(x) = 2 - erfc(|x|) for x < 0; 0 beyond a = 27.5 (below the smallest double).
    """
    a = abs(x)
    t = (a - _ERFC_K) / (a + _ERFC_K)
    # h(t) as four interleaved polynomials in t^4 (short dependency chains: Horner's rule
    # over 27 terms would be latency-bound)
    p, t2 = _ERFC_P, t * t
    t4 = t2 * t2
    h0 = (((((p[24] * t4 + p[20]) * t4 + p[16]) * t4 + p[12]) * t4 + p[8]) * t4 + p[4]) * t4 + p[0]
    h1 = (((((p[25] * t4 + p[21]) * t4 + p[17]) * t4 + p[13]) * t4 + p[9]) * t4 + p[5]) * t4 + p[1]
    h2 = (((((p[26] * t4 + p[22]) * t4 + p[18]) * t4 + p[14]) * t4 + p[10]) * t4 + p[6]) * t4 + p[2]
    h3 = ((((p[23] * t4 + p[19]) * t4 + p[15]) * t4 + p[11]) * t4 + p[7]) * t4 + p[3]
    h = h0 + t * h1 + t2 * (h2 + t * h3)
    c = 134217729.0 * a  # 2**27 + 1: Veltkamp's split
    a_h = c - (c - a)
    d = (a_h + a) * (a - a_h)  # a^2 - a_h^2, exact to ~1e-16 relative
    e = exp(-a_h * a_h) * (1.0 - d * (1.0 - d * (0.5 - d * (1.0 / 6.0)))) * h / (1.0 + 2.0 * a)
    e = 0.0 if a > 27.5 else e
    return 2.0 - e if x < 0.0 else e


@njit(inline="always", error_model="numpy")
def _transfer(fe, fi, fe_ext, fi_ext, W, E_L, P, net):  # pragma: no cover - compiled
    """(F, mu_V): output rate (kHz) and mean membrane potential (mV) of a population."""
    g_L, C_m, E_e, E_i, Q_e, Q_i, tau_e, tau_i, N_tot, p_e, p_i, g, K_e, K_i = net
    # input rates onto one neuron; 1e-6 kHz: spontaneous release
    re = (fe + 1.0e-6) * (1.0 - g) * p_e * N_tot + fe_ext * K_e
    ri = (fi + 1.0e-6) * g * p_i * N_tot + fi_ext * K_i
    mu_Ge = Q_e * tau_e * re
    mu_Gi = Q_i * tau_i * ri
    mu_G = g_L + mu_Ge + mu_Gi
    T_m = C_m / mu_G
    mu_V = (mu_Ge * E_e + mu_Gi * E_i + g_L * E_L - W) / mu_G
    U_e = Q_e / mu_G * (E_e - mu_V)
    U_i = Q_i / mu_G * (E_i - mu_V)
    ue, ui = U_e * tau_e, U_i * tau_i
    se, si = re * (ue * ue), ri * (ui * ui)
    sigma_V = math.sqrt(se / (2.0 * (tau_e + T_m)) + si / (2.0 * (tau_i + T_m)))
    T_V = (se + si) / (se / (tau_e + T_m) + si / (tau_i + T_m))
    # phenomenological threshold: the fitted polynomial of the normalised moments (V -> mV)
    v = (mu_V + 60.0) / 10.0
    s = (sigma_V - 4.0) / 6.0
    t = T_V * g_L / C_m - 0.5
    V_thre = (P[0] + P[1] * v + P[2] * s + P[3] * t + P[4] * (v * v) + P[5] * (s * s)
              + P[6] * (t * t) + P[7] * v * s + P[8] * v * t + P[9] * s * t) * 1e3
    return _erfc((V_thre - mu_V) / (_SQRT2 * sigma_V)) / (2.0 * T_V), mu_V


@njit(inline="always", error_model="numpy")
def _differences(F, F_p0, F_m0, F_0p, F_0m, F_pp, F_mp, F_pm, F_mm):  # pragma: no cover
    """TVB's finite differences of F from its values at (E + i delta, I + j delta), F_ij
    (p: +1, m: -1): dF/dE, dF/dI, d2F/dE2, d/dI of d/dE, d/dE of d/dI, d2F/dI2."""
    dE = (F_p0 - F_m0) / _H1
    dI = (F_0p - F_0m) / _H1
    dEE = (F_p0 - 2.0 * F + F_m0) / _H2
    dII = (F_0p - 2.0 * F + F_0m) / _H2
    dEI = ((F_pp - F_mp) / _H1 - (F_pm - F_mm) / _H1) / _H1
    dIE = ((F_pp - F_pm) / _H1 - (F_mp - F_mm) / _H1) / _H1
    return dE, dI, dEE, dEI, dIE, dII


@njit(inline="always", error_model="numpy")
def _moments(E, I, fe_e, fi_e, W_e, fe_i, fi_i, W_i, E_L_e, E_L_i, P_e, P_i,
             net):  # pragma: no cover - compiled
    """F_e, mu_V of e, F_i, mu_V of i, and the finite differences of F_e and of F_i.

    One loop over the 18 evaluations (nine points, two populations) into two small arrays:
    LLVM vectorises it (four evaluations at a time with AVX2), and there is one copy of the
    transfer function to compile. (Eighteen inlined copies let the engine's node loop
    vectorise instead, ~1.4x faster, but a Heun kernel then took ~95 s to compile, not ~11.)
    """
    F = np.empty(18)
    mu = np.empty(18)
    for j in range(18):
        inh = j >= 9
        F[j], mu[j] = _transfer(E + _OFF_E[j], I + _OFF_I[j], fe_i if inh else fe_e,
                                fi_i if inh else fi_e, W_i if inh else W_e,
                                E_L_i if inh else E_L_e, P_i if inh else P_e, net)
    return (F[0], mu[0], F[9], mu[9],
            _differences(F[0], F[1], F[2], F[3], F[4], F[5], F[6], F[7], F[8]),
            _differences(F[9], F[10], F[11], F[12], F[13], F[14], F[15], F[16], F[17]))


@njit(inline="always", error_model="numpy")
def _adaptation(x, dx, k, row, E, I, mu_e, mu_i, adapt, tau_OU):  # pragma: no cover - compiled
    """dW_e, dW_i and d ou_drift / dt into dx[row:row + 3, k] (both orders)."""
    E_L_e, E_L_i, b_e, a_e, b_i, a_i, tau_w_e, tau_w_i = adapt
    W_e, W_i, ou = x[row, k], x[row + 1, k], x[row + 2, k]
    dx[row, k] = -W_e / tau_w_e + b_e * E + a_e * (mu_e - E_L_e) / tau_w_e
    dx[row + 1, k] = -W_i / tau_w_i + b_i * I + a_i * (mu_i - E_L_i) / tau_w_i
    dx[row + 2, k] = -ou / tau_OU


@njit(inline="always", error_model="numpy")
def _first_order(x, dx, k, c0, net, adapt, P_e, P_i, drive):  # pragma: no cover - compiled
    """The first-order model into dx[:, k] (S_i, drive[6], does not enter: TVB parity)."""
    ext_ee, ext_ei, ext_ie, ext_ii, tau_OU, weight_noise, _, T = drive
    E, I = x[0, k], x[1, k]
    # the network and noise input, floored at 0 (unless K_ext_e < 0), then the drives
    f = c0 + weight_noise * x[4, k]
    f = 0.0 if f * net[12] < 0.0 else f
    F_e, mu_e = _transfer(E, I, f + ext_ee, ext_ei, x[2, k], adapt[0], P_e, net)
    F_i, mu_i = _transfer(E, I, f + ext_ie, ext_ii, x[3, k], adapt[1], P_i, net)
    dx[0, k] = (F_e - E) / T
    dx[1, k] = (F_i - I) / T
    _adaptation(x, dx, k, 2, E, I, mu_e, mu_i, adapt, tau_OU)


@njit(inline="always", error_model="numpy")
def _second_order(x, dx, k, c0, net, adapt, P_e, P_i, drive):  # pragma: no cover - compiled
    """The second-order model into dx[:, k]."""
    ext_ee, ext_ei, ext_ie, ext_ii, tau_OU, weight_noise, S_i, T = drive
    E, I, C_ee, C_ei, C_ii = x[0, k], x[1, k], x[2, k], x[3, k], x[4, k]
    noise = weight_noise * x[7, k]
    fe_e = c0 + ext_ee + noise  # external excitatory rates, each floored at 0
    fe_i = S_i * c0 + ext_ie + noise
    fe_e = max(fe_e, 0.0)
    fe_i = max(fe_i, 0.0)
    F_e, mu_e, F_i, mu_i, d_e, d_i = _moments(E, I, fe_e, ext_ei, x[5, k], fe_i, ext_ii,
                                               x[6, k], adapt[0], adapt[1], P_e, P_i, net)
    dE_e, dI_e, dEE_e, dEI_e, dIE_e, dII_e = d_e
    dE_i, dI_i, dEE_i, dEI_i, dIE_i, dII_i = d_i
    N_e, N_i = net[8] * (1.0 - net[11]), net[8] * net[11]  # N_tot (1 - g), N_tot g
    dx[0, k] = (F_e - E + 0.5 * C_ee * dEE_e + 0.5 * C_ei * dEI_e + 0.5 * C_ei * dIE_e
                + 0.5 * C_ii * dII_e) / T
    dx[1, k] = (F_i - I + 0.5 * C_ee * dEE_i + 0.5 * C_ei * dEI_i + 0.5 * C_ei * dIE_i
                + 0.5 * C_ii * dII_i) / T
    dx[2, k] = (F_e * (1.0 / T - F_e) / N_e + (F_e - E) * (F_e - E) + 2.0 * C_ee * dE_e
                + 2.0 * C_ei * dI_e - 2.0 * C_ee) / T
    dx[3, k] = ((F_e - E) * (F_i - I) + C_ee * dE_e + C_ei * dE_i + C_ei * dI_e
                + C_ii * dI_i - 2.0 * C_ei) / T
    dx[4, k] = (F_i * (1.0 / T - F_i) / N_i + (F_i - I) * (F_i - I) + 2.0 * C_ii * dI_i
                + 2.0 * C_ei * dE_i - 2.0 * C_ii) / T
    _adaptation(x, dx, k, 5, E, I, mu_e, mu_i, adapt, tau_OU)


# parameter rows: g_L 0, E_L_e 1, E_L_i 2, C_m 3, b_e 4, a_e 5, b_i 6, a_i 7, tau_w_e 8,
# tau_w_i 9, E_e 10, E_i 11, Q_e 12, Q_i 13, tau_e 14, tau_i 15, N_tot 16, p_connect_e 17,
# p_connect_i 18, g 19, K_ext_e 20, K_ext_i 21, T 22, P_e 23-32, P_i 33-42,
# external_input_ex_ex 43, _ex_in 44, _in_ex 45, _in_in 46, tau_OU 47, weight_noise 48, S_i 49
@njit(cache=True, error_model="numpy")
def _zerlaut_first_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    net = (p[0, k], p[3, k], p[10, k], p[11, k], p[12, k], p[13, k], p[14, k], p[15, k],
           p[16, k], p[17, k], p[18, k], p[19, k], p[20, k], p[21, k])
    adapt = (p[1, k], p[2, k], p[4, k], p[5, k], p[6, k], p[7, k], p[8, k], p[9, k])
    P_e = (p[23, k], p[24, k], p[25, k], p[26, k], p[27, k], p[28, k], p[29, k], p[30, k],
           p[31, k], p[32, k])
    P_i = (p[33, k], p[34, k], p[35, k], p[36, k], p[37, k], p[38, k], p[39, k], p[40, k],
           p[41, k], p[42, k])
    drive = (p[43, k], p[44, k], p[45, k], p[46, k], p[47, k], p[48, k], p[49, k], p[22, k])
    _first_order(x, dx, k, c[0, k], net, adapt, P_e, P_i, drive)


@njit(cache=True, error_model="numpy")
def _zerlaut_second_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    net = (p[0, k], p[3, k], p[10, k], p[11, k], p[12, k], p[13, k], p[14, k], p[15, k],
           p[16, k], p[17, k], p[18, k], p[19, k], p[20, k], p[21, k])
    adapt = (p[1, k], p[2, k], p[4, k], p[5, k], p[6, k], p[7, k], p[8, k], p[9, k])
    P_e = (p[23, k], p[24, k], p[25, k], p[26, k], p[27, k], p[28, k], p[29, k], p[30, k],
           p[31, k], p[32, k])
    P_i = (p[33, k], p[34, k], p[35, k], p[36, k], p[37, k], p[38, k], p[39, k], p[40, k],
           p[41, k], p[42, k])
    drive = (p[43, k], p[44, k], p[45, k], p[46, k], p[47, k], p[48, k], p[49, k], p[22, k])
    _second_order(x, dx, k, c[0, k], net, adapt, P_e, P_i, drive)


_PARAMETERS = {
    "g_L": Parameter(10.0, "nS", "leak conductance", (0.1, 100.0)),
    "E_L_e": Parameter(-65.0, "mV", "leak reversal potential of excitatory cells",
                       (-90.0, -60.0)),
    "E_L_i": Parameter(-65.0, "mV", "leak reversal potential of inhibitory cells",
                       (-90.0, -60.0)),
    "C_m": Parameter(200.0, "pF", "membrane capacitance", (10.0, 500.0)),
    "b_e": Parameter(60.0, "pA", "excitatory adaptation current increment", (0.0, 150.0)),
    "a_e": Parameter(4.0, "nS", "excitatory adaptation conductance", (0.0, 20.0)),
    "b_i": Parameter(0.0, "pA", "inhibitory adaptation current increment", (0.0, 100.0)),
    "a_i": Parameter(0.0, "nS", "inhibitory adaptation conductance", (0.0, 20.0)),
    "tau_w_e": Parameter(500.0, "ms", "adaptation time constant of excitatory cells",
                         (1.0, 1000.0)),
    "tau_w_i": Parameter(1.0, "ms", "adaptation time constant of inhibitory cells",
                         (1.0, 1000.0)),
    "E_e": Parameter(0.0, "mV", "excitatory reversal potential", (-20.0, 20.0)),
    "E_i": Parameter(-80.0, "mV", "inhibitory reversal potential", (-100.0, -60.0)),
    "Q_e": Parameter(1.5, "nS", "excitatory quantal conductance", (0.0, 5.0)),
    "Q_i": Parameter(5.0, "nS", "inhibitory quantal conductance", (0.0, 10.0)),
    "tau_e": Parameter(5.0, "ms", "excitatory synaptic decay", (1.0, 10.0)),
    "tau_i": Parameter(5.0, "ms", "inhibitory synaptic decay", (0.5, 10.0)),
    "N_tot": Parameter(10000.0, "1", "number of cells (an integer in TVB)", (1000.0, 50000.0)),
    "p_connect_e": Parameter(0.05, "1", "connection probability from excitatory cells",
                             (0.001, 0.2)),
    "p_connect_i": Parameter(0.05, "1", "connection probability from inhibitory cells",
                             (0.001, 0.2)),
    "g": Parameter(0.2, "1", "fraction of inhibitory cells", (0.01, 0.4)),
    "K_ext_e": Parameter(400.0, "1", "external excitatory synapses per cell (the network "
                         "input's too; an integer in TVB)", (0.0, 10000.0)),
    "K_ext_i": Parameter(0.0, "1", "external inhibitory synapses per cell (an integer in TVB)",
                         (0.0, 10000.0)),
    "T": Parameter(20.0, "ms", "time scale of the network activity", (1.0, 20.0)),
    "P_e": Parameter((-0.04983106, 0.005063550882777035, -0.023470121807314552,
                      0.0022951513725067503, -0.0004105302652029825, 0.010547051343547399,
                      -0.03659252821136933, 0.007437487505797858, 0.001265064721846073,
                      -0.04072161294490446),
                     "V", "threshold polynomial of excitatory cells, P_0 ... P_9"),
    "P_i": Parameter((-0.05149122024209484, 0.004003689190271077, -0.008352013668528155,
                      0.0002414237992765705, -0.0005070645080016026, 0.0014345394104282397,
                      -0.014686689498949967, 0.004502706285435741, 0.0028472190352532454,
                      -0.015357804594594548),
                     "V", "threshold polynomial of inhibitory cells, P_0 ... P_9"),
    "external_input_ex_ex": Parameter(0.0, "kHz", "external excitatory drive to excitatory "
                                      "cells", (0.0, 0.1)),
    "external_input_ex_in": Parameter(0.0, "kHz", "external inhibitory drive to excitatory "
                                      "cells", (0.0, 0.1)),
    "external_input_in_ex": Parameter(0.0, "kHz", "external excitatory drive to inhibitory "
                                      "cells", (0.0, 0.1)),
    "external_input_in_in": Parameter(0.0, "kHz", "external inhibitory drive to inhibitory "
                                      "cells", (0.0, 0.1)),
    "tau_OU": Parameter(5.0, "ms", "decay time of ou_drift", (0.1, 10.0)),
    "weight_noise": Parameter(10.5, "kHz", "weight of ou_drift in the excitatory input rate",
                              (0.0, 50.0)),
    "S_i": Parameter(1.0, "1", "scaling of the network input onto inhibitory cells (second "
                     "order only; unused by the first-order dfun, as in TVB)", (0.0, 2.0)),
}

_RATES = (
    StateVariable("E", "kHz", (1e-3, 250e-3), (0.0, None), doc="excitatory firing rate"),
    StateVariable("I", "kHz", (1e-3, 250e-3), (0.0, None), doc="inhibitory firing rate"),
)
_SLOW = (
    StateVariable("W_e", "pA", (0.0, 200.0), doc="mean adaptation current of excitatory cells"),
    StateVariable("W_i", "pA", (0.0, 0.0), doc="mean adaptation current of inhibitory cells"),
    StateVariable("ou_drift", "1", (0.0, 0.0),
                  doc="decaying drive of the excitatory inputs (an OU process with noise)"),
)


class ZerlautAdaptationFirstOrder(Model):
    """AdEx mean field, first order (Zerlaut et al. 2018, di Volo et al. 2019), TVB's defaults."""

    state_variables = _RATES + _SLOW
    parameters = _PARAMETERS
    coupling_variables = ("E",)
    variables_of_interest = ("E",)
    bold_variable = "E"
    dfun = staticmethod(_zerlaut_first_dfun)


class ZerlautAdaptationSecondOrder(Model):
    """AdEx mean field with the rates' (co)variances (Zerlaut et al. 2018), TVB's defaults."""

    state_variables = _RATES + (
        StateVariable("C_ee", "kHz^2", (0.0, 0.5e-3), doc="variance of the excitatory rate"),
        StateVariable("C_ei", "kHz^2", (-0.5e-3, 0.5e-3),
                      doc="covariance of the excitatory and inhibitory rates"),
        StateVariable("C_ii", "kHz^2", (0.0, 0.5e-3), doc="variance of the inhibitory rate"),
    ) + _SLOW
    parameters = _PARAMETERS
    coupling_variables = ("E",)
    variables_of_interest = ("E",)
    bold_variable = "E"
    dfun = staticmethod(_zerlaut_second_dfun)
