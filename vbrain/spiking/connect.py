"""Connection rules and the compressed outgoing-synapse lists (CSR by source).

Rules follow NEST's ``Connect`` conn_spec names and defaults
(``allow_autapses=True``, ``allow_multapses=True``):

- ``"all_to_all"``: every source to every target;
- ``"one_to_one"``: source i to target i (equal sizes);
- ``"fixed_indegree"``: each target draws ``indegree`` sources;
- ``"fixed_probability"`` (NEST's ``pairwise_bernoulli``): each pair with
  probability ``p``.

A rule returns local (source, target) indices and the shape in which array
weights/delays are given: (n_target, n_source) for all-to-all,
(n_target, indegree) for fixed in-degree, (n,) for one-to-one; fixed
probability takes scalars or distributions only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._check import check_option, check_range

RULES = ("all_to_all", "one_to_one", "fixed_indegree", "fixed_probability")


def make_pairs(
    rule: str,
    n_src: int,
    n_tgt: int,
    same: bool,
    rng: np.random.Generator,
    *,
    indegree: int | None = None,
    p: float | None = None,
    allow_autapses: bool = True,
    allow_multapses: bool = True,
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None, np.ndarray | None]:
    """Local source and target indices of one projection.

    Returns
    -------
    src, tgt : int64 arrays (n_syn,)
        Local indices in the source and target populations.
    shape : tuple of int or None
        Shape array-valued weights/delays must have (None: arrays not accepted).
    keep : bool array or None
        Which entries of such an array are used (autapses removed), or None for all.
    """
    check_option("rule", rule, RULES)
    no_self = same and not allow_autapses
    if rule == "all_to_all":
        src = np.tile(np.arange(n_src, dtype=np.int64), n_tgt)
        tgt = np.repeat(np.arange(n_tgt, dtype=np.int64), n_src)
        keep = None
        if no_self:
            keep = src != tgt
            src, tgt = src[keep], tgt[keep]
        return src, tgt, (n_tgt, n_src), keep
    if rule == "one_to_one":
        if n_src != n_tgt:
            raise ValueError(
                f"rule='one_to_one' needs equal population sizes, but the source has {n_src} "
                f"and the target {n_tgt} neurons."
            )
        if no_self:
            raise ValueError("rule='one_to_one' within one population with "
                             "allow_autapses=False makes no connection.")
        idx = np.arange(n_src, dtype=np.int64)
        return idx, idx.copy(), (n_src,), None
    if rule == "fixed_indegree":
        if indegree is None:
            raise TypeError("rule='fixed_indegree' needs indegree=<int>.")
        k = int(check_range("indegree", indegree, 0))
        if k != indegree:
            raise ValueError(f"indegree must be an integer, but got {indegree!r}.")
        pool = n_src - 1 if no_self else n_src
        if not allow_multapses and k > pool:
            raise ValueError(
                f"indegree={k} exceeds the {pool} distinct sources available without "
                "multapses; allow_multapses=True or a smaller indegree."
            )
        if pool <= 0 and k > 0:
            raise ValueError("fixed_indegree: no admissible source neuron.")
        tgt = np.repeat(np.arange(n_tgt, dtype=np.int64), k)
        if allow_multapses:
            src = rng.integers(0, pool, size=(n_tgt, k), dtype=np.int64)
        else:
            src = np.empty((n_tgt, k), dtype=np.int64)
            for t in range(n_tgt):
                src[t] = rng.choice(pool, size=k, replace=False)
        if no_self:  # draw from n_src - 1 and skip the target itself
            src += src >= np.arange(n_tgt)[:, None]
        return src.ravel(), tgt, (n_tgt, k), None
    # fixed_probability
    if p is None:
        raise TypeError("rule='fixed_probability' needs p=<probability>.")
    prob = check_range("p", p, 0.0, 1.0)
    srcs, tgts = [], []
    chunk = max(1, 2_000_000 // max(n_src, 1))
    for t0 in range(0, n_tgt, chunk):
        t1 = min(n_tgt, t0 + chunk)
        mask = rng.random((t1 - t0, n_src)) < prob
        if no_self:
            rows = np.arange(t0, t1)
            ok = rows < n_src
            mask[np.nonzero(ok)[0], rows[ok]] = False
        t, s = np.nonzero(mask)
        srcs.append(s.astype(np.int64))
        tgts.append((t + t0).astype(np.int64))
    src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
    tgt = np.concatenate(tgts) if tgts else np.zeros(0, np.int64)
    return src, tgt, None, None


@njit(cache=True)
def build_csr(n, src, col, w, d):
    """Outgoing synapses per source neuron, each source's list sorted by (delay, column).

    Parameters
    ----------
    n : int
        Number of neurons.
    src, col, w, d : arrays (n_syn,)
        Global source index, ring-buffer column, weight and delay (steps).

    Returns
    -------
    ptr : int64 (n + 1,), col : int32, w : float64, d : int32 (sorted copies)
    """
    ptr = np.zeros(n + 1, np.int64)
    for k in range(src.shape[0]):
        ptr[src[k] + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    order = np.empty(src.shape[0], np.int64)
    for k in range(src.shape[0]):
        order[fill[src[k]]] = k
        fill[src[k]] += 1
    out_col = np.empty(src.shape[0], np.int32)
    out_w = np.empty(src.shape[0], np.float64)
    out_d = np.empty(src.shape[0], np.int32)
    n_col = 1
    for k in range(col.shape[0]):
        n_col = max(n_col, col[k] + 1)
    for i in range(n):
        a, b = ptr[i], ptr[i + 1]
        if b == a:
            continue
        seg = order[a:b]
        key = np.empty(b - a, np.int64)
        for j in range(b - a):
            key[j] = d[seg[j]] * n_col + col[seg[j]]
        perm = np.argsort(key, kind="mergesort")  # stable: ties keep generation order
        for j in range(b - a):
            k = seg[perm[j]]
            out_col[a + j] = col[k]
            out_w[a + j] = w[k]
            out_d[a + j] = d[k]
    return ptr, out_col, out_w, out_d
