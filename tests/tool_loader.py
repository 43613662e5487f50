"""Import a script under ``tools/`` as a module, to call its ``main``.

The tools are scripts, not a package; the tests of their front ends load
them by path (``pytest.ini`` puts this folder on ``sys.path``).
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relative_path: str) -> ModuleType:
    """Import ``tools/...`` by its path from the repository root.

    Args:
        relative_path (str): E.g. ``'tools/infer.py'``.

    Returns:
        ModuleType: The script as a module (its ``__main__`` block not run).
    """
    path = osp.join(REPO_ROOT, relative_path)
    # A prefixed name: bare ones (``test``, ``benchmark``) would shadow
    # other modules.
    name = 'tool_' + osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
