"""The compiled step loop of the point-neuron engine.

One function, :func:`run_steps`, advances the whole network by up to
``n_steps`` steps of ``dt`` without returning to Python. Per step:

1. external inputs: Poisson counts (times their weight) are added to this
   step's slot of the input ring buffer; injected currents to ``Icur``;
2. every population is updated by its model's kernel (one function per model,
   inlined, over a contiguous range of neurons) reading its input from the ring
   slot; spiking neurons are listed in ``spk``; per population the spike count
   and mean ``V_m``, and the LFP proxy are written;
3. the slot is cleared and the step's spikes are delivered event-driven through
   the CSR lists of outgoing synapses into the slot ``delay`` steps ahead.

Memory layout: the state is ``S[row, neuron]`` (one contiguous row per state
variable, row 0 = V_m); the ring buffer is ``ring[slot, receptor * N + neuron]``
(receptor 0 excitatory, 1 inhibitory), so the per-step read is contiguous and
each synapse stores one precomputed column ``syn_col``. Synapses are sorted by
source, then delay, then target.

The loop stops early (returning the number of steps done) when the spike
recorder buffers could overflow in the next step; the caller grows them and
continues, so results do not depend on where a run is cut.
"""

from __future__ import annotations

import math

from numba import njit, uint64

from .rng import PTRS_FROM, count_from_table, fill_table, next_u64, poisson_ptrs

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# --------------------------------------------------------------------------------------
# per-model updates: (lo, hi) neuron range; return (n_spikes, sum of V_m, LFP sum)
# --------------------------------------------------------------------------------------
@njit(inline="always")
def _iaf_psc_delta(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    p22, p20, e_l, v_th, v_reset = P[0], P[1], P[2], P[3], P[4]
    rs, v_min, c_dt = int(P[5]), P[6], P[7]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        ex = ring[slot, i]
        inh = ring[slot, N + i]
        V = S[0, i]
        if refr[i] == 0:
            V = e_l + (V - e_l) * p22 + (bias[i] + Icur[i]) * p20 + ex + inh
            V = max(V, v_min)
        else:
            refr[i] -= 1
        if V >= v_th:
            refr[i] = rs
            V = v_reset
            spk[nspk] = i
            nspk += 1
        S[0, i] = V
        vsum += V
        lfp += abs(ex) + abs(inh)
    return nspk, vsum, lfp * c_dt


@njit(inline="always")
def _iaf_psc_exp(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    p22, p20, p11e, p11i, p21e, p21i = P[0], P[1], P[2], P[3], P[4], P[5]
    e_l, v_th, v_reset, rs = P[6], P[7], P[8], int(P[9])
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        V = S[0, i]
        i_ex = S[1, i]
        i_in = S[2, i]
        if refr[i] == 0:
            V = e_l + (V - e_l) * p22 + i_ex * p21e + i_in * p21i + (bias[i] + Icur[i]) * p20
        else:
            refr[i] -= 1
        i_ex = i_ex * p11e + ring[slot, i]
        i_in = i_in * p11i + ring[slot, N + i]
        if V >= v_th:
            refr[i] = rs
            V = v_reset
            spk[nspk] = i
            nspk += 1
        S[0, i] = V
        S[1, i] = i_ex
        S[2, i] = i_in
        vsum += V
        lfp += abs(i_ex) + abs(i_in)
    return nspk, vsum, lfp


@njit(inline="always")
def _iaf_psc_alpha(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    p33, p30 = P[0], P[1]
    p11e, p21e, p31e, p32e = P[2], P[3], P[4], P[5]
    p11i, p21i, p31i, p32i = P[6], P[7], P[8], P[9]
    e_l, v_th, v_reset, rs, k_ex, k_in = P[10], P[11], P[12], int(P[13]), P[14], P[15]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        V = S[0, i]
        di_ex, i_ex, di_in, i_in = S[1, i], S[2, i], S[3, i], S[4, i]
        if refr[i] == 0:
            V = (e_l + (V - e_l) * p33 + (bias[i] + Icur[i]) * p30 + p31e * di_ex + p32e * i_ex
                 + p31i * di_in + p32i * i_in)
        else:
            refr[i] -= 1
        i_ex = p21e * di_ex + p11e * i_ex
        di_ex = di_ex * p11e + k_ex * ring[slot, i]
        i_in = p21i * di_in + p11i * i_in
        di_in = di_in * p11i + k_in * ring[slot, N + i]
        if V >= v_th:
            refr[i] = rs
            V = v_reset
            spk[nspk] = i
            nspk += 1
        S[0, i] = V
        S[1, i], S[2, i], S[3, i], S[4, i] = di_ex, i_ex, di_in, i_in
        vsum += V
        lfp += abs(i_ex) + abs(i_in)
    return nspk, vsum, lfp


@njit(inline="always")
def _cond_rhs(V, g_ex, g_in, g_l, c_m, e_l, e_ex, e_in, I):
    return (-g_l * (V - e_l) - g_ex * (V - e_ex) - g_in * (V - e_in) + I) / c_m


@njit(inline="always")
def _iaf_cond(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk, alpha):
    g_l, c_m, e_l, e_ex, e_in, eh_ex, eh_in = P[0], P[1], P[2], P[3], P[4], P[5], P[6]
    v_th, v_reset, rs, nsub, h = P[7], P[8], int(P[9]), int(P[10]), P[11]
    k_ex, k_in = P[12], P[13]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        I = bias[i] + Icur[i]
        V = S[0, i]
        if alpha:
            dg_ex, g_ex, dg_in, g_in = S[1, i], S[2, i], S[3, i], S[4, i]
        else:
            dg_ex, g_ex, dg_in, g_in = 0.0, S[1, i], 0.0, S[2, i]
        for _ in range(nsub):
            # conductances at t + h/2 and t + h, exactly: g(t) = (g0 + dg0 t) exp(-t/tau)
            dgh_ex = dg_ex * eh_ex
            dgh_in = dg_in * eh_in
            gh_ex = (g_ex + 0.5 * h * dg_ex) * eh_ex
            gh_in = (g_in + 0.5 * h * dg_in) * eh_in
            gf_ex = (g_ex + h * dg_ex) * eh_ex * eh_ex
            gf_in = (g_in + h * dg_in) * eh_in * eh_in
            k1 = _cond_rhs(V, g_ex, g_in, g_l, c_m, e_l, e_ex, e_in, I)
            k2 = _cond_rhs(V + 0.5 * h * k1, gh_ex, gh_in, g_l, c_m, e_l, e_ex, e_in, I)
            k3 = _cond_rhs(V + 0.5 * h * k2, gh_ex, gh_in, g_l, c_m, e_l, e_ex, e_in, I)
            k4 = _cond_rhs(V + h * k3, gf_ex, gf_in, g_l, c_m, e_l, e_ex, e_in, I)
            V += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            g_ex, g_in = gf_ex, gf_in
            dg_ex, dg_in = dgh_ex * eh_ex, dgh_in * eh_in
        if refr[i] > 0:
            refr[i] -= 1
            V = v_reset
        elif V >= v_th:
            refr[i] = rs
            V = v_reset
            spk[nspk] = i
            nspk += 1
        # this step's spikes act from the next step (NEST's order); inhibition by |w|
        if alpha:
            dg_ex += k_ex * ring[slot, i]
            dg_in -= k_in * ring[slot, N + i]
            S[1, i], S[2, i], S[3, i], S[4, i] = dg_ex, g_ex, dg_in, g_in
        else:
            g_ex += ring[slot, i]
            g_in -= ring[slot, N + i]
            S[1, i], S[2, i] = g_ex, g_in
        S[0, i] = V
        vsum += V
        lfp += abs(g_ex * (V - e_ex)) + abs(g_in * (V - e_in))
    return nspk, vsum, lfp


@njit(inline="always")
def _aeif_rhs(V, w, g_ex, g_in, g_l, c_m, e_l, e_ex, e_in, I, d_t, v_th, v_peak, a, tau_w,
              refractory, v_reset):
    if refractory:
        V = v_reset
    elif V > v_peak:
        V = v_peak
    spike_current = 0.0
    if d_t > 0.0:
        spike_current = g_l * d_t * math.exp(min((V - v_th) / d_t, 500.0))
    dv = (-g_l * (V - e_l) + spike_current - g_ex * (V - e_ex) - g_in * (V - e_in) - w
          + I) / c_m
    if refractory:
        dv = 0.0
    dw = (a * (V - e_l) - w) / tau_w
    return dv, dw


@njit(inline="always")
def _aeif_cond_exp(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    g_l, c_m, e_l, e_ex, e_in, eh_ex, eh_in = P[0], P[1], P[2], P[3], P[4], P[5], P[6]
    v_th, v_reset, rs, nsub, h = P[7], P[8], int(P[9]), int(P[10]), P[11]
    d_t, v_peak, v_spike, a, b, tau_w = P[12], P[13], P[14], P[15], P[16], P[17]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        I = bias[i] + Icur[i]
        V, g_ex, g_in, w = S[0, i], S[1, i], S[2, i], S[3, i]
        spiked = False
        for _ in range(nsub):
            gh_ex, gh_in = g_ex * eh_ex, g_in * eh_in
            gf_ex, gf_in = gh_ex * eh_ex, gh_in * eh_in
            ref = refr[i] > 0
            k1v, k1w = _aeif_rhs(V, w, g_ex, g_in, g_l, c_m, e_l, e_ex, e_in, I, d_t, v_th,
                                 v_peak, a, tau_w, ref, v_reset)
            k2v, k2w = _aeif_rhs(V + 0.5 * h * k1v, w + 0.5 * h * k1w, gh_ex, gh_in, g_l, c_m,
                                 e_l, e_ex, e_in, I, d_t, v_th, v_peak, a, tau_w, ref, v_reset)
            k3v, k3w = _aeif_rhs(V + 0.5 * h * k2v, w + 0.5 * h * k2w, gh_ex, gh_in, g_l, c_m,
                                 e_l, e_ex, e_in, I, d_t, v_th, v_peak, a, tau_w, ref, v_reset)
            k4v, k4w = _aeif_rhs(V + h * k3v, w + h * k3w, gf_ex, gf_in, g_l, c_m, e_l, e_ex,
                                 e_in, I, d_t, v_th, v_peak, a, tau_w, ref, v_reset)
            V += h / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
            w += h / 6.0 * (k1w + 2.0 * k2w + 2.0 * k3w + k4w)
            g_ex, g_in = gf_ex, gf_in
            if refr[i] > 0:
                refr[i] -= 1
                V = v_reset
            elif V >= v_spike:
                V = v_reset
                w += b
                refr[i] = rs
                spiked = True
        if spiked:
            spk[nspk] = i
            nspk += 1
        g_ex += ring[slot, i]
        g_in -= ring[slot, N + i]
        S[0, i], S[1, i], S[2, i], S[3, i] = V, g_ex, g_in, w
        vsum += V
        lfp += abs(g_ex * (V - e_ex)) + abs(g_in * (V - e_in))
    return nspk, vsum, lfp


@njit(inline="always")
def _izhikevich(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    a, b, c, d, v_th, v_min, h = P[0], P[1], P[2], P[3], P[4], P[5], P[6]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        v_old = S[0, i]
        u_old = S[1, i]
        ex = ring[slot, i]
        inh = ring[slot, N + i]
        V = v_old + h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + bias[i]
                         + Icur[i]) + ex + inh
        U = u_old + h * a * (b * v_old - u_old)
        V = max(V, v_min)
        if V >= v_th:
            V = c
            U += d
            spk[nspk] = i
            nspk += 1
        S[0, i] = V
        S[1, i] = U
        vsum += V
        lfp += abs(ex) + abs(inh)
    return nspk, vsum, lfp / h


@njit(inline="always")
def _qif_flow(V, c, t, tau):
    """V after time t of tau dV/dt = V^2 + c (no crossing of V_peak within t)."""
    if c > 1e-12:
        s = math.sqrt(c)
        return s * math.tan(math.atan(V / s) + s * t / tau)
    if c < -1e-12:
        s = math.sqrt(-c)
        if abs(V) < s:
            return -s * math.tanh(s * t / tau - math.atanh(V / s))
        if V == s or V == -s:
            return V
        return -s / math.tanh(s * t / tau + math.atanh(-s / V))
    return V / (1.0 - V * t / tau)


@njit(inline="always")
def _qif_time_to(V, c, v_p, tau):
    """Time for tau dV/dt = V^2 + c to go from V up to v_p (inf if never)."""
    if V >= v_p:
        return 0.0
    if c > 1e-12:
        s = math.sqrt(c)
        return tau * (math.atan(v_p / s) - math.atan(V / s)) / s
    if c < -1e-12:
        s = math.sqrt(-c)
        if V <= s:
            return math.inf
        return tau * (math.atanh(s / V) - math.atanh(s / v_p)) / s
    if V <= 0.0:
        return math.inf
    return tau * (1.0 / V - 1.0 / v_p)


@njit(inline="always")
def _qif(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    tau, v_p, v_r, hold, dt = P[0], P[1], P[2], P[3], P[4]
    k = tau / dt
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        ex = ring[slot, i]
        inh = ring[slot, N + i]
        c = bias[i] + Icur[i] + k * (ex + inh)
        V = S[0, i]
        th = S[1, i]  # hold time left: (hold, 2 hold] at V_peak, (0, hold] at V_reset
        rem = dt
        spiked = False
        while rem > 0.0:
            if th > 0.0:
                if th > hold:  # at V_peak until the spike
                    d = min(th - hold, rem)
                    th -= d
                    rem -= d
                    if th <= hold:
                        th = hold
                        V = v_r
                        if not spiked:
                            spk[nspk] = i
                            nspk += 1
                            spiked = True
                    else:
                        V = v_p
                    continue
                d = min(th, rem)  # at V_reset
                th -= d
                rem -= d
                V = v_r
                th = max(0.0, th)
                continue
            if c > 1e-12 and V < v_p:  # the common case, with two transcendental calls
                sc = math.sqrt(c)
                th0 = math.atan(V / sc)
                th1 = th0 + sc * rem / tau
                if th1 < 0.5 * math.pi:
                    v1 = sc * math.tan(th1)
                    if v1 < v_p:
                        V = v1
                        rem = 0.0
                        continue
                t_star = tau * (math.atan(v_p / sc) - th0) / sc
            else:
                t_star = _qif_time_to(V, c, v_p, tau)
            if t_star >= rem:
                V = _qif_flow(V, c, rem, tau)
                rem = 0.0
            else:
                rem -= t_star
                V = v_p
                th = 2.0 * hold
        S[0, i] = V
        S[1, i] = th
        vsum += V
        lfp += abs(ex) + abs(inh)
    return nspk, vsum, lfp * k


@njit(inline="always")
def _hh_a(V, k, v0, s):
    x = (V + v0) / s
    if abs(x) < 1e-9:
        return k * s
    return k * s * x / -math.expm1(-x)


@njit(inline="always")
def _hh_rhs(V, m, hh, n, di_ex, i_ex, di_in, i_in, I, c_m, g_na, g_k, g_l, e_na, e_k, e_l,
            tau_ex, tau_in):
    am = _hh_a(V, 0.1, 40.0, 10.0)
    bm = 4.0 * math.exp(-(V + 65.0) / 18.0)
    ah = 0.07 * math.exp(-(V + 65.0) / 20.0)
    bh = 1.0 / (1.0 + math.exp(-(V + 35.0) / 10.0))
    an = _hh_a(V, 0.01, 55.0, 10.0)
    bn = 0.125 * math.exp(-(V + 65.0) / 80.0)
    m3 = m * m * m
    n4 = n * n * n * n
    i_ion = g_na * m3 * hh * (V - e_na) + g_k * n4 * (V - e_k) + g_l * (V - e_l)
    dV = (-i_ion + i_ex + i_in + I) / c_m
    return (dV, am * (1.0 - m) - bm * m, ah * (1.0 - hh) - bh * hh, an * (1.0 - n) - bn * n,
            -di_ex / tau_ex, di_ex - i_ex / tau_ex, -di_in / tau_in, di_in - i_in / tau_in)


@njit(inline="always")
def _hh_psc_alpha(lo, hi, S, refr, P, bias, ring, slot, N, Icur, spk, nspk):
    c_m, g_na, g_k, g_l, e_na, e_k, e_l = P[0], P[1], P[2], P[3], P[4], P[5], P[6]
    tau_ex, tau_in, rs, nsub, h, k_ex, k_in = P[7], P[8], int(P[9]), int(P[10]), P[11], \
        P[12], P[13]
    vsum = 0.0
    lfp = 0.0
    for i in range(lo, hi):
        I = bias[i] + Icur[i]
        y0, y1, y2, y3 = S[0, i], S[1, i], S[2, i], S[3, i]
        y4, y5, y6, y7 = S[4, i], S[5, i], S[6, i], S[7, i]
        v_old = y0
        for _ in range(nsub):
            a0, a1, a2, a3, a4, a5, a6, a7 = _hh_rhs(
                y0, y1, y2, y3, y4, y5, y6, y7, I, c_m, g_na, g_k, g_l, e_na, e_k, e_l,
                tau_ex, tau_in)
            q = 0.5 * h
            b0, b1, b2, b3, b4, b5, b6, b7 = _hh_rhs(
                y0 + q * a0, y1 + q * a1, y2 + q * a2, y3 + q * a3, y4 + q * a4, y5 + q * a5,
                y6 + q * a6, y7 + q * a7, I, c_m, g_na, g_k, g_l, e_na, e_k, e_l, tau_ex, tau_in)
            c0, c1, c2, c3, c4, c5, c6, c7 = _hh_rhs(
                y0 + q * b0, y1 + q * b1, y2 + q * b2, y3 + q * b3, y4 + q * b4, y5 + q * b5,
                y6 + q * b6, y7 + q * b7, I, c_m, g_na, g_k, g_l, e_na, e_k, e_l, tau_ex, tau_in)
            d0, d1, d2, d3, d4, d5, d6, d7 = _hh_rhs(
                y0 + h * c0, y1 + h * c1, y2 + h * c2, y3 + h * c3, y4 + h * c4, y5 + h * c5,
                y6 + h * c6, y7 + h * c7, I, c_m, g_na, g_k, g_l, e_na, e_k, e_l, tau_ex, tau_in)
            r = h / 6.0
            y0 += r * (a0 + 2.0 * b0 + 2.0 * c0 + d0)
            y1 += r * (a1 + 2.0 * b1 + 2.0 * c1 + d1)
            y2 += r * (a2 + 2.0 * b2 + 2.0 * c2 + d2)
            y3 += r * (a3 + 2.0 * b3 + 2.0 * c3 + d3)
            y4 += r * (a4 + 2.0 * b4 + 2.0 * c4 + d4)
            y5 += r * (a5 + 2.0 * b5 + 2.0 * c5 + d5)
            y6 += r * (a6 + 2.0 * b6 + 2.0 * c6 + d6)
            y7 += r * (a7 + 2.0 * b7 + 2.0 * c7 + d7)
        if refr[i] > 0:
            refr[i] -= 1
        elif y0 >= 0.0 and v_old > y0:
            refr[i] = rs
            spk[nspk] = i
            nspk += 1
        y4 += k_ex * ring[slot, i]
        y6 += k_in * ring[slot, N + i]
        S[0, i], S[1, i], S[2, i], S[3, i] = y0, y1, y2, y3
        S[4, i], S[5, i], S[6, i], S[7, i] = y4, y5, y6, y7
        vsum += y0
        lfp += abs(y5) + abs(y7)
    return nspk, vsum, lfp


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
@njit(inline="always")
def _poisson_input(rng, sel, lo, hi, lam, table, w, col, ring, slot):
    """Add w * Poisson(lam) to ring[slot, col + neuron] for neurons sel[lo:hi]."""
    if lam <= 0.0:
        return
    if lam >= PTRS_FROM:
        for j in range(lo, hi):
            ring[slot, col + sel[j]] += w * poisson_ptrs(rng, lam)
        return
    s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
    j = lo
    while j < hi:  # two 32-bit uniforms per 64-bit draw
        r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        k = count_from_table(r >> uint64(32), table)
        if k > 0:
            ring[slot, col + sel[j]] += w * k
        if j + 1 < hi:
            k = count_from_table(r & uint64(0xFFFFFFFF), table)
            if k > 0:
                ring[slot, col + sel[j + 1]] += w * k
        j += 2
    rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3


# --------------------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------------------
@njit(**_JIT)
def run_steps(n_steps, step0, off, dt, S, refr, bias, P, pop_lo, pop_hi, pop_model, pop_lfp,
              pop_rec, ring, syn_ptr, syn_col, syn_w, syn_d, in_kind, in_ptr, in_sel, in_w,
              in_col, in_rate, in_drive, tables, table_lam, rng, Icur, spk, counts, vmean,
              lfp, rec_step, rec_id, rec_n, dense_src, dense_lo, dense_hi, dense_w, dense_d):
    """Advance up to ``n_steps`` steps; return the number of steps done.

    ``dense_*`` describe all-to-all projections with one weight and one delay,
    kept as (source population, target column range, weight, delay) instead of
    synapse lists: the source's spike count of the step times the weight is
    added to every target, O(targets) per step instead of O(spikes x targets).

    ``step0`` is the global index of the first step (for the ring slot and the
    recorded spike steps); ``off`` the column of the first step in the output
    arrays and in ``in_drive``.
    """
    n_slots = ring.shape[0]
    N = S.shape[1]
    n_pop = pop_lo.shape[0]
    n_in = in_kind.shape[0]
    ms_to_s = dt * 1e-3
    n_dense = dense_src.shape[0]
    for s in range(n_steps):
        if rec_n[0] + N > rec_step.shape[0]:
            return s
        T = step0 + s
        slot = T % n_slots
        col_t = off + s
        # -- external inputs ------------------------------------------------------
        for k in range(n_in):
            val = in_rate[k] + in_drive[k, col_t]
            lo, hi = in_ptr[k], in_ptr[k + 1]
            if in_kind[k] == 0:
                lam = val * ms_to_s
                if lam != table_lam[k] and lam < PTRS_FROM:
                    fill_table(tables[k], lam)
                    table_lam[k] = lam
                _poisson_input(rng, in_sel, lo, hi, lam, tables[k], in_w[k], in_col[k], ring,
                               slot)
            else:
                w = val * in_w[k]
                for j in range(lo, hi):
                    Icur[in_sel[j]] += w
        # -- neurons --------------------------------------------------------------
        nspk = 0
        lfp_t = 0.0
        for p in range(n_pop):
            lo, hi = pop_lo[p], pop_hi[p]
            start = nspk
            m = pop_model[p]
            Pp = P[p]
            if m == 0:
                nspk, vs, lf = _iaf_psc_delta(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                              spk, nspk)
            elif m == 1:
                nspk, vs, lf = _iaf_psc_exp(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                            spk, nspk)
            elif m == 2:
                nspk, vs, lf = _iaf_psc_alpha(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                              spk, nspk)
            elif m == 3:
                nspk, vs, lf = _iaf_cond(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur, spk,
                                         nspk, False)
            elif m == 4:
                nspk, vs, lf = _iaf_cond(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur, spk,
                                         nspk, True)
            elif m == 5:
                nspk, vs, lf = _aeif_cond_exp(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                              spk, nspk)
            elif m == 6:
                nspk, vs, lf = _izhikevich(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                           spk, nspk)
            elif m == 7:
                nspk, vs, lf = _qif(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur, spk, nspk)
            else:
                nspk, vs, lf = _hh_psc_alpha(lo, hi, S, refr, Pp, bias, ring, slot, N, Icur,
                                             spk, nspk)
            counts[p, col_t] = nspk - start
            vmean[p, col_t] = vs / (hi - lo)
            if pop_lfp[p]:
                lfp_t += lf
            if pop_rec[p]:
                r = rec_n[0]
                for j in range(start, nspk):
                    rec_step[r] = T
                    rec_id[r] = spk[j]
                    r += 1
                rec_n[0] = r
        lfp[col_t] = lfp_t
        # -- clear this step's inputs ---------------------------------------------
        ring[slot, :] = 0.0
        for k in range(n_in):
            if in_kind[k] == 1:
                for j in range(in_ptr[k], in_ptr[k + 1]):
                    Icur[in_sel[j]] = 0.0
        # -- deliver spikes -------------------------------------------------------
        for j in range(nspk):
            src = spk[j]
            for q in range(syn_ptr[src], syn_ptr[src + 1]):
                target_slot = slot + syn_d[q]
                if target_slot >= n_slots:
                    target_slot -= n_slots
                ring[target_slot, syn_col[q]] += syn_w[q]
        for q in range(n_dense):
            c = counts[dense_src[q], col_t]
            if c > 0:
                target_slot = slot + dense_d[q]
                if target_slot >= n_slots:
                    target_slot -= n_slots
                x = c * dense_w[q]
                for j in range(dense_lo[q], dense_hi[q]):
                    ring[target_slot, j] += x
    return n_steps
