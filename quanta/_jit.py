"""Numba kernels compiled on first call and cached on disk.

``@kernel`` marks a plain, typed Python function as a numba ``njit`` kernel. Nothing is imported
or compiled when the module defining it is imported (``import numba`` alone takes ~0.5 s): the
first call imports numba, compiles the kernel for the argument types it sees, or loads that
machine code from numba's on-disk cache, and every later call goes straight to the compiled code.
``python -m quanta.warmup`` calls every kernel once so that the cache is filled at install time.

Kernels are compiled with ``cache=True`` and without ``fastmath``: IEEE arithmetic in the order
written, so a kernel gives the same bits as the loop it replaces. The cache lives in the
``__pycache__`` folder beside each source file when that folder is writable (an editable install)
and otherwise in the user's cache (``~/.cache/numba``); ``NUMBA_CACHE_DIR`` moves it elsewhere.
An entry is reused only while the source file's contents hash the same, so a kernel may call
other kernels of its own module but never of another one (numba would not see that module change).

A kernel called once per bar by another should be ``@kernel(inline=True)``: numba then pastes it
into its callers. When a kernel is compiled, the kernels it calls replace their ``Kernel``
wrappers in the module's namespace by their numba dispatchers, which is what numba needs to see
to compile the calls.

Division follows numpy (IEEE: ``x / 0.0`` is ``±inf`` or NaN), as the array code kernels replace
did; ``@kernel(python_errors=True)`` makes it raise ``ZeroDivisionError`` as Python does.
``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (slow; for debugging).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

F = TypeVar("F", bound=Callable[..., Any])

_LOCK = threading.RLock()
KERNELS: list[Kernel] = []
"""Every kernel defined so far, in definition order (the warm-up checks that each compiled)."""


class Kernel:
    """A function that becomes a numba dispatcher the first time it is called."""

    def __init__(self, func: Callable[..., Any], *, inline: bool, python_errors: bool) -> None:
        self.py_func = func
        self.inline = inline
        self.error_model = "python" if python_errors else "numpy"
        self._dispatcher: Any = None
        functools.update_wrapper(self, func)
        KERNELS.append(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        dispatcher = self._dispatcher
        if dispatcher is None:
            dispatcher = self.dispatcher()
        return dispatcher(*args, **kwargs)

    def dispatcher(self) -> Any:
        """The numba dispatcher (created, not yet compiled, on first use)."""
        if self._dispatcher is None:
            with _LOCK:
                if self._dispatcher is None:
                    options = {"inline": "always"} if self.inline else {}
                    dispatcher = _numba().njit(cache=True, error_model=self.error_model, **options)
                    self._expose_callees(dispatcher(self.py_func))
        return self._dispatcher

    def _expose_callees(self, own: Any) -> None:
        """Put the dispatchers of the kernels this one names (itself included, if it recurses) in
        place of their wrappers, then publish its own."""
        namespace = self.py_func.__globals__
        for name in self.py_func.__code__.co_names:
            value = namespace.get(name)
            if isinstance(value, Kernel):
                namespace[name] = own if value is self else value.dispatcher()
        self._dispatcher = own

    def signatures(self) -> list[Any]:
        """Argument types compiled or loaded from the cache so far in this process."""
        return [] if self._dispatcher is None else list(getattr(self._dispatcher, "signatures", []))

    def __repr__(self) -> str:
        return f"<kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"


@overload
def kernel(func: F) -> F: ...
@overload
def kernel(*, inline: bool = False, python_errors: bool = False) -> Callable[[F], F]: ...
def kernel(
    func: F | None = None, *, inline: bool = False, python_errors: bool = False
) -> F | Callable[[F], F]:
    """Compile ``func`` with numba (``njit``, ``cache=True``) on its first call."""

    def wrap(f: F) -> F:
        return cast(F, Kernel(f, inline=inline, python_errors=python_errors))

    return wrap if func is None else wrap(func)


@functools.cache
def _numba() -> Any:
    """numba, imported on first use."""
    import numba  # noqa: PLC0415 - deferred: importing numba takes ~0.5 s

    return numba
