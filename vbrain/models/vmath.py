"""Elementary functions that vectorise in the engine's node loops.

``math.exp`` compiles to a call into the C library, one node at a time, so a
model loop over nodes that needs it (ReducedWongWang's transfer function,
sigmoids) runs at the speed of those calls. :func:`exp` here is plain
arithmetic (range reduction, a polynomial, an exponent built from bits),
emitted straight into the caller's code as LLVM instructions, which LLVM
turns into SIMD code across nodes. An intrinsic rather than a jitted
function: that keeps it inlined however deeply the model's functions nest.
No fused multiply-adds, so vector and scalar code give the same bits and a
batch member still equals its single run exactly.

Accuracy: within 1 unit in the last place of numpy's ``exp`` for every float64
(tested over the whole range, subnormal results included); exp(-inf) = 0,
exp(inf) = inf, exp(nan) = nan.

:func:`log` (the exponent split off from the bits, subnormals scaled by 2**54
first, then an atanh series in s = (m - 1) / (m + 1)): within 1 unit in the
last place of numpy's ``log`` (0.83 ulp of the exact value, measured over
2**-1074 ... 1.8e308); log(0) = -inf, log(x < 0) = nan, log(inf) = inf,
log(nan) = nan. With :func:`exp` it gives the BOLD monitor's powers v ** (1 / alpha).

:func:`tanh` (from an ``expm1`` built the same way; within 3 ulp of numpy's)
and :func:`sin` / :func:`cos` (Cody-Waite reduction by pi/2 in four parts,
then Taylor polynomials; within 2.3e-16 absolute of numpy's for |x| <= 1.6e6,
and within one unit in the last place of x beyond, which is as precise as x
itself is) serve Larter-Breakspear, the hyperbolic-tangent coupling and the
Kuramoto coupling, whose phases grow without bound.

:func:`box_muller` (two standard normals from two uniforms, for the noise; see
``vbrain/sim/normals.py``) is built the same way from a logarithm and a sine and
cosine of 2 pi u, each for the arguments it needs (agreeing with numpy's to ~1e-15; its
logarithm, for normal u only, is a cheaper one within 3 ulp, kept apart from :func:`log` so
the noise keeps its bits).
"""

from __future__ import annotations

import math

import llvmlite.ir as llir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
# ln 2 in two parts: _LN2_HI ends in 21 zero bits, so n * _LN2_HI is exact for |n| < 2**21
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10
_MAX_ARG = 709.782712893384  # above: inf
_MIN_ARG = -745.1332191019412  # below: 0
_TWO52 = 4503599627370496.0
_SQRT2 = 1.4142135623730951
_TINY = 2.2250738585072014e-308  # smallest normal double
_LN2 = 0.6931471805599453
_TWO_PI = 6.283185307179586
_TWO_OVER_PI = 0.6366197723675814
# pi / 2 in three parts of 33 significant bits and a tail (fdlibm's): n * part is exact for
# |n| < 2**20, and the sum matches pi / 2 to ~1e-40
_PIO2 = (1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21,
         8.47842766036889956997e-32)
# Taylor coefficients 1/13!, ..., 1/2!, 1, 1: on |r| <= ln(2) / 2 the truncation
# error is below 5e-18 relative
_TAYLOR = (1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
           1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
           1.0 / 6.0, 0.5, 1.0, 1.0)
_DOUBLE, _I64 = llir.DoubleType(), llir.IntType(64)


def _const(value: float) -> llir.Constant:
    return llir.Constant(_DOUBLE, value)


def _llvm_math(builder: llir.IRBuilder, name: str) -> llir.Function:
    """LLVM's own ``llvm.<name>.f64`` (floor, sqrt): single instructions, vectorisable."""
    return cgutils.get_or_insert_function(builder.module, llir.FunctionType(_DOUBLE, [_DOUBLE]),
                                          f"llvm.{name}.f64")


def _horner(builder: llir.IRBuilder, x: llir.Value, coefs) -> llir.Value:
    """coefs[0] x**(n-1) + ... + coefs[-1] by Horner's rule (no fused multiply-adds)."""
    p = _const(coefs[0])
    for coef in coefs[1:]:
        p = builder.fadd(builder.fmul(p, x), _const(coef))
    return p


def _ln2_reduce(builder: llir.IRBuilder, y: llir.Value) -> tuple[llir.Value, llir.Value]:
    """(n, r) with y = n ln 2 + r, n integer-valued, |r| <= ln(2) / 2."""
    floor = _llvm_math(builder, "floor")
    n = builder.call(floor, [builder.fadd(builder.fmul(y, _const(_LOG2E)), _const(0.5))])
    r = builder.fsub(builder.fsub(y, builder.fmul(n, _const(_LN2_HI))),
                     builder.fmul(n, _const(_LN2_LO)))
    return n, r


def _pow2(builder: llir.IRBuilder, m: llir.Value) -> llir.Value:
    """2 ** m for an integer-valued m in [-1022, 1023]: m + 1023 sits in the low mantissa
    bits of 2**52 + m + 1023; shifted by 52 it becomes the exponent field."""
    bits = builder.bitcast(builder.fadd(m, _const(1023.0 + _TWO52)), _I64)
    return builder.bitcast(builder.shl(bits, llir.Constant(_I64, 52)), _DOUBLE)


def _exp_ir(builder: llir.IRBuilder, x: llir.Value) -> llir.Value:
    """LLVM instructions computing e ** x for a double ``x``."""
    floor = _llvm_math(builder, "floor")
    y = builder.select(builder.fcmp_ordered("<", x, _const(_MIN_ARG)), _const(_MIN_ARG), x)
    y = builder.select(builder.fcmp_ordered(">", y, _const(_MAX_ARG)), _const(_MAX_ARG), y)
    n, r = _ln2_reduce(builder, y)
    p = _horner(builder, r, _TAYLOR)
    # scale by 2 ** n in two exact halves, so subnormal results (n < -1022) come out right
    half = builder.call(floor, [builder.fmul(n, _const(0.5))])
    result = builder.fmul(builder.fmul(p, _pow2(builder, half)),
                          _pow2(builder, builder.fsub(n, half)))
    result = builder.select(builder.fcmp_ordered(">", x, _const(_MAX_ARG)), _const(float("inf")),
                            result)
    result = builder.select(builder.fcmp_ordered("<", x, _const(_MIN_ARG)), _const(0.0), result)
    return builder.select(builder.fcmp_unordered("uno", x, x), x, result)


def _expm1_ir(builder: llir.IRBuilder, x: llir.Value) -> llir.Value:
    """LLVM instructions computing e ** x - 1 for a double ``x`` <= 0, accurate near 0.

    As ``_exp_ir`` (x = n ln 2 + r), with the polynomial's constant term left out:
    e ** x - 1 = q(r) when n = 0, else 2 ** n (1 + q(r)) - 1 (no cancellation there).
    """
    y = builder.select(builder.fcmp_ordered("<", x, _const(-60.0)), _const(-60.0), x)  # -> -1
    n, r = _ln2_reduce(builder, y)
    q = builder.fmul(_horner(builder, r, _TAYLOR[:-1]), r)  # e ** r - 1
    far = builder.fsub(builder.fmul(_pow2(builder, n), builder.fadd(q, _const(1.0))),
                       _const(1.0))
    return builder.select(builder.fcmp_ordered("==", n, _const(0.0)), q, far)


def _tanh_ir(builder: llir.IRBuilder, x: llir.Value) -> llir.Value:
    """LLVM instructions computing tanh(x): -m / (m + 2) with m = expm1(-2|x|), sign of x."""
    fabs = _llvm_math(builder, "fabs")
    m = _expm1_ir(builder, builder.fmul(_const(-2.0), builder.call(fabs, [x])))
    magnitude = builder.fdiv(builder.fneg(m), builder.fadd(m, _const(2.0)))
    copysign = cgutils.get_or_insert_function(
        builder.module, llir.FunctionType(_DOUBLE, [_DOUBLE, _DOUBLE]), "llvm.copysign.f64")
    return builder.call(copysign, [magnitude, x])  # nan stays nan (m is nan)


def _log_reduce(builder: llir.IRBuilder, x: llir.Value) -> tuple[llir.Value, llir.Value]:
    """(e, m) with x = 2**e * m, e integer-valued, m in [sqrt(1/2), sqrt(2)), for a positive
    normal finite double ``x`` (from its bits)."""
    bits = builder.bitcast(x, _I64)
    exponent = builder.sub(builder.lshr(bits, llir.Constant(_I64, 52)), llir.Constant(_I64, 1023))
    mantissa = builder.bitcast(builder.or_(builder.and_(bits, llir.Constant(_I64, (1 << 52) - 1)),
                                           llir.Constant(_I64, 1023 << 52)), _DOUBLE)  # [1, 2)
    big = builder.fcmp_ordered(">=", mantissa, _const(_SQRT2))
    mantissa = builder.select(big, builder.fmul(mantissa, _const(0.5)), mantissa)
    return builder.sitofp(builder.add(exponent, builder.zext(big, _I64)), _DOUBLE), mantissa


def _log_ir(builder: llir.IRBuilder, x: llir.Value) -> llir.Value:
    """LLVM instructions computing ln(x) for a positive, normal, finite double ``x``.

    x = 2**e * m; ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series
    to s**23 (truncation below 1e-18). Within 3 ulp. Box-Muller's: the noise's bits hang on it.
    """
    e, mantissa = _log_reduce(builder, x)
    s = builder.fdiv(builder.fsub(mantissa, _const(1.0)), builder.fadd(mantissa, _const(1.0)))
    series = _horner(builder, builder.fmul(s, s), [1.0 / k for k in range(23, 0, -2)])
    log_m = builder.fmul(builder.fmul(_const(2.0), s), series)
    return builder.fadd(builder.fmul(e, _const(_LN2)), log_m)


def _log_any_ir(builder: llir.IRBuilder, x: llir.Value) -> llir.Value:
    """LLVM instructions computing ln(x) for any double ``x``, to within 1 ulp.

    Subnormal x are scaled by 2**54 first (exactly). With x = 2**e (1 + f), f = m - 1 exact,
    s = f / (2 + f): ln(1 + f) = 2 atanh(s) = f - f**2/2 + s (f**2/2 + R(s**2)), so the
    rounding errors sit in the small correction terms, not in the leading f; e ln 2 is added
    in two parts (e * _LN2_HI is exact).
    """
    tiny = builder.fcmp_ordered("<", x, _const(_TINY))
    e, mantissa = _log_reduce(builder, builder.select(tiny, builder.fmul(x, _const(2.0 ** 54)), x))
    e = builder.select(tiny, builder.fsub(e, _const(54.0)), e)
    f = builder.fsub(mantissa, _const(1.0))
    s = builder.fdiv(f, builder.fadd(f, _const(2.0)))
    z = builder.fmul(s, s)
    # R = 2 (z/3 + z**2/5 + ... + z**11/23); the next term is below 1e-19 of the result
    r = builder.fmul(z, _horner(builder, z, [2.0 / k for k in range(23, 1, -2)]))
    hfsq = builder.fmul(_const(0.5), builder.fmul(f, f))
    small = builder.fadd(builder.fmul(s, builder.fadd(hfsq, r)), builder.fmul(e, _const(_LN2_LO)))
    result = builder.fadd(builder.fmul(e, _const(_LN2_HI)),
                          builder.fsub(f, builder.fsub(hfsq, small)))
    result = builder.select(builder.fcmp_ordered("==", x, _const(float("inf"))),
                            _const(float("inf")), result)
    result = builder.select(builder.fcmp_ordered("==", x, _const(0.0)), _const(float("-inf")),
                            result)
    result = builder.select(builder.fcmp_ordered("<", x, _const(0.0)), _const(float("nan")), result)
    return builder.select(builder.fcmp_unordered("uno", x, x), x, result)


def _sincos_reduced(builder: llir.IRBuilder, r: llir.Value,
                    k: llir.Value) -> tuple[llir.Value, llir.Value]:
    """(sin, cos) of r + k pi / 2 for r in [-pi/4, pi/4] and an integer-valued k.

    Taylor series to r**17 / r**18 (truncation below 1e-19), then the quadrant.
    """
    floor = _llvm_math(builder, "floor")
    r2 = builder.fmul(r, r)
    sin_r = builder.fmul(_horner(builder, r2, [(-1.0) ** j / math.factorial(2 * j + 1)
                                               for j in range(8, -1, -1)]), r)
    cos_r = _horner(builder, r2, [(-1.0) ** j / math.factorial(2 * j) for j in range(9, -1, -1)])
    quarter = builder.fsub(k, builder.fmul(_const(4.0), builder.call(
        floor, [builder.fmul(k, _const(0.25))])))  # k mod 4
    neg_sin, neg_cos = builder.fneg(sin_r), builder.fneg(cos_r)

    def pick(values: tuple) -> llir.Value:  # by quarter 0, 1, 2, 3
        out = values[3]
        for q in (2, 1, 0):
            out = builder.select(builder.fcmp_ordered("==", quarter, _const(float(q))), values[q],
                                 out)
        return out

    return (pick((sin_r, cos_r, neg_sin, neg_cos)), pick((cos_r, neg_sin, neg_cos, sin_r)))


def _sincos_turn_ir(builder: llir.IRBuilder, u: llir.Value) -> tuple[llir.Value, llir.Value]:
    """LLVM instructions computing (sin, cos) of 2 pi u for a double ``u`` in [0, 1].

    The nearest quarter turn k / 4 is split off (u - k / 4 is exact).
    """
    floor = _llvm_math(builder, "floor")
    k = builder.call(floor, [builder.fadd(builder.fmul(u, _const(4.0)), _const(0.5))])  # 0..4
    r = builder.fmul(builder.fsub(u, builder.fmul(k, _const(0.25))), _const(_TWO_PI))
    return _sincos_reduced(builder, r, k)


def _sincos_ir(builder: llir.IRBuilder, x: llir.Value) -> tuple[llir.Value, llir.Value]:
    """LLVM instructions computing (sin, cos) of any double ``x``: x = k pi / 2 + r (Cody-Waite)."""
    floor = _llvm_math(builder, "floor")
    k = builder.call(floor, [builder.fadd(builder.fmul(x, _const(_TWO_OVER_PI)), _const(0.5))])
    r = x
    for part in _PIO2:
        r = builder.fsub(r, builder.fmul(k, _const(part)))
    return _sincos_reduced(builder, r, k)


def _unary(ir, doc: str):
    """A float64 function of one float or integer, inside jitted code, from its LLVM builder."""
    def template(typingctx, x):  # pragma: no cover - compiled
        if not isinstance(x, (types.Float, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            return ir(builder, context.cast(builder, args[0], signature.args[0], types.float64))

        return types.float64(x), codegen

    template.__doc__ = doc
    return intrinsic(template)


exp = _unary(_exp_ir, "e ** x; see the module docstring for its accuracy.")
log = _unary(_log_any_ir, "ln(x); see the module docstring for its accuracy.")
tanh = _unary(_tanh_ir, "tanh(x); see the module docstring for its accuracy.")
sin = _unary(lambda builder, x: _sincos_ir(builder, x)[0],
             "sin(x); see the module docstring for its accuracy.")
cos = _unary(lambda builder, x: _sincos_ir(builder, x)[1],
             "cos(x); see the module docstring for its accuracy.")


@intrinsic
def box_muller(typingctx, u1, u2):  # pragma: no cover - compiled
    """Two independent standard normals from uniforms u1 in (0, 1] and u2 in [0, 1).

    sqrt(-2 ln u1) times (cos, sin) of 2 pi u2, in SIMD-friendly arithmetic.
    """
    if not (isinstance(u1, types.Float) and isinstance(u2, types.Float)):
        return None
    sig = types.UniTuple(types.float64, 2)(u1, u2)

    def codegen(context, builder, signature, args):
        a = context.cast(builder, args[0], signature.args[0], types.float64)
        b = context.cast(builder, args[1], signature.args[1], types.float64)
        radius = builder.call(_llvm_math(builder, "sqrt"),
                              [builder.fmul(_const(-2.0), _log_ir(builder, a))])
        sin, cos = _sincos_turn_ir(builder, b)
        return context.make_tuple(builder, signature.return_type,
                                  [builder.fmul(radius, cos), builder.fmul(radius, sin)])

    return sig, codegen
