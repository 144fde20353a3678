"""Tamper evidence for ``ds500 grade``: a guard inside the kernel and a static scan.

The grader runs a student's exercise code in the same kernel as the check cells, so
that code could patch what the checks rely on (``ds500.Check.__exit__``,
``numpy.allclose``, ``print``...). Two defences, both wired in by :mod:`ds500.grading`:

* :class:`Guard` lives in the kernel. The grader creates it in a cell of its own right
  before the first exercise cell, after the lab's canonical set-up and imports and
  before any student code, and it records the objects the checks use: the builtins,
  ``ds500.checks``, the modules, functions and classes the check cells name
  (``np.allclose``, ``pd.Series``, ``roc_auc_score``) and the comparison functions of
  ``math``, NumPy and pandas. Every check cell starts with ``verify``, which fails the
  check with "tampering detected: ..." when one of them was replaced or patched, and
  ends with ``confirm``, which writes a receipt that is only reached when the check ran
  to its end. A check passes only with nbval's pass *and* its receipt, so a student who
  hides exceptions (a custom IPython exception handler) or rewrites the check's source
  still scores 0.
* :func:`scan` reads a student's exercise code with :mod:`ast` and lists what legitimate
  answers never need; the grader shows the reasons to the instructor.

Limit: everything in the kernel, this guard included, is reachable from the student's
code, so a student who studies this module can defeat the guard. Each way of reaching
it that we know of needs a construct that :func:`scan` flags.
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any

__all__ = ["GUARD_NAME", "CheckUse", "Guard", "TamperingDetected", "check_references", "scan"]

GUARD_NAME = "_ds500_guard"
"""The guard's name in the kernel's namespace (the grader's cells call it by this name)."""

COMPARISONS = (
    "math.isclose", "math.isfinite",
    "numpy.allclose", "numpy.isclose", "numpy.array_equal", "numpy.array_equiv",
    "numpy.testing.assert_allclose", "numpy.testing.assert_array_equal",
    "numpy.testing.assert_array_almost_equal", "numpy.testing.assert_almost_equal",
    "numpy.testing.assert_equal",
    "pandas.testing.assert_frame_equal", "pandas.testing.assert_series_equal",
    "pandas.testing.assert_index_equal", "pandas.Series", "pandas.DataFrame", "pandas.Index",
)
"""Checked at every check, by module name, when the module is imported before the first exercise."""

_NOT_CHECKED_BUILTINS = {"_", "__", "___", "input"}
"""Builtins the kernel itself rebinds: IPython's output history, ipykernel's ``input`` per request."""
_MISSING = object()


class TamperingDetected(AssertionError):
    """A check's machinery was patched; the message starts like a check's own failure."""


def _fingerprint(obj: Any) -> Any:
    """What may not change in place: a function's code and defaults, a class's attributes."""
    if isinstance(obj, FunctionType):
        return (obj.__code__, obj.__defaults__, obj.__kwdefaults__)
    if isinstance(obj, type):
        return [(klass, dict(vars(klass))) for klass in obj.__mro__]
    return None


def _lookup(holder: Any, name: str) -> Any:
    """``holder[name]`` for a namespace, ``holder.name`` otherwise; a marker when absent."""
    return holder.get(name, _MISSING) if isinstance(holder, Mapping) else getattr(holder, name, _MISSING)


class Guard:
    """Records the checks' machinery before the student's code runs; verifies it at each check.

    Args:
        namespace: the kernel's user namespace (``globals()`` of the grader's cell).
        references: dotted names the check cells use (``"np.allclose"``, ``"ds500.Check"``),
            resolved in ``namespace``; those that are not modules, classes or functions
            along the way (data such as ``df.columns``) are left out.
        receipts: the file that :meth:`confirm` appends to.
        forget: a file to delete now (the notebook being graded, which holds the nonces).
    """

    def __init__(
        self, namespace: dict[str, Any], references: Sequence[str], receipts: str, forget: str = ""
    ) -> None:
        self._namespace = namespace
        self._receipts = receipts
        self._open = builtins.open
        self._builtins = {k: v for k, v in vars(builtins).items() if k not in _NOT_CHECKED_BUILTINS}
        self._namespace_builtins = namespace.get("__builtins__", builtins)
        self._seen_names = {name: namespace.get(name, _MISSING) for name in self._builtins}
        self._entries: dict[str, tuple[Any, str, Any, Any]] = {}  # path -> holder, attr, object, fingerprint
        for name in references:
            self._record(name, namespace)
        for name in COMPARISONS:
            root, _, rest = name.partition(".")
            if sys.modules.get(root) is not None:
                self._record(rest, vars(sys.modules[root]), root)
        checks = sys.modules["ds500.checks"]
        self._checks_globals = dict(vars(checks))
        for key, value in self._checks_globals.items():
            if isinstance(value, FunctionType | type):
                self._record(key, vars(checks), "ds500.checks")
        if forget and os.path.exists(forget):
            os.remove(forget)

    def _record(self, name: str, namespace: Mapping[str, Any], prefix: str = "") -> None:
        """Record each prefix of ``name`` while it is a module, a class or a callable."""
        holder: Any = namespace
        path = prefix
        for part in name.split("."):
            obj = _lookup(holder, part)
            if obj is _MISSING or not (isinstance(obj, ModuleType) or callable(obj)):
                return  # data (df.columns) may change legitimately; a lazy attribute may be absent
            path = f"{path}.{part}" if path else part
            self._entries.setdefault(path, (holder, part, obj, _fingerprint(obj)))
            holder = obj

    def _changes(self, builtin_names: Iterable[str]) -> list[str]:
        found = []
        if self._namespace.get("__builtins__", builtins) is not self._namespace_builtins:
            found.append("__builtins__ was replaced")
        current = vars(builtins)
        found += [f"builtins.{k} was replaced" for k, v in self._builtins.items() if current.get(k) is not v]
        for name in builtin_names:
            if self._namespace.get(name, _MISSING) is not self._seen_names.get(name, _MISSING):
                found.append(f"`{name}` is shadowed by a variable in the notebook")
        for path, (holder, attr, obj, before) in self._entries.items():
            now = _lookup(holder, attr)
            found += [f"{path} was replaced"] if now is not obj else self._changed_in_place(path, obj, before)
        checks = sys.modules.get("ds500.checks")
        if checks is None or any(vars(checks).get(k) is not v for k, v in self._checks_globals.items()):
            found.append("the ds500.checks module was changed")
        return found

    @staticmethod
    def _changed_in_place(path: str, obj: Any, before: Any) -> list[str]:
        if isinstance(obj, FunctionType):
            now = (obj.__code__, obj.__defaults__, obj.__kwdefaults__)
            return [] if all(a is b for a, b in zip(now, before, strict=True)) else [f"{path} was patched"]
        if not isinstance(obj, type):
            return []
        inherited = {key for _, attributes in before for key in attributes}
        found = []
        for klass, attributes in before:
            now = vars(klass)
            changed = [k for k, v in attributes.items() if now.get(k, _MISSING) is not v]
            changed += [k for k in now if k not in attributes and k in inherited]  # an override added
            found += [f"{klass.__module__}.{klass.__qualname__}.{k} was replaced" for k in changed]
        return found

    def verify(self, exercise: int, builtin_names: Sequence[str] = ()) -> None:
        """Raise :class:`TamperingDetected` if anything recorded was replaced or patched.

        Args:
            exercise: the exercise whose check is about to run (named in the message).
            builtin_names: the builtins that check uses, which the notebook must not shadow.
        """
        found = self._changes(builtin_names)
        if found:
            shown = "; ".join(dict.fromkeys(found))
            raise TamperingDetected(
                f"❌ Exercise {exercise}: tampering detected: {shown[:400]}. The grader restores the "
                "check cells, but code in the notebook changed what they rely on."
            )

    def confirm(self, exercise: int, nonce: str) -> None:
        """Append the receipt of a check that ran to its end."""
        with self._open(self._receipts, "a", encoding="utf-8") as handle:
            handle.write(f"{exercise} {nonce}\n")


# -- grader side: what the check cells use, and the static scan ---------------------------


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


@dataclass(frozen=True)
class CheckUse:
    """What one check cell reads from outside itself (see :func:`check_references`)."""

    chains: list[str]
    """Longest dotted names rooted at one of the given roots: ``["np.allclose", "ds500.Check"]``."""
    builtins: list[str]
    """Builtin names it reads (``print``, ``isinstance``) that the lab does not define."""
    free: set[str]
    """Every name it reads without binding it first (``y_test``, ``weights``)."""


def check_references(source: str, roots: set[str], defined: set[str] = frozenset()) -> CheckUse:
    """What a check cell uses: chains rooted at ``roots``, builtins not in ``defined``, free names.

    Raises:
        SyntaxError: the cell does not parse.
    """
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    bound |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    chains: set[str] = set()
    free: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node)
            if dotted and dotted.split(".")[0] in roots:
                chains.add(dotted)
            if isinstance(node, ast.Name) and node.id not in bound:
                free.add(node.id)
    longest = sorted(c for c in chains if not any(o.startswith(c + ".") for o in chains))
    used_builtins = sorted(n for n in free if hasattr(builtins, n) and n not in defined)
    return CheckUse(longest, used_builtins, free)


_SUSPICIOUS_MODULES = {
    "builtins": "imports builtins", "importlib": "imports importlib", "gc": "imports gc",
    "ctypes": "imports ctypes", "inspect": "imports inspect", "IPython": "imports IPython",
    "ipykernel": "imports ipykernel", "socket": "network access (socket)",
    "urllib": "network access (urllib)", "urllib3": "network access (urllib3)",
    "requests": "network access (requests)", "http": "network access (http)",
    "httpx": "network access (httpx)", "subprocess": "runs programs (subprocess)",
    "ds500.checks": "imports ds500.checks", "ds500.tamper": "imports the grader's guard",
    "ds500.grading": "imports the grader",
}
_SUSPICIOUS_NAMES = {
    "__builtins__": "uses __builtins__", "__import__": "uses __import__", "exec": "calls exec()",
    "eval": "calls eval()", "compile": "calls compile()", "globals": "uses globals()",
    "locals": "uses locals()", "vars": "uses vars()", "setattr": "calls setattr()",
    "delattr": "calls delattr()", "get_ipython": "uses get_ipython()",
    GUARD_NAME: "touches the grader's guard",
}
_SUSPICIOUS_ATTRIBUTES = {
    ("sys", "modules"): "uses sys.modules", ("sys", "settrace"): "uses sys.settrace",
    ("sys", "setprofile"): "uses sys.setprofile", ("sys", "_getframe"): "uses sys._getframe",
    ("sys", "meta_path"): "uses sys.meta_path",
}
_SHELL = ("system", "popen", "fork", "execv", "execl", "spawn", "posix_spawn", "kill")
_HARMLESS_DUNDERS = {"__init__", "__name__", "__doc__", "__version__", "__qualname__", "__repr__",
                     "__post_init__"}


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__") and name not in _HARMLESS_DUNDERS


def scan(source: str, lines: range, *, modules: Iterable[str], protected: Iterable[str]) -> list[str]:
    """Reasons to review the student's code in ``lines`` (1-based) of a cell; empty when clean.

    Args:
        source: the whole cell as it will run (a region may sit inside a function).
        lines: the line numbers of the student's code.
        modules: names bound to imported modules or their members (``np``, ``roc_auc_score``);
            assigning their attributes is flagged.
        protected: names the lab defines outside the exercises and the checks use
            (``y_test``, ``cumulative_hits``, builtins); rebinding them is flagged.

    A cell that does not parse returns no reasons: it cannot run.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    reasons: list[str] = []
    modules, protected = set(modules), set(protected)
    ours = [n for n in ast.walk(tree) if getattr(n, "lineno", 0) in lines]
    for node in ours:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in imported:
                key = next((k for k in _SUSPICIOUS_MODULES if name == k or name.startswith(k + ".")), None)
                if key:
                    reasons.append(_SUSPICIOUS_MODULES[key])
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ours:
        if isinstance(node, ast.Name):
            if node.id in _SUSPICIOUS_NAMES:
                reasons.append(_SUSPICIOUS_NAMES[node.id])
            if not isinstance(node.ctx, ast.Load) and node.id in protected:
                reasons.append(f"rebinds `{node.id}`, which a check uses")
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            if node.name in protected:
                reasons.append(f"rebinds `{node.name}`, which a check uses")
            if isinstance(node, ast.ClassDef):
                methods = [b.name for b in node.body if isinstance(b, ast.FunctionDef) and _is_dunder(b.name)]
                reasons += [f"defines {m} (objects that can fool a comparison)" for m in methods]
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node) or ""
            root = dotted.split(".")[0]
            if _is_dunder(node.attr):
                reasons.append(f"uses {node.attr}")
            if not isinstance(node.ctx, ast.Load) and (root in modules or hasattr(builtins, root)):
                reasons.append(f"assigns {dotted} (patches a module)")
            if isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                if pair in _SUSPICIOUS_ATTRIBUTES:
                    reasons.append(_SUSPICIOUS_ATTRIBUTES[pair])
                if node.value.id == "os" and node.attr.startswith(_SHELL):
                    reasons.append(f"runs programs (os.{node.attr})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if _is_dunder(text):
                reasons.append(f"uses {text}")
            if text == "solutions" or "solutions/" in text or text.endswith(".ipynb"):
                reasons.append("reads the solutions folder or a notebook file")
            if GUARD_NAME in text:
                reasons.append("touches the grader's guard")
    return list(dict.fromkeys(reasons))
