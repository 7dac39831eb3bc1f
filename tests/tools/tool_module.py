"""The scripts of tools/ as modules, for tests that call their ``main``
in-process (and may patch what it calls)."""
import importlib.util
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).parents[2] / 'tools'


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py``, imported afresh (not run as ``__main__``)."""
    spec = importlib.util.spec_from_file_location(f'tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
