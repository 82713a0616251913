"""import-linter contract types that also see the single-file modules at the repository's root.

grimp builds its graph from packages only: ``errors.py`` cannot be a root package (grimp
raises NotATopLevelModule; import-linter 2.16 refuses it as "a module, not a package"). With
``include_external_packages`` such a module still shows up when a package imports it, but as
an external node whose own imports are not in the graph. Then ``errors.py`` could import
Flask unseen, and a chain through a root module (``exchange.adapters.x -> bootstrap ->
exchange.services.receipts``) would break no contract. So each module named in the
``root_modules`` option of ``[tool.importlinter]`` is read here, and it and its imports are
added to the contract's own copy of the graph before the ordinary check runs.

``pyproject.toml`` registers these classes under the built-in names ``forbidden`` and
``layers``, so that no contract of either type can leave the root modules out by mistake.
"""
from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter.contracts import forbidden, layers
from importlinter.domain.contract import ContractCheck


def _flag(options: Mapping[str, Any], name: str) -> bool:
    return str(options.get(name, False)).lower() == "true"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _ImportFinder(ast.NodeVisitor):
    """Every import of a module, at any depth (lazy imports inside functions count, as grimp
    counts them); ``if TYPE_CHECKING:`` blocks only when the session does not exclude them."""

    def __init__(self, skip_type_checking: bool) -> None:
        self.skip_type_checking = skip_type_checking
        self.depth = 0  # functions around the current node: an import there is lazy
        # (candidate names, most precise first; line number; lazy)
        self.found: list[tuple[list[str], int, bool]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if self.skip_type_checking and _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append(([alias.name], node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        # a root module is not in a package: it has no relative imports to resolve
        if node.level == 0 and node.module:
            for alias in node.names:
                self.found.append(([f"{node.module}.{alias.name}", node.module], node.lineno, self.depth > 0))


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is not None:
        raise ValueError(f"root_modules: {name!r} is not a single-file module on the path")
    return Path(spec.origin)


def _imports_of(path: Path, skip_type_checking: bool) -> Iterator[tuple[list[str], int, str, bool]]:
    source = path.read_text(encoding="utf-8")
    finder = _ImportFinder(skip_type_checking)
    finder.visit(ast.parse(source, filename=str(path)))
    lines = source.splitlines()
    for candidates, line_number, lazy in finder.found:
        yield candidates, line_number, lines[line_number - 1].strip(), lazy


def _target(graph: ImportGraph, candidates: list[str], internal_roots: set[str],
            include_external: bool) -> str | None:
    """The graph's node for an import, resolved as grimp resolves the packages' own imports:
    the deepest module of ours that the name reaches, or an external package's top level."""
    root = candidates[-1].split(".")[0]
    if root not in internal_roots:
        return root if include_external else None
    for candidate in candidates:
        parts = candidate.split(".")
        while parts:
            name = ".".join(parts)
            if name in graph.modules:
                return name
            parts.pop()
    return None


def _make_ordinary(graph: ImportGraph, name: str) -> None:
    """A root module the packages import is in the graph as a squashed external node; make it
    an ordinary module, keeping the imports of it (remove_module drops them)."""
    if name not in graph.modules:
        graph.add_module(name)
        return
    if not graph.is_module_squashed(name):
        return
    incoming = [(importer, graph.get_import_details(importer=importer, imported=name))
                for importer in graph.find_modules_that_directly_import(name)]
    graph.remove_module(name)
    graph.add_module(name)
    for importer, details in incoming:
        if not details:
            graph.add_import(importer=importer, imported=name)
        for detail in details:
            graph.add_import(importer=importer, imported=name, line_number=detail["line_number"],
                             line_contents=detail["line_contents"], is_lazy=detail.get("is_lazy"))


def add_root_modules(graph: ImportGraph, session_options: Mapping[str, Any]) -> None:
    names = list(session_options.get("root_modules", []))
    internal_roots = {*session_options.get("root_packages", []), *names}
    include_external = _flag(session_options, "include_external_packages")
    skip_type_checking = _flag(session_options, "exclude_type_checking_imports")
    for name in names:  # every node first: one root module may import another
        _make_ordinary(graph, name)
    for name in names:
        for candidates, line_number, line, lazy in _imports_of(_module_path(name), skip_type_checking):
            target = _target(graph, candidates, internal_roots, include_external)
            if target is None or target == name:
                continue
            if target not in graph.modules:
                graph.add_module(target, is_squashed=True)  # an external package seen first here
            graph.add_import(importer=name, imported=target, line_number=line_number,
                             line_contents=line, is_lazy=lazy)


class ForbiddenContract(forbidden.ForbiddenContract):
    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        add_root_modules(graph, self.session_options)
        return super().check(graph, verbose)


class LayersContract(layers.LayersContract):
    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        add_root_modules(graph, self.session_options)
        return super().check(graph, verbose)
