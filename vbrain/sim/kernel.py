"""Build and cache the compiled time loop for a model, coupling and scheme.

``loop.py`` holds the loop's source. ``make_kernel`` writes a copy of it into
the kernel cache directory under a name hashed from everything that shapes the
compiled code (the loop source, the per-node functions' code and modules, the
inlined helpers' sources, the scheme, the numba version), binds the model's
``dfun`` and the coupling's ``pre``/``post`` (re-jitted with ``inline="always"``:
a real call per node would pass and reference-count every array argument), the
noise's ``fill_normals`` and the structural constants (state
and history sizes, batch, noise, bounds: compile-time, so loops over them
unroll) and imports it. numba then caches the
machine code beside that file, so a second process starts without compiling.

Parameters the same at every node (most of them, in most runs) are numbers,
not memory: the kernel takes each parameter array as the pair ``(p, p[:, 0] as
a tuple)`` (``parameter_pair``) and ``specialise`` rewrites the model's and the
coupling's ``p[j, k]`` into ``p[1][j]`` for those rows before compiling (other
uses of ``p`` into ``p[0]``). LLVM then hoists them, and what only they feed
(Wilson-Cowan's sigmoid offsets, Jansen-Rit's ``A * a``), out of the node loop,
and needs no run-time overlap check for them (a batch's per-node parameter rows
would otherwise stream from L2 every stage). The values are the same, so are
the results.

Vectorising the node loops: the loop reads and writes rows of several arrays
(states, derivatives, parameters, couplings) whose row strides are only known
at run time, so LLVM vectorises a node loop behind run-time checks that no
written row overlaps another row it touches, one check per pair. A model with
six state variables and a dozen parameters needs a few hundred; past LLVM's
default limit of 128 it keeps the loop scalar (Jansen-Rit ran 3x slower). The
limit is raised for the process (``_LLVM_OPTIONS``, set when this module is
imported). The checks run once per loop, not per node.

The cache lives in ``$VBRAIN_CACHE_DIR`` or ``~/.cache/vbrain/kernels``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import sys
import textwrap
import threading
import types
from pathlib import Path

import llvmlite.binding as llvm
import numba
from numba import njit

from .normals import fill_normals

EULER, HEUN, RK4 = 0, 1, 2
SCHEMES = {"euler": EULER, "heun": HEUN, "rk4": RK4}

#: LLVM options for every kernel compiled in this process (see the module docstring)
_LLVM_OPTIONS = ("-vectorize-memory-check-threshold=1024",)
for _option in _LLVM_OPTIONS:
    llvm.set_option("vbrain", _option)

_LOOP_SOURCE = Path(__file__).with_name("loop.py")
#: compiled helpers the loop inlines: their sources are part of a kernel's cache key
_INLINED_SOURCES = (Path(__file__).with_name("normals.py"),
                    Path(__file__).parent.parent / "models" / "vmath.py")
_loaded: dict = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    """Directory of generated kernels and their numba cache."""
    root = os.environ.get("VBRAIN_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "vbrain" / "kernels"


def _fingerprint(func) -> bytes:
    """Bytes that change whenever the compiled behaviour of ``func`` can change: its
    code, and the source of its module (the helpers it calls live there)."""
    code = func.py_func.__code__
    try:
        module_source = inspect.getsource(sys.modules[func.py_func.__module__])
    except (KeyError, OSError, TypeError):  # defined interactively: its code alone
        module_source = ""
    return repr((func.py_func.__module__, func.py_func.__qualname__, code.co_code,
                 code.co_consts, code.co_names, module_source)).encode()


def make_kernel(dfun, pre, post, scheme: int, *, n_state: int, n_comp: int, batched: bool,
                noisy: bool, driven: bool, bounded: bool, record_c: bool = False,
                colored: bool = False, multiplicative: bool = False,
                uniform: tuple = ((), ())):
    """Return (loop, history filler) compiled for this model, coupling and scheme.

    Parameters
    ----------
    dfun, pre, post : numba dispatchers
        The model's right-hand side and the coupling's per-node functions.
    scheme : int
        EULER, HEUN or RK4.
    n_state, n_comp : int
        Number of state variables and of history components per node.
    batched, noisy, driven, bounded : bool
        More than one batch member; noise (per-seed draws scaled in the loop);
        per-node stimulus increments; any state bound to clamp.
    record_c : bool
        Keep every step's coupling in ``c_trace`` (insets read their input there).
    colored : bool
        The noise is exponentially correlated (an eta state per node, see loop.py).
    multiplicative : bool
        The noise is scaled by a linear function of the state (see loop.py).
    uniform : (tuple of int, tuple of int)
        Rows of the model's and of the coupling's parameter arrays that hold
        one value for every node (read once, see ``specialise``).

    Returns
    -------
    kernel, fill, overwrite
        The loop, the history filler and the history rewriter (see loop.py).
    """
    with _lock:  # threads of one sweep may ask for the same kernel at once
        return _make_kernel(dfun, pre, post, scheme, n_state, n_comp, batched, noisy, driven,
                            bounded, record_c, colored, multiplicative,
                            tuple(tuple(int(j) for j in u) for u in uniform))


def _make_kernel(dfun, pre, post, scheme, n_state, n_comp, batched, noisy, driven, bounded,
                 record_c, colored, multiplicative, uniform):
    constants = dict(SCHEME=scheme, N_STATE=int(n_state), N_COMP=int(n_comp),
                     BATCHED=bool(batched), NOISY=bool(noisy), COLORED=bool(noisy and colored),
                     MULTIPLICATIVE=bool(noisy and multiplicative),
                     DRIVEN=bool(driven),
                     STOCHASTIC=bool(noisy or driven), BOUNDED=bool(bounded),
                     RECORD_C=bool(record_c),
                     # with more state variables a stage's update reading the derivatives
                     # back keeps LLVM from vectorising its dfun's loop (loop.py): Jansen-Rit
                     # ran 3x slower fused; with one or two, fusing saves a pass (G2D ~5 %)
                     FUSED=int(n_state) <= 2)
    key = (dfun, pre, post, tuple(constants.items()), uniform)
    if key in _loaded:
        return _loaded[key]
    source = _LOOP_SOURCE.read_text()
    h = hashlib.sha256(source.encode())
    for part in (*(path.read_bytes() for path in _INLINED_SOURCES),
                 _fingerprint(dfun), _fingerprint(pre), _fingerprint(post),
                 repr(sorted(constants.items())).encode(), repr(uniform).encode(),
                 numba.__version__.encode(), repr(_LLVM_OPTIONS).encode()):
        h.update(part)
    name = f"vbrain_kernel_{h.hexdigest()[:20]}"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)  # atomic: concurrent processes never see half a file

    spec = importlib.util.spec_from_file_location(name, path)
    module: types.ModuleType = importlib.util.module_from_spec(spec)
    module.__dict__.update(
        fill_normals=fill_normals,
        dfun=njit(inline="always")(specialise(dfun.py_func, 2, 4, uniform[0])),
        pre=njit(inline="always")(specialise(pre.py_func, 2, 4, uniform[1])),
        post=njit(inline="always")(specialise(post.py_func, 4, 6, uniform[1])),
        **constants,
    )
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _loaded[key] = module.kernel, module.fill, module.overwrite
    return _loaded[key]


def specialise(func, p_arg: int, k_arg: int, rows: tuple):
    """``func`` taking its parameters as the pair ``(p, values)`` instead of the array ``p``.

    ``values`` holds ``p[:, 0]`` as a tuple: for the rows ``j`` in ``rows`` (the same at
    every node) ``p[j, k]`` is read as ``values[j]``, a number rather than memory, so
    LLVM hoists it and whatever it feeds out of the node loop and needs no run-time
    overlap check for it; every other use of ``p`` becomes ``p[0]``, the array.
    ``p`` and ``k`` are the names of positional arguments ``p_arg`` and ``k_arg``.
    When the source cannot be rewritten (unreadable, a closure, ``p`` or ``k``
    rebound) the function is wrapped instead: it gets the array, unchanged.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return _array_wrapper(func, p_arg)
    fdef = tree.body[0]
    names = [a.arg for a in fdef.args.args] if isinstance(fdef, ast.FunctionDef) else []
    if not names or func.__code__.co_freevars or len(names) <= max(p_arg, k_arg):
        return _array_wrapper(func, p_arg)
    p, k = names[p_arg], names[k_arg]
    if any(isinstance(n, ast.Name) and n.id in (p, k) and isinstance(n.ctx, ast.Store)
           for n in ast.walk(fdef)):  # p or k rebound: p[j, k] might mean something else
        return _array_wrapper(func, p_arg)
    wanted = set(rows)

    def part(i: int) -> ast.Subscript:  # p[i]
        return ast.Subscript(ast.Name(p, ast.Load()), ast.Constant(i), ast.Load())

    class Rewrite(ast.NodeTransformer):
        def visit_Subscript(self, node):  # noqa: N802 - ast API
            index = node.slice
            if (isinstance(node.value, ast.Name) and node.value.id == p
                    and isinstance(index, ast.Tuple) and len(index.elts) == 2
                    and isinstance(index.elts[0], ast.Constant)
                    and index.elts[0].value in wanted
                    and isinstance(index.elts[1], ast.Name) and index.elts[1].id == k):
                return ast.copy_location(
                    ast.Subscript(part(1), ast.Constant(index.elts[0].value), ast.Load()), node)
            self.generic_visit(node)
            return node

        def visit_Name(self, node):  # noqa: N802 - ast API
            return ast.copy_location(part(0), node) if node.id == p else node

    fdef.decorator_list = []
    tree = ast.fix_missing_locations(Rewrite().visit(tree))
    module = compile(tree, inspect.getsourcefile(func) or "<vbrain specialise>", "exec")
    code = next(c for c in module.co_consts
                if isinstance(c, types.CodeType) and c.co_name == fdef.name)
    return types.FunctionType(code, func.__globals__, fdef.name, func.__defaults__)


def _array_wrapper(func, p_arg: int):
    """A function taking ``(p, values)`` at ``p_arg`` that calls ``func`` with ``p``."""
    args = [f"a{i}" for i in range(func.__code__.co_argcount - len(func.__defaults__ or ()))]
    passed = [ast.Subscript(ast.Name(a, ast.Load()), ast.Constant(0), ast.Load()) if i == p_arg
              else ast.Name(a, ast.Load()) for i, a in enumerate(args)]
    body = ast.Return(ast.Call(ast.Name("inner", ast.Load()), passed, []))
    fdef = ast.FunctionDef("wrapper", ast.arguments([], [ast.arg(a) for a in args], None, [],
                                                    [], None, []), [body], [], None)
    tree = ast.fix_missing_locations(ast.Module([fdef], []))
    code = next(c for c in compile(tree, "<vbrain specialise>", "exec").co_consts
                if isinstance(c, types.CodeType))
    return types.FunctionType(code, {"inner": njit(inline="always")(func)}, "wrapper")


def parameter_pair(p):
    """What the kernel takes for a (n_params, n_nodes) parameter array: (p, p[:, 0] as a tuple)."""
    return p, tuple(float(v) for v in p[:, 0])
