"""The package's imports flow one way (docs/architecture.md, "Layers").

Every module of ``mer_audiolime`` is parsed with :mod:`ast`; every import in it (module level and inside
functions, ``import x`` and ``from x import y``, absolute and relative) is resolved to a module of the package
and checked against these rules:

``upward``        a module imports only its own layer or layers below it, in the order of :data:`LAYERS`;
``cli``           nothing but a command-line module imports a command-line module (``cli.py``, ``*_cli.py``);
``root``          no module inside the package imports the package root ``mer_audiolime`` (it re-exports the
                  explain layer; the version lives in ``mer_audiolime._version``);
``private-name``  no ``_name`` is imported from another module (make it public if another module needs it);
``private-module`` a ``_module`` is imported only from inside its own package (command-line modules excepted:
                  ``cli.py`` gathers the subcommands of every package);
``lazy``          an import inside a function is of a third-party module in :data:`LAZY_THIRD_PARTY`, is made
                  by a command-line module, or is a pair listed in :data:`LAZY_INTERNAL` with the reason it
                  is deferred (the direction rules apply to these imports too);
``cycle``         the package's modules import each other without a circle (function-level imports count:
                  deferring one side of a circle hides it from the interpreter, not from a reader).

The packages' ``__getattr__`` hooks load their own submodules by name (``importlib.import_module``) so that
the command line starts fast; those string imports stay inside one package and are not walked.

``test_checker_*`` run the same checker on small synthetic package trees, so the rules are known to fail.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "mer_audiolime"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

#: Layers from top to bottom: a module may import its own layer and any layer after it. Each entry maps a
#: layer to the top-level names (a module ``mer_audiolime.<name>`` or a subpackage) it holds. Command-line
#: modules form the ``cli`` layer wherever they live. The last layer holds the small modules every layer
#: shares: the error tree, the shared names, argument validation, the version and crash-safe file writing.
LAYERS = (
    ("cli", ("cli",)),
    ("report", ("report",)),
    ("evaluation", ("evaluation",)),
    ("plots", ("plots",)),
    ("explain", ("explain",)),
    ("models", ("models",)),
    ("datasets", ("datasets",)),
    ("audio", ("audio", "audio_decode", "audio_signal")),
    ("shared", ("names", "validation", "_version", "fileio")),
    ("exceptions", ("exceptions",)),
)

#: Third-party modules that may be imported inside a function: they take seconds to import, and the command
#: line imports the modules that use them just to build its parser (tests/test_cli_startup.py keeps
#: ``--help`` free of them).
LAZY_THIRD_PARTY = frozenset({
    "torch", "torchaudio", "pandas", "matplotlib", "seaborn", "sklearn", "scipy", "librosa", "lime",
    "mirdata", "openunmix", "dask", "distributed", "joblib", "soundfile", "tqdm", "pyarrow", "torchmetrics",
    "pretty_midi", "tinysoundfont",
})

_TORCH = "imports torch at its top; deferred so that the importer loads without torch until a model is built"

#: Imports of package modules made inside a function of a library module, as (importer, imported module),
#: with the reason. Command-line modules (``cli.py``, ``*_cli.py``) may defer any import: the parser is built
#: from every one of them, and a command's library loads only when it runs (tests/test_cli_startup.py).
LAZY_INTERNAL = {
    ("mer_audiolime.datasets", "mer_audiolime.datasets._base"):
        "imports mirdata; the command line imports the datasets package to build its parser",
    ("mer_audiolime.explain.diagnostics", "mer_audiolime.models.frontend"): _TORCH,
    ("mer_audiolime.evaluation.metrics.sanity", "mer_audiolime.models.training"): _TORCH,
    ("mer_audiolime.evaluation.metrics.sanity", "mer_audiolime.models.heads"): _TORCH,
    ("mer_audiolime.models.zoo", "mer_audiolime.models.heads"): _TORCH,
    ("mer_audiolime.models.spec", "mer_audiolime.models.heads"): _TORCH,
    ("mer_audiolime.models.checkpoint", "mer_audiolime.models.heads"): _TORCH,
}

#: Violations in files that are being rewritten elsewhere, as (rule, importing module) -> reason. Each entry
#: must still match a violation (test_allow_lists_are_still_needed), so the list cannot hide a new one.
PENDING: dict = {}

#: Import circles not yet untangled, as sorted tuples of their modules -> reason.
KNOWN_CYCLES: dict = {}


@dataclass(frozen=True)
class Import:
    """One imported name: ``target`` is the module (or ``module.attribute``) it resolves to."""

    module: str
    path: str
    line: int
    target: str
    name: str | None  # the attribute imported by ``from x import name``; None for ``import x``
    in_function: bool


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str  # file:line, or the first module of a circle
    message: str
    module: str = ""  # the importing module
    pair: tuple = ()  # (importing module, imported module)
    modules: tuple = ()  # the modules of a circle

    def __str__(self):
        return f"{self.where}: [{self.rule}] {self.message}"


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` inside the package folder ``root``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect_modules(root: Path) -> dict:
    """``{module name: path}`` for every ``.py`` file under the package folder ``root``."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _in_function_visit(tree):
    """Yield ``(node, in_function)`` for every import statement of ``tree``."""
    stack = [(tree, False)]
    while stack:
        node, inside = stack.pop()
        for child in ast.iter_child_nodes(node):
            nested = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, inside
            stack.append((child, nested))


def parse_imports(source: str, *, module: str, is_package: bool, modules, path: str = "<string>"):
    """Every import of ``source`` that resolves into the package, as :class:`Import` records.

    ``from x import y`` resolves to the module ``x.y`` when that is a module of the package, else to ``x``
    with ``name='y'``.
    """
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node, inside in _in_function_visit(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(module, path, node.lineno, alias.name, None, inside))
            continue
        if node.level:
            base = package.split(".")
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            source_module = ".".join(base + ([node.module] if node.module else []))
        else:
            source_module = node.module or ""
        for alias in node.names:
            submodule = f"{source_module}.{alias.name}"
            if submodule in modules:
                out.append(Import(module, path, node.lineno, submodule, None, inside))
            else:
                out.append(Import(module, path, node.lineno, source_module, alias.name, inside))
    return out


def package_imports(imports) -> list:
    """The imports of modules of the package."""
    return [imp for imp in imports if imp.target == PACKAGE or imp.target.startswith(PACKAGE + ".")]


def is_cli(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last in ("cli", "_cli") or last.endswith("_cli")


def layer_of(module: str) -> str | None:
    """The layer of a module of the package; None for the package root."""
    if module == PACKAGE:
        return None
    if is_cli(module):
        return "cli"
    top = module.split(".")[1]
    for layer, names in LAYERS:
        if top in names:
            return layer
    raise KeyError(f"{module}: no layer in LAYERS holds {top!r}; add it there and to docs/architecture.md")


_RANK = {layer: i for i, (layer, _) in enumerate(LAYERS)}


def _owner(target: str, modules) -> str:
    """The module of the package that ``target`` (a module, or a module's attribute) lives in."""
    while target not in modules and "." in target:
        target = target.rpartition(".")[0]
    return target


def check_import(imp: Import, modules, *, lazy_internal=None) -> list:
    """The rules one import breaks, as :class:`Violation` records."""
    lazy_internal = LAZY_INTERNAL if lazy_internal is None else lazy_internal
    target = _owner(imp.target, modules)
    found = []

    def fail(rule, message):
        found.append(Violation(rule, f"{imp.path}:{imp.line}", message, module=imp.module,
                               pair=(imp.module, target)))

    src_layer, dst_layer = layer_of(imp.module), layer_of(target)
    if imp.in_function and not is_cli(imp.module) and (imp.module, target) not in lazy_internal:
        fail("lazy", f"{imp.module} imports {target} inside a function; import it at the top, or add the "
                     "pair to LAZY_INTERNAL with the reason")
    if target == PACKAGE and imp.module != PACKAGE:
        what = f"{PACKAGE}.{imp.name}" if imp.name else PACKAGE
        fail("root", f"{imp.module} imports the package root ({what}); import the defining module (e.g. "
                     "mer_audiolime._version)")
        return found
    if imp.module == PACKAGE:  # the root is the public facade: it may re-export any layer but the CLI
        src_layer = "cli"
    if dst_layer == "cli" and not is_cli(imp.module):
        fail("cli", f"{imp.module} imports the command-line module {target}; move what it needs into a "
                    "library module")
    elif _RANK[dst_layer] < _RANK[src_layer]:
        fail("upward", f"{imp.module} ({src_layer}) imports {target} ({dst_layer}), which is above it")
    if imp.name and imp.name.startswith("_") and not imp.name.startswith("__") and target != imp.module:
        fail("private-name", f"{imp.module} imports the private name {imp.name} from {target}; make it public")
    for i, part in enumerate(target.split(".")[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            owner_pkg = ".".join(target.split(".")[:i])
            inside = imp.module == owner_pkg or imp.module.startswith(owner_pkg + ".")
            if not inside and not (is_cli(imp.module) and is_cli(target)):
                fail("private-module", f"{imp.module} imports {target}, private to {owner_pkg}")
            break
    return found


def find_cycles(imports, modules) -> list:
    """Import circles among the package's modules (strongly connected components of size > 1)."""
    graph = {m: set() for m in modules}
    for imp in imports:
        target = _owner(imp.target, modules)
        if target != imp.module:
            graph[imp.module].add(target)
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):  # Tarjan; the graph is small, recursion depth stays below the module count
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_package_init(module: str, modules) -> bool:
    return modules[module].name == "__init__.py"


def check_tree(root: Path, *, lazy_internal=None, pending=None, known_cycles=None) -> list:
    """Every violation in the package folder ``root``, as :class:`Violation` records (those in ``pending``
    and ``known_cycles`` left out)."""
    pending = PENDING if pending is None else pending
    known_cycles = KNOWN_CYCLES if known_cycles is None else known_cycles
    modules = collect_modules(root)
    every = []
    for module, path in modules.items():
        rel = path.relative_to(root.parent).as_posix()
        every += parse_imports(path.read_text(encoding="utf-8"), module=module,
                               is_package=_is_package_init(module, modules), modules=modules, path=rel)
    imports = package_imports(every)
    found = []
    for imp in every:
        top = imp.target.split(".")[0]
        if (imp.in_function and imp not in imports and not is_cli(imp.module) and top not in LAZY_THIRD_PARTY
                and (("lazy", imp.module) not in pending)):
            found.append(Violation("lazy", f"{imp.path}:{imp.line}", f"{imp.module} imports {imp.target} inside "
                                   "a function; import it at the top (or, for a library that is slow to import, "
                                   "add it to LAZY_THIRD_PARTY)", module=imp.module))
    for imp in imports:
        for v in check_import(imp, modules, lazy_internal=lazy_internal):
            if (v.rule, imp.module) not in pending:
                found.append(v)
    # A package's lazy ``__getattr__`` loading its own submodules is how the command line stays fast; an
    # __init__ importing its own submodule is not a circle a reader has to untangle.
    edges = [imp for imp in imports
             if not (_is_package_init(imp.module, modules) and imp.target.startswith(imp.module + "."))]
    for scc in find_cycles(edges, modules):
        if tuple(scc) in known_cycles:
            continue
        found.append(Violation("cycle", scc[0], "import circle: " + " <-> ".join(scc), modules=tuple(scc)))
    return found


# ------------------------------------------------------------------------------------------------ the tree


def test_every_module_has_a_layer():
    for module in collect_modules(PACKAGE_DIR):
        if module != PACKAGE:
            assert layer_of(module) in _RANK


def test_package_imports_follow_the_layers():
    found = check_tree(PACKAGE_DIR)
    assert not found, "layering violations:\n" + "\n".join(map(str, found))


def test_allow_lists_are_still_needed():
    # an entry whose violation is gone must be removed, so the lists never hide a new violation
    found = check_tree(PACKAGE_DIR, lazy_internal={}, pending={}, known_cycles={})
    seen = {(v.rule, v.module) for v in found}
    assert set(PENDING) <= seen, f"stale PENDING entries: {sorted(set(PENDING) - seen)}"
    lazy = {pair for pair in LAZY_INTERNAL if ("lazy", pair) not in {(v.rule, v.pair) for v in found}}
    assert not lazy, f"stale LAZY_INTERNAL entries: {sorted(lazy)}"
    cycles = {tuple(v.modules) for v in found if v.rule == "cycle"}
    assert set(KNOWN_CYCLES) <= cycles, f"stale KNOWN_CYCLES entries: {sorted(set(KNOWN_CYCLES) - cycles)}"


# --------------------------------------------------------------------------------------------- the checker


def _tree(tmp_path, files: dict) -> Path:
    """A throwaway package tree named like the real one: ``files`` maps relative paths to sources."""
    root = tmp_path / PACKAGE
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _rules(found):
    return sorted((v.rule, v.where) for v in found)


def test_checker_passes_a_clean_tree(tmp_path):
    root = _tree(tmp_path, {
        "exceptions.py": "", "_version.py": "__version__ = '0'\n", "audio.py": "from .exceptions import E\n",
        "explain/__init__.py": "", "explain/surrogate.py": "from .._version import __version__\n",
        "explain/_cli.py": "from . import surrogate\n", "cli.py": "from .explain import _cli\n",
        "models/__init__.py": "", "models/zoo.py": "def f():\n    import torch\n",
    })
    assert check_tree(root, lazy_internal={}, pending={}, known_cycles={}) == []


@pytest.mark.parametrize("line", [
    "from ..explain.surrogate import fit\n",
    "from mer_audiolime.explain import surrogate\n",
    "import mer_audiolime.explain.surrogate\n",
    "def f():\n    from ..explain import surrogate\n",
])
def test_checker_catches_an_upward_import(tmp_path, line):
    root = _tree(tmp_path, {"explain/__init__.py": "", "explain/surrogate.py": "",
                            "models/__init__.py": "", "models/zoo.py": line})
    rules = {v.rule for v in check_tree(root, lazy_internal={("mer_audiolime.models.zoo",
                                                              "mer_audiolime.explain.surrogate")},
                                        pending={}, known_cycles={})}
    assert "upward" in rules
    [v] = [v for v in check_tree(root, lazy_internal={}, pending={}, known_cycles={}) if v.rule == "upward"]
    assert v.where == f"{PACKAGE}/models/zoo.py:{line.count(chr(10))}"


def test_checker_catches_root_cli_private_and_lazy(tmp_path):
    root = _tree(tmp_path, {
        "_version.py": "", "audio.py": "from . import __version__\n",
        "models/__init__.py": "", "models/_cli.py": "", "models/zoo.py": "x = 1\n",
        "explain/__init__.py": "", "explain/a.py": "from ..models import _cli\nfrom ..models.zoo import _hidden\n",
        "explain/b.py": "def f():\n    from ..models import zoo\n",
        "explain/c.py": "import mer_audiolime\n",
        "report/__init__.py": "", "report/_figures.py": "", "evaluation/__init__.py": "",
        "evaluation/r.py": "from ..report import _figures\n",
    })
    found = _rules(check_tree(root, lazy_internal={}, pending={}, known_cycles={}))
    assert ("root", f"{PACKAGE}/audio.py:1") in found
    assert ("root", f"{PACKAGE}/explain/c.py:1") in found
    assert ("cli", f"{PACKAGE}/explain/a.py:1") in found
    assert ("private-name", f"{PACKAGE}/explain/a.py:2") in found
    assert ("lazy", f"{PACKAGE}/explain/b.py:2") in found
    assert ("upward", f"{PACKAGE}/evaluation/r.py:1") in found
    assert ("private-module", f"{PACKAGE}/evaluation/r.py:1") in found


def test_checker_allows_only_the_listed_libraries_inside_functions(tmp_path):
    root = _tree(tmp_path, {"audio.py": "def f():\n    import torch\n\n\ndef g():\n    import json\n"})
    found = check_tree(root, lazy_internal={}, pending={}, known_cycles={})
    assert [(v.rule, v.where) for v in found] == [("lazy", f"{PACKAGE}/audio.py:6")]


def test_checker_catches_a_circle_held_apart_by_a_function_level_import(tmp_path):
    root = _tree(tmp_path, {"evaluation/__init__.py": "", "evaluation/runner.py": "from . import results\n",
                            "evaluation/results.py": "def f():\n    from . import runner\n"})
    pair = ("mer_audiolime.evaluation.results", "mer_audiolime.evaluation.runner")
    found = check_tree(root, lazy_internal={pair}, pending={}, known_cycles={})
    assert [v.rule for v in found] == ["cycle"]
    assert "mer_audiolime.evaluation.results <-> mer_audiolime.evaluation.runner" in found[0].message


def test_checker_rejects_a_module_without_a_layer(tmp_path):
    root = _tree(tmp_path, {"newthing.py": "", "audio.py": "from . import newthing\n"})
    with pytest.raises(KeyError, match="newthing"):
        check_tree(root, lazy_internal={}, pending={}, known_cycles={})
