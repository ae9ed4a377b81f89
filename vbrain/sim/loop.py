"""The compiled time loop (source template; see kernel.py).

This file is not imported as is: ``kernel.make_kernel`` copies it to the
kernel cache with the names ``dfun``, ``pre``, ``post`` (the model's and
coupling's per-node functions), ``fill_normals`` (the noise's draws,
sim/normals.py) and the constants ``SCHEME``, ``N_STATE``,
``N_COMP``, ``BATCHED``, ``NOISY`` (noise, drawn and scaled here per step),
``COLORED`` (the noise exponentially correlated), ``MULTIPLICATIVE`` (scaled by a
linear function of the state),
``DRIVEN`` (per-node stimulus increments), ``STOCHASTIC`` (either),
``BOUNDED``, ``RECORD_C`` (keep every step's coupling, for insets and coupling
monitors) and ``FUSED``
(a stage's update in the loop of its dfun) bound in its namespace,
so that numba compiles, inlines and caches one specialised loop per
combination (loops over the constants unroll, dead branches vanish).
The loop sees arrays and scalars only; ``Simulation`` prepares them.

Layout: nodes are region x batch member, node ``k = i * n_batch + b`` (batch
innermost). The history buffer ``H`` (n_components, n_regions, n_columns,
n_batch) holds the coupling pre-values of past states, one column per step;
column ``cur`` is the current state. When it fills, the last ``dmax + 1``
columns move to the front.

The delayed gather is the hot spot. A connection whose delay is at least k
steps only needs states older than the next k steps, so its contributions
for k steps can be summed at once, streaming contiguously through time and
batch (SIMD-friendly, four connections per pass over the sums). Connections
come in three tiers by delay: far ones (>= ``block``, most of them) summed
``block`` steps at a time, near ones (>= ``sub``) ``sub`` steps at a time,
and the few shortest (neighbours) step by step, then zero-delay
self-connections from a per-region weight. Each sum is far part + near part
+ short part + self part, each in a fixed order, so results do not depend on
how a run is chunked.

One step from state x_n at time t_n:

1. coupling ``c`` from the history buffer (x_j(t_n - d_ij), d in steps) and
   x_n, computed once and used by every stage (TVB's semantics);
2. the scheme advances x_n to x_{n+1}, clamping to bounds after every stage;
   the step's increment (noise plus dt times the stimulus) is added as TVB adds
   them: Euler once, Heun to predictor and corrector alike, RK4 once at the end;
3. x_{n+1} is written to ``trace[n]`` (or added to ``trace[n // every]``, the sum
   of its window of ``every`` steps, when the monitors only need those) and its
   pre-values to column cur + 1.
"""

# ruff: noqa: F821  (dfun, pre, post and the upper-case constants are bound by kernel.make_kernel)
import numpy as np
from numba import njit

EULER, HEUN, RK4 = 0, 1, 2
#: spare columns at the end of the history buffer
SLACK = 8
_MAX_FLOAT = 1.7976931348623157e308


@njit(inline="always")
def _clamp(x, lo, hi, k):  # pragma: no cover - compiled
    if BOUNDED:
        for v in range(N_STATE):
            # selects, not min/max (whose NaN handling branches and stops the node loop
            # vectorising); NaN stays NaN for the divergence check
            value = x[v, k]
            value = lo[v] if value < lo[v] else value  # noqa: FURB136
            x[v, k] = hi[v] if value > hi[v] else value  # noqa: FURB136


@njit(inline="always")
def _advance(out, x, d, h, e, lo, hi, k, add_increment):  # pragma: no cover - compiled
    """out = x + h * d (plus the step's increment ``e`` if ``add_increment``), clamped."""
    for v in range(N_STATE):
        out[v, k] = x[v, k] + h * d[v, k]
        if add_increment:
            out[v, k] += e[v, k]
    _clamp(out, lo, hi, k)


@njit(inline="always")
def _heun_correct(x, d1, d2, dt, e, lo, hi, k):  # pragma: no cover - compiled
    """x += dt / 2 (d1 + d2) plus the step's increment, clamped."""
    for v in range(N_STATE):
        x[v, k] += 0.5 * dt * (d1[v, k] + d2[v, k])
        if STOCHASTIC:
            x[v, k] += e[v, k]
    _clamp(x, lo, hi, k)


@njit(inline="always")
def _rk4_final(x, d1, d2, d3, d4, dt, e, lo, hi, k):  # pragma: no cover - compiled
    """x += dt / 6 (d1 + 2 d2 + 2 d3 + d4) plus the step's increment, clamped."""
    for v in range(N_STATE):
        x[v, k] += dt / 6.0 * (d1[v, k] + 2.0 * d2[v, k] + 2.0 * d3[v, k] + d4[v, k])
        if STOCHASTIC:
            x[v, k] += e[v, k]
    _clamp(x, lo, hi, k)


@njit(inline="always")
def _stream(acc, Hf, start, end, col, w, d, base, n_cols, nb, cur, run):  # pragma: no cover
    """acc[:run] = sum over connections start..end of w * (the source's run from its delay)."""
    for u in range(run):
        acc[u] = 0.0
    nz = start
    while nz + 4 <= end:  # four at a time: one load and store of acc per four connections
        w0, w1, w2, w3 = w[nz], w[nz + 1], w[nz + 2], w[nz + 3]
        s0 = Hf[((base + col[nz]) * n_cols + cur - d[nz]) * nb:]
        s1 = Hf[((base + col[nz + 1]) * n_cols + cur - d[nz + 1]) * nb:]
        s2 = Hf[((base + col[nz + 2]) * n_cols + cur - d[nz + 2]) * nb:]
        s3 = Hf[((base + col[nz + 3]) * n_cols + cur - d[nz + 3]) * nb:]
        for u in range(run):  # the same additions, in the same order, as one at a time
            acc[u] = (((acc[u] + w0 * s0[u]) + w1 * s1[u]) + w2 * s2[u]) + w3 * s3[u]
        nz += 4
    while nz < end:
        w0 = w[nz]
        s0 = Hf[((base + col[nz]) * n_cols + cur - d[nz]) * nb:]
        for u in range(run):
            acc[u] += w0 * s0[u]
        nz += 1


@njit(cache=True, error_model="numpy", nogil=True)
def kernel(x, H, cur, dmax, n_steps, dt, n_batch, block, sub,
           long_ptr, long_col, long_w, long_d, short_row, short_col, short_w, short_d,
           self_w, wsum, cvar, p, cp, lo, hi, incr, keys, step0, zactive, zrow, zamp, eta, decay,
           mul, trace, every, S, acc, c_trace):  # pragma: no cover
    """Advance ``n_steps``; return (steps done, failing node or -1, new ``cur``).

    Compiled with ``error_model="numpy"`` (no division-by-zero checks) and with
    every per-node phase a plain loop over nodes into scratch arrays allocated
    here: that lets LLVM vectorise the model, the integrator and the coupling
    functions across nodes (regions x batch members).

    The step's increment, formed per step in a small scratch, is the noise
    ``z[zrow[b], v, i] * zamp[v, i, b]`` (z: the standard normal draws of absolute
    step ``step0 + step`` for each seed's key in ``keys``, made here for the
    variables with ``zactive[v]``; member b's seed row and amplitude; ``zamp``'s
    last axis may be 1 for every member alike) or, for coloured noise
    (``COLORED``), ``eta[v, k] * zamp[v, i, b]`` after the update
    ``eta[v, k] = decay[0] * eta[v, k] + decay[1] * z`` (``eta``, (n_state, n_nodes),
    carried from chunk to chunk), times ``mul[0] * x + mul[1]`` for multiplicative noise
    (``MULTIPLICATIVE``, x at the step's start), plus the stimulus ``incr[step]``
    (n_state, n_nodes).
    """
    # N_STATE, N_COMP, BATCHED, NOISY, COLORED, MULTIPLICATIVE, DRIVEN, STOCHASTIC, BOUNDED,
    # RECORD_C, FUSED are compile-time constants: loops over them unroll, dead branches vanish
    n_nodes = x.shape[1]
    n_regions, n_cols = H.shape[1], H.shape[2]
    nb = n_batch if BATCHED else 1
    Hf = H.reshape(-1)
    c = np.zeros((len(cvar), n_nodes))
    h = np.empty((N_COMP, n_nodes))
    d1 = np.empty_like(x)
    d2 = np.empty_like(x)
    d3 = np.empty_like(x)
    d4 = np.empty_like(x)
    xt = np.empty_like(x)
    e = np.empty_like(x)
    per_member = zamp.shape[2] > 1
    common = not per_member
    for b in range(zrow.shape[0]):
        common &= zrow[b] == zrow[0]
    first_row = zrow[0] if zrow.shape[0] else 0
    # draws per seed; variables without noise (zactive false) keep their zeros
    zs = np.zeros((keys.shape[0], N_STATE, n_regions + n_regions % 2))
    n = 0
    while n < n_steps:
        kb = min(block, n_steps - n)
        # keep room for kb new columns and the slack: move the last dmax + 1 columns
        # to the front
        if cur + kb + SLACK >= n_cols:
            shift = cur - dmax
            for q in range(N_COMP):
                for j in range(n_regions):
                    for col in range(dmax + 1):
                        for b in range(nb):
                            H[q, j, col, b] = H[q, j, col + shift, b]
            cur = dmax
        # far connections (delay >= block): all kb steps at once, streaming each
        # connection's run (steps x members, contiguous)
        for q in range(N_COMP):
            for i in range(n_regions):
                _stream(acc, Hf, long_ptr[0, i], long_ptr[0, i + 1], long_col, long_w, long_d,
                        q * n_regions, n_cols, nb, cur, kb * nb)
                for kt in range(kb):
                    for b in range(nb):
                        S[kt, q, i * nb + b] = acc[kt * nb + b]
        for kt in range(kb):
            step = n + kt
            if kt % sub == 0:  # near connections (sub <= delay < block): sub steps at once
                ks = min(sub, kb - kt)
                for q in range(N_COMP):
                    for i in range(n_regions):
                        if long_ptr[1, i + 1] > long_ptr[1, i]:
                            _stream(acc, Hf, long_ptr[1, i], long_ptr[1, i + 1], long_col, long_w,
                                    long_d, q * n_regions, n_cols, nb, cur, ks * nb)
                            for u in range(ks):
                                for b in range(nb):
                                    S[kt + u, q, i * nb + b] += acc[u * nb + b]
            # short connections (delay < sub) on top, step by step, in place
            s = S[kt]
            for q in range(N_COMP):
                for nz in range(short_row.shape[0]):
                    w = short_w[nz]
                    i = short_row[nz]
                    j = short_col[nz]
                    col = cur - short_d[nz]
                    for b in range(nb):
                        s[q, i * nb + b] += w * H[q, j, col, b]
                # zero-delay self-connections last, region by region (no index lists)
                for i in range(n_regions):
                    w = self_w[i]
                    if w != 0.0:
                        for b in range(nb):
                            s[q, i * nb + b] += w * H[q, i, cur, b]
            for k in range(n_nodes):
                post(s, x, cvar, wsum, cp, c, k)
            if RECORD_C:
                for q in range(len(cvar)):
                    for k in range(n_nodes):
                        c_trace[step, q, k] = c[q, k]
            if NOISY:  # this step's draws (sim/normals.py), scaled per node
                t = np.uint64(step0 + step)
                if COLORED:  # exponentially correlated: each node's eta moves, then scales
                    for r in range(keys.shape[0]):
                        fill_normals(keys[r], t, zactive, zs[r])
                    for v in range(N_STATE):
                        for i in range(n_regions):
                            for b in range(nb):
                                k = i * nb + b
                                eta[v, k] = decay[0] * eta[v, k] + decay[1] * zs[zrow[b], v, i]
                                e[v, k] = eta[v, k] * zamp[v, i, b if per_member else 0]
                elif common:  # one seed, one amplitude: a broadcast
                    zr = zs[first_row]
                    fill_normals(keys[first_row], t, zactive, zr)
                    for v in range(N_STATE):
                        zv = zr[v]
                        for i in range(n_regions):
                            value = zv[i] * zamp[v, i, 0]
                            for b in range(nb):
                                e[v, i * nb + b] = value
                else:
                    for r in range(keys.shape[0]):
                        fill_normals(keys[r], t, zactive, zs[r])
                    for v in range(N_STATE):
                        for i in range(n_regions):
                            for b in range(nb):
                                e[v, i * nb + b] = (zs[zrow[b], v, i]
                                                    * zamp[v, i, b if per_member else 0])
            if MULTIPLICATIVE:  # g(x) = sqrt(2 D) (a x + b) at the step's start
                for v in range(N_STATE):
                    for k in range(n_nodes):
                        e[v, k] *= mul[0] * x[v, k] + mul[1]
            if DRIVEN:
                for v in range(N_STATE):
                    for k in range(n_nodes):
                        e[v, k] = e[v, k] + incr[step, v, k] if NOISY else incr[step, v, k]
            # integrate; the coupling is held through every stage (TVB's semantics). A
            # stage's update shares the loop of its dfun when FUSED (few state variables);
            # otherwise it gets a loop of its own: reading a derivative back in the loop
            # that wrote it, LLVM cannot tell the rows apart and the loop stays scalar
            if SCHEME == EULER:
                for k in range(n_nodes):
                    dfun(x, c, p, d1, k)
                    if FUSED:
                        _advance(x, x, d1, dt, e, lo, hi, k, STOCHASTIC)
                if not FUSED:
                    for k in range(n_nodes):
                        _advance(x, x, d1, dt, e, lo, hi, k, STOCHASTIC)
            elif SCHEME == HEUN:
                for k in range(n_nodes):
                    dfun(x, c, p, d1, k)
                    if FUSED:
                        _advance(xt, x, d1, dt, e, lo, hi, k, STOCHASTIC)
                if not FUSED:
                    for k in range(n_nodes):
                        _advance(xt, x, d1, dt, e, lo, hi, k, STOCHASTIC)
                for k in range(n_nodes):
                    dfun(xt, c, p, d2, k)
                    if FUSED:
                        _heun_correct(x, d1, d2, dt, e, lo, hi, k)
                if not FUSED:
                    for k in range(n_nodes):
                        _heun_correct(x, d1, d2, dt, e, lo, hi, k)
            else:  # RK4, deterministic
                for k in range(n_nodes):
                    dfun(x, c, p, d1, k)
                    if FUSED:
                        _advance(xt, x, d1, 0.5 * dt, e, lo, hi, k, False)
                if not FUSED:
                    for k in range(n_nodes):
                        _advance(xt, x, d1, 0.5 * dt, e, lo, hi, k, False)
                for k in range(n_nodes):
                    dfun(xt, c, p, d2, k)
                for k in range(n_nodes):
                    _advance(xt, x, d2, 0.5 * dt, e, lo, hi, k, False)
                for k in range(n_nodes):
                    dfun(xt, c, p, d3, k)
                for k in range(n_nodes):
                    _advance(xt, x, d3, dt, e, lo, hi, k, False)
                for k in range(n_nodes):
                    dfun(xt, c, p, d4, k)
                    if FUSED:
                        _rk4_final(x, d1, d2, d3, d4, dt, e, lo, hi, k)
                if not FUSED:
                    for k in range(n_nodes):
                        _rk4_final(x, d1, d2, d3, d4, dt, e, lo, hi, k)
            # record (the state, or its window's running sum), check, push the new state's
            # pre-values to column cur + 1
            finite = True
            row = step // every
            if step % every == 0:  # a new row: 0.0 + x as a sum starts (x + -0.0 is x itself)
                start = -0.0 if every == 1 else 0.0
                for v in range(N_STATE):
                    for k in range(n_nodes):
                        trace[row, v, k] = x[v, k] + start
                        # an AND over comparisons (NaN compares false) vectorises; a sum would not
                        finite &= abs(x[v, k]) <= _MAX_FLOAT
            else:
                for v in range(N_STATE):
                    for k in range(n_nodes):
                        trace[row, v, k] += x[v, k]
                        finite &= abs(x[v, k]) <= _MAX_FLOAT
            if not finite:
                for k in range(n_nodes):
                    for v in range(N_STATE):
                        if not np.isfinite(x[v, k]):
                            return step, k, cur
            for k in range(n_nodes):
                pre(x, cvar, cp, h, k)
            cur += 1
            for q in range(N_COMP):
                for i in range(n_regions):
                    for b in range(nb):
                        H[q, i, cur, b] = h[q, i * nb + b]
        n += kb
    return n_steps, -1, cur


@njit(cache=True, error_model="numpy")
def overwrite(states, nodes, cvar, cp, H, col0):  # pragma: no cover - compiled
    """History columns col0.. of ``nodes`` from their states (n_times, n_state, n_nodes).

    Used after an exchange interval, when insets have replaced those nodes' states.
    """
    nb = H.shape[3]
    h = np.empty((H.shape[0], states.shape[2]))
    for r in range(states.shape[0]):
        x = states[r]
        for k in nodes:
            pre(x, cvar, cp, h, k)
            for q in range(H.shape[0]):
                H[q, k // nb, col0 + r, k % nb] = h[q, k]


@njit(cache=True, error_model="numpy")
def fill(states, cvar, cp, H):  # pragma: no cover - compiled
    """History buffer columns 0.. from a state history (n_times, n_state, n_nodes)."""
    nb = H.shape[3]
    h = np.empty((H.shape[0], states.shape[2]))
    for r in range(states.shape[0]):
        x = states[r]
        for k in range(states.shape[2]):
            pre(x, cvar, cp, h, k)
        for q in range(H.shape[0]):
            for i in range(H.shape[1]):
                for b in range(nb):
                    H[q, i, r, b] = h[q, i * nb + b]
