"""The neural-mass model interface.

A model is a small class that declares its state variables, its parameters
(default, unit, doc) and which state variables feed the long-range coupling,
plus one compiled right-hand side ``dfun``. The engine calls ``dfun`` once per
node (region x batch member) per integrator stage.

``dfun(x, c, p, dx, k)`` contract
---------------------------------
x : float64 array (n_state, n_nodes)
    State of all nodes; read column ``k``.
c : float64 array (n_coupling, n_nodes)
    Long-range coupling input of all nodes (already through the coupling
    function), row order of ``coupling_variables``.
p : float64 array (n_rows, n_nodes)
    Parameter values, row order of ``parameters`` (the class dict order; a
    vector parameter takes as many rows as it has values), then the rows named
    in ``derived`` (values the model computes from its parameters, ``derive``).
dx : float64 array (n_state, n_nodes)
    Output: write the time derivatives (per ms) of node ``k`` into ``dx[:, k]``.
k : int
    The node index.

Write ``dfun`` as plain scalar code for node ``k``, with helper functions it
calls marked ``@njit(inline="always")``: the engine inlines it into a loop over
nodes that LLVM can vectorise. Use :mod:`vbrain.models.vmath`'s ``exp``,
``tanh``, ``sin`` and ``cos`` rather than ``math``'s (a call into the C library
per node keeps the loop scalar). Read parameters as ``p[j, k]`` with a literal
``j``: the engine reads those the same at every node once (see
``vbrain.sim.kernel.specialise``).

``stimulus_variables`` (optional) names the variables a stimulus drives when
it names none (TVB's ``stvar``); by default the coupling variables.

Defining a new model takes a few lines::

    from numba import njit
    from vbrain.models import Model, Parameter, StateVariable

    @njit(cache=True)
    def _leaky_dfun(x, c, p, dx, k):
        tau, mu = p[0, k], p[1, k]
        dx[0, k] = (mu - x[0, k] + c[0, k]) / tau

    class Leaky(Model):
        '''dx/dt = (mu - x + c) / tau.'''
        state_variables = (StateVariable("x", "a.u.", (-1.0, 1.0)),)
        parameters = {
            "tau": Parameter(10.0, "ms", "time constant"),
            "mu": Parameter(0.0, "a.u.", "resting level"),
        }
        coupling_variables = ("x",)
        dfun = staticmethod(_leaky_dfun)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numba import njit

from .._check import suggest

#: name -> model class, filled as model classes are defined.
REGISTRY: dict[str, type[Model]] = {}


@dataclass(frozen=True)
class Parameter:
    """A model or coupling parameter.

    Parameters
    ----------
    default : float or tuple of float
        Default value (TVB's default where TVB has the model). A tuple makes a
        vector parameter: a fixed number of values (polynomial coefficients, a
        point in parameter space), the same at every region, taking that many
        rows of the parameter array.
    unit : str
        Physical unit ("ms", "mV", "Hz", "nA", "1" for dimensionless...).
    doc : str
        One-line meaning.
    range : tuple of float, optional
        Typical range, for documentation and sweeps.
    """

    default: float | tuple[float, ...]
    unit: str = "1"
    doc: str = ""
    range: tuple[float, float] | None = None

    @property
    def size(self) -> int:
        """Rows of the parameter array it takes: 1, or a vector parameter's length."""
        return len(self.default) if isinstance(self.default, tuple) else 1


@dataclass(frozen=True)
class StateVariable:
    """A state variable of a model.

    Parameters
    ----------
    name : str
        Name as in the literature / TVB.
    unit : str
        Unit of the variable.
    initial_range : tuple of float
        Range the default random initial history is drawn from (TVB's
        ``state_variable_range``).
    bounds : tuple of (float or None)
        Hard bounds the integrator clamps to after every stage (TVB's
        ``state_variable_boundaries``); None for unbounded.
    doc : str
        One-line meaning.
    """

    name: str
    unit: str
    initial_range: tuple[float, float]
    bounds: tuple[float | None, float | None] = (None, None)
    doc: str = ""


class Parameterised:
    """Named parameters with defaults, each a scalar or one value per region.

    Shared by models and coupling functions: ``Cls(**params)``, ``get_params``,
    ``set_params``, attribute access (``model.tau``) and the (n_params,
    n_regions) array the engine reads.
    """

    parameters: ClassVar[dict[str, Parameter]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = [k for k in params if k not in self.parameters]
        if unknown:
            name = unknown[0]
            raise TypeError(
                f"{type(self).__name__} has no parameter {name!r}."
                f"{suggest(name, self.parameters)} Valid parameters: "
                f"{sorted(self.parameters)}."
            )
        self._values = {k: np.array(p.default) if p.size > 1 else p.default
                        for k, p in self.parameters.items()}
        self.set_params(**params)

    def get_params(self) -> dict[str, Any]:
        """Current parameter values (scalars or per-region arrays)."""
        return dict(self._values)

    def set_params(self, **params: Any) -> Parameterised:
        """Set parameters; values are scalars or arrays of shape (n_regions,)."""
        for name, value in params.items():
            if name not in self.parameters:
                raise TypeError(
                    f"{type(self).__name__} has no parameter {name!r}."
                    f"{suggest(name, self.parameters)}"
                )
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{type(self).__name__}.{name} must be a number or a per-region "
                                f"array of numbers, got {value!r}.") from None
            size = self.parameters[name].size
            if size > 1 and arr.shape != (size,):
                raise ValueError(
                    f"{type(self).__name__}.{name} is a vector of {size} numbers (the same "
                    f"at every region), but got shape {arr.shape}."
                )
            if arr.ndim > 1:
                raise ValueError(
                    f"{type(self).__name__}.{name} must be a scalar or a per-region "
                    f"1-D array, but got shape {arr.shape}. Batch values go to "
                    "Simulation.sweep()."
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{type(self).__name__}.{name} must be finite, got {value!r}.")
            self._values[name] = float(arr) if arr.ndim == 0 else arr.copy()
        return self

    @classmethod
    def parameter_rows(cls) -> dict[str, int]:
        """First row of each parameter in the parameter array (a vector takes ``size`` rows)."""
        rows, r = {}, 0
        for name, p in cls.parameters.items():
            rows[name] = r
            r += p.size
        return rows

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        def fmt(v: Any) -> str:
            return f"{v:g}" if np.ndim(v) == 0 else f"array(shape={np.shape(v)})"

        body = ", ".join(f"{k}={fmt(v)}" for k, v in self._values.items())
        return f"{type(self).__name__}({body})"

    def parameter_array(self, n_regions: int) -> np.ndarray:
        """Parameters broadcast to shape (n_rows, n_regions): one row per parameter, in
        declaration order, ``size`` rows for a vector parameter."""
        rows = self.parameter_rows()
        n_rows = sum(p.size for p in self.parameters.values())
        out = np.empty((n_rows, n_regions))
        for name, p in self.parameters.items():
            v = np.asarray(self._values[name], dtype=np.float64)
            if p.size > 1:
                out[rows[name]:rows[name] + p.size] = v[:, None]
                continue
            if v.ndim == 1 and v.shape[0] != n_regions:
                raise ValueError(
                    f"{type(self).__name__}.{name} has {v.shape[0]} per-region values, "
                    f"but the connectome has {n_regions} regions."
                )
            out[rows[name]] = v
        return out


class Model(Parameterised):
    """Base class of neural-mass models; see the module docstring."""

    state_variables: ClassVar[tuple[StateVariable, ...]] = ()
    coupling_variables: ClassVar[tuple[str, ...]] = ()
    #: state variables a stimulus drives when it names none (TVB's ``stvar``);
    #: None = the coupling variables, as in TVB
    stimulus_variables: ClassVar[tuple[str, ...] | None] = None
    #: state variables shown by default (TVB's variables_of_interest)
    variables_of_interest: ClassVar[tuple[str, ...] | None] = None
    #: neural variable that drives the BOLD monitor by default
    bold_variable: ClassVar[str | None] = None
    #: the electrophysiological (EEG/MEG/SEEG) signal as a linear combination of state
    #: variables, {name: coefficient}; None = the first variable of interest
    eeg_signal: ClassVar[dict[str, float] | None] = None
    #: quantities the model computes from its parameters once per run (TVB's
    #: ``update_derived_parameters``), read by ``dfun`` from the rows after the
    #: parameters', in this order; ``derive`` computes them
    derived: ClassVar[tuple[str, ...]] = ()
    dfun: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [sv.name for sv in cls.state_variables]
        if not names:
            raise TypeError(f"{cls.__name__} declares no state_variables.")
        if len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__} has duplicate state variable names {names}.")
        for cv in cls.coupling_variables:
            if cv not in names:
                raise TypeError(
                    f"{cls.__name__}.coupling_variables names {cv!r}, which is not a "
                    f"state variable ({names})."
                )
        if not cls.coupling_variables:
            raise TypeError(f"{cls.__name__} declares no coupling_variables.")
        for sv in cls.stimulus_variables or ():
            if sv not in names:
                raise TypeError(f"{cls.__name__}.stimulus_variables names {sv!r}, which is not "
                                f"a state variable ({names}).")
        if cls.derived and cls.derive.__func__ is Model.derive.__func__:
            raise TypeError(f"{cls.__name__} declares derived rows {cls.derived} but does not "
                            "define derive().")
        if cls.dfun is None or not hasattr(cls.dfun, "py_func"):
            raise TypeError(
                f"{cls.__name__}.dfun must be a numba.njit function "
                "dfun(x, c, p, dx, k) wrapped in staticmethod()."
            )
        REGISTRY[cls.__name__] = cls

    # -- introspection -------------------------------------------------
    @classmethod
    def state_names(cls) -> tuple[str, ...]:
        """Names of the state variables, in state order."""
        return tuple(sv.name for sv in cls.state_variables)

    @classmethod
    def cvar_indices(cls) -> np.ndarray:
        """State indices of the coupling variables (TVB's ``cvar``)."""
        names = cls.state_names()
        return np.array([names.index(c) for c in cls.coupling_variables], dtype=np.int64)

    # -- arrays for the engine ----------------------------------------
    @classmethod
    def derive(cls, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The ``derived`` rows from the parameter rows.

        Parameters
        ----------
        rows : dict
            Each parameter's values, one per node: arrays of one shape S (regions,
            or regions x batch members), (size, *S) for a vector parameter.

        Returns
        -------
        dict
            Each name of ``derived``: an array of shape S (numpy, elementwise).
        """
        return {}

    @classmethod
    def fill_derived(cls, p: np.ndarray) -> np.ndarray:
        """Recompute the derived rows of a parameter array (n_rows, ...) in place; return it."""
        if cls.derived:
            start = cls.parameter_rows()
            rows = {name: p[start[name]] if q.size == 1 else p[start[name]:start[name] + q.size]
                    for name, q in cls.parameters.items()}
            values = cls.derive(rows)
            first = sum(q.size for q in cls.parameters.values())
            for i, name in enumerate(cls.derived):
                p[first + i] = values[name]
        return p

    def parameter_array(self, n_regions: int) -> np.ndarray:
        """Parameter rows (see ``Parameterised.parameter_array``), then the derived rows."""
        p = super().parameter_array(n_regions)
        if not self.derived:
            return p
        p = np.concatenate([p, np.empty((len(self.derived), n_regions))])
        return self.fill_derived(p)

    @classmethod
    def bounds_arrays(cls) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper state bounds, -inf/+inf where unbounded."""
        lo = np.array([-np.inf if sv.bounds[0] is None else sv.bounds[0]
                       for sv in cls.state_variables])
        hi = np.array([np.inf if sv.bounds[1] is None else sv.bounds[1]
                       for sv in cls.state_variables])
        return lo, hi

    def evaluate(self, state: np.ndarray, coupling: np.ndarray | None = None) -> np.ndarray:
        """Evaluate the right-hand side for every region (for tests and analysis).

        Parameters
        ----------
        state : array, shape (n_state, n_regions)
        coupling : array, shape (n_coupling, n_regions), default zeros

        Returns
        -------
        dx : array, shape (n_state, n_regions)
            Time derivatives, per ms.
        """
        state = np.ascontiguousarray(state, dtype=np.float64)
        if state.ndim != 2 or state.shape[0] != len(self.state_variables):
            raise ValueError(
                f"state must have shape ({len(self.state_variables)}, n_regions), "
                f"got {state.shape}."
            )
        n = state.shape[1]
        if coupling is None:
            coupling = np.zeros((len(self.coupling_variables), n))
        coupling = np.ascontiguousarray(coupling, dtype=np.float64)
        dx = np.zeros_like(state)
        _evaluate(type(self).dfun, state, coupling, self.parameter_array(n), dx)
        return dx


@njit
def _evaluate(dfun, x, c, p, dx):  # pragma: no cover - compiled
    for k in range(x.shape[1]):
        dfun(x, c, p, dx, k)
