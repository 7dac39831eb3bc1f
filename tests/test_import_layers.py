"""The package's imports run one way (docs/architecture.md): every import
of every module, at module level or inside a function, read from its syntax
tree, goes to its own package or to a lower layer, and no chain of imports
comes back to where it started."""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = Path(__file__).parents[1]
PACKAGE = 'yolo_plugin'
# The layers, lowest first. A module imports from its own layer and from
# lower ones, never from a higher one (the entries of one layer, such as
# models and datasets, are peers: the cycle test keeps them apart where it
# matters). ``yolo_plugin`` alone is the package's __init__, the one place
# where importing it changes mmengine globally.
LAYERS = (
    ('yolo_plugin.version', ),
    ('yolo_plugin.utils', ),
    ('yolo_plugin', ),
    ('yolo_plugin.registry', ),
    ('yolo_plugin.models', 'yolo_plugin.datasets'),
    ('yolo_plugin.evaluation', ),
    ('yolo_plugin.engine', ),
    ('yolo_plugin.apis', ),
    ('yolo_plugin.converters', 'yolo_plugin.deploy'),
    ('yolo_plugin.cli_args', ),
)
# Folders of the repository beside the package, which it never imports.
OUTSIDE = ('tools', 'benchmarks', 'tests')


def module_files() -> Dict[str, Path]:
    """Module name -> file of every module of the package (a package is its
    ``__init__.py``)."""
    modules = {}
    for path in sorted((REPO / PACKAGE).rglob('*.py')):
        parts = path.relative_to(REPO).with_suffix('').parts
        name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        modules[name] = path
    return modules


MODULES = module_files()


def imported_names(module: str, path: Path) -> Iterator[Tuple[int, str]]:
    """``(line, name)`` of everything ``module`` imports, relative imports
    made absolute; ``from a import b`` gives ``a.b``."""
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(anchor + ([base] if base else []))
            for alias in node.names:
                yield node.lineno, f'{base}.{alias.name}'


def target_module(name: str) -> str:
    """The module of the package an imported name loads: the longest
    prefix of ``name`` that is a module (``a.b.func``: ``a.b``)."""
    while name not in MODULES:
        name = name.rpartition('.')[0]
    return name


def layer_of(module: str) -> int:
    """The layer index of a module of the package."""
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if module == entry or (entry != PACKAGE and module.startswith(entry + '.')):
                return index
    raise AssertionError(f'{module} is in no layer of LAYERS: add it there (and to '
                         'docs/architecture.md)')


def import_graph() -> Dict[str, List[Tuple[int, str]]]:
    """Module -> ``(line, module)`` of each module of the package it imports."""
    graph = {}
    for module, path in MODULES.items():
        graph[module] = [(line, target_module(name)) for line, name in imported_names(module, path)
                         if name == PACKAGE or name.startswith(PACKAGE + '.')]
    return graph


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_go_down_the_layers_only():
    wrong = [
        f'{MODULES[module].relative_to(REPO)}:{line}: {module} imports {target}, '
        f'{LAYERS[layer_of(target)]} above {LAYERS[layer_of(module)]}'
        for module, imports in import_graph().items() for line, target in imports
        if layer_of(target) > layer_of(module)
    ]
    assert wrong == []


def find_cycle(graph: Dict[str, List[Tuple[int, str]]]) -> List[str]:
    """One import cycle (its modules, the first repeated at the end), or []."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: finished
    path: List[str] = []

    def visit(module: str) -> List[str]:
        state[module] = 1
        path.append(module)
        for _, target in graph[module]:
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = 2
        return []

    for module in graph:
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return []


def test_no_import_cycle():
    assert find_cycle(import_graph()) == []


def test_the_cycle_finder_finds_one():
    graph = {'a': [(1, 'b')], 'b': [(1, 'c')], 'c': [(1, 'a'), (2, 'd')], 'd': []}
    assert find_cycle(graph) == ['a', 'b', 'c', 'a']


@pytest.mark.parametrize('folder', OUTSIDE)
def test_the_package_imports_nothing_beside_it(folder):
    found: Set[str] = {
        f'{module}: {name}' for module, path in MODULES.items()
        for _, name in imported_names(module, path) if name.split('.')[0] == folder
    }
    assert found == set()
