r"""Membrane mechanisms of the compartmental engine: NEURON's ``pas`` and ``hh``.

Parameter names, units and defaults are NEURON's (``nrn/src/nrnoc/passive.mod``,
``hh.mod``), so a model written for NEURON carries over by name.

``pas`` (passive leak), current density in mA/cm2:

.. math:: i = g\,(v - e)

``hh`` (Hodgkin & Huxley 1952, squid axon, voltages shifted so rest is -65 mV):

.. math::

    i_{Na} = \bar g_{Na} m^3 h (v - E_{Na}), \quad
    i_K = \bar g_K n^4 (v - E_K), \quad
    i_L = g_l (v - e_l)

    \dot x = (x_\infty(v) - x) / \tau_x(v), \qquad x \in \{m, h, n\}

with the rate functions of ``hh.mod``:

.. math::

    \alpha_m = 0.1\,\mathrm{vtrap}(-(v + 40), 10), \quad \beta_m = 4 e^{-(v + 65)/18}

    \alpha_h = 0.07 e^{-(v + 65)/20}, \quad \beta_h = 1 / (e^{-(v + 35)/10} + 1)

    \alpha_n = 0.01\,\mathrm{vtrap}(-(v + 55), 10), \quad \beta_n = 0.125 e^{-(v + 65)/80}

    x_\infty = \alpha / (\alpha + \beta), \quad \tau_x = 1 / (q_{10} (\alpha + \beta)),
    \quad q_{10} = 3^{(\mathrm{celsius} - 6.3)/10}

where :math:`\mathrm{vtrap}(x, y) = x / (e^{x/y} - 1)` (its limit :math:`y(1 - x/y/2)`
when :math:`|x/y| < 10^{-6}`). As in NEURON (``usetable_hh = 1``, the default) the six
functions :math:`x_\infty, \tau_x` are by default tabulated once per temperature at
1 mV steps from -100 to 100 mV and linearly interpolated (clamped outside the range);
``use_table=False`` evaluates them exactly.

The gates are advanced as NEURON's ``cnexp`` does for these linear equations, with the
rates at the new voltage: :math:`x \leftarrow x + (1 - e^{-\Delta t/\tau_x})(x_\infty - x)`.

References
----------
Hodgkin AL, Huxley AF (1952). J Physiol 117:500-544.
Hines ML, Carnevale NT (1997). The NEURON simulation environment. Neural Comput 9:1179-1209.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

#: rate table range and resolution of hh.mod's ``TABLE ... FROM -100 TO 100 WITH 200``
HH_TABLE_VMIN = -100.0
HH_TABLE_VMAX = 100.0
HH_TABLE_N = 200


@dataclass(frozen=True)
class ChannelParameter:
    """One mechanism parameter: NEURON default, unit and meaning."""

    default: float
    unit: str
    doc: str


#: mechanism name -> parameter name -> ChannelParameter (NEURON's names and defaults)
MECHANISMS: dict[str, dict[str, ChannelParameter]] = {
    "pas": {
        "g": ChannelParameter(0.001, "S/cm2", "leak conductance density"),
        "e": ChannelParameter(-70.0, "mV", "leak reversal potential"),
    },
    "hh": {
        "gnabar": ChannelParameter(0.12, "S/cm2", "maximal sodium conductance density"),
        "gkbar": ChannelParameter(0.036, "S/cm2", "maximal potassium conductance density"),
        "gl": ChannelParameter(0.0003, "S/cm2", "leak conductance density"),
        "el": ChannelParameter(-54.3, "mV", "leak reversal potential"),
        # ion reversal potentials: NEURON's na_ion / k_ion defaults
        "ena": ChannelParameter(50.0, "mV", "sodium reversal potential"),
        "ek": ChannelParameter(-77.0, "mV", "potassium reversal potential"),
    },
}


@njit(cache=True)
def _vtrap(x: float, y: float) -> float:
    if abs(x / y) < 1e-6:
        return y * (1.0 - x / y / 2.0)
    return x / (math.exp(x / y) - 1.0)


@njit(cache=True)
def hh_rates_exact(v: float, q10: float, out: np.ndarray) -> None:
    """Write (minf, mtau, hinf, htau, ninf, ntau) at ``v`` (mV) into ``out`` (taus in ms)."""
    alpha = 0.1 * _vtrap(-(v + 40.0), 10.0)
    beta = 4.0 * math.exp(-(v + 65.0) / 18.0)
    s = alpha + beta
    out[1] = 1.0 / (q10 * s)
    out[0] = alpha / s
    alpha = 0.07 * math.exp(-(v + 65.0) / 20.0)
    beta = 1.0 / (math.exp(-(v + 35.0) / 10.0) + 1.0)
    s = alpha + beta
    out[3] = 1.0 / (q10 * s)
    out[2] = alpha / s
    alpha = 0.01 * _vtrap(-(v + 55.0), 10.0)
    beta = 0.125 * math.exp(-(v + 65.0) / 80.0)
    s = alpha + beta
    out[5] = 1.0 / (q10 * s)
    out[4] = alpha / s


def hh_q10(celsius: float) -> float:
    """Temperature factor of hh's rates, 3 ** ((celsius - 6.3) / 10)."""
    return 3.0 ** ((celsius - 6.3) / 10.0)


def hh_table(celsius: float) -> np.ndarray:
    """Rate table of shape (201, 6): (minf, mtau, hinf, htau, ninf, ntau) per mV.

    Rows are v = -100, -99, ..., 100 mV, as NEURON's hh tables.
    """
    q10 = hh_q10(celsius)
    dv = (HH_TABLE_VMAX - HH_TABLE_VMIN) / HH_TABLE_N
    table = np.empty((HH_TABLE_N + 1, 6))
    v = HH_TABLE_VMIN
    for i in range(HH_TABLE_N + 1):
        hh_rates_exact(v, q10, table[i])
        v += dv  # accumulated like NMODL's table loop
    return table


@njit(cache=True)
def hh_rates(v: float, q10: float, table: np.ndarray, use_table: bool, out: np.ndarray) -> None:
    """hh rate functions at ``v`` (mV), from the table or exactly, into ``out`` (6,)."""
    if not use_table:
        hh_rates_exact(v, q10, out)
        return
    xi = (v - HH_TABLE_VMIN) * (HH_TABLE_N / (HH_TABLE_VMAX - HH_TABLE_VMIN))
    if xi <= 0.0:
        for j in range(6):
            out[j] = table[0, j]
        return
    if xi >= HH_TABLE_N:
        for j in range(6):
            out[j] = table[HH_TABLE_N, j]
        return
    i = int(xi)
    theta = xi - i
    for j in range(6):
        out[j] = table[i, j] + theta * (table[i + 1, j] - table[i, j])


def hh_steady_state(v: float, celsius: float = 6.3, use_table: bool = True) -> np.ndarray:
    """Steady-state gates (m, h, n) at ``v`` (mV), as hh's INITIAL block sets them."""
    out = np.empty(6)
    hh_rates(float(v), hh_q10(celsius), hh_table(celsius), use_table, out)
    return out[[0, 2, 4]].copy()


def mechanism_parameters(mechanism: str, params: dict[str, float]) -> dict[str, float]:
    """Complete ``params`` with NEURON's defaults; reject unknown names, listing valid ones."""
    from .._check import check_option, check_range, suggest

    check_option("mechanism", mechanism, MECHANISMS)
    spec = MECHANISMS[mechanism]
    out = {}
    for name, value in params.items():
        if name not in spec:
            raise ValueError(
                f"{mechanism!r} has no parameter {name!r}; valid parameters are "
                f"{sorted(spec)}.{suggest(name, spec)}"
            )
        out[name] = check_range(f"{mechanism}.{name}", value)
    for name, p in spec.items():
        out.setdefault(name, p.default)
    for name in ("g", "gnabar", "gkbar", "gl"):
        if name in out and out[name] < 0:
            raise ValueError(f"{mechanism}.{name} must be >= 0 S/cm2, but got {out[name]}.")
    return out
