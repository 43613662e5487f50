"""Load a script under ``tools/`` as a module, or run it in a subprocess.

The tools are scripts, not a package; the tests of their front ends load
them by path (``pytest.ini`` puts this folder on ``sys.path``).
"""
import importlib.util
import os.path as osp
import subprocess
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


def run_tool(args, env, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python ARGS...`` from the repository root, capturing output.

    Args:
        args (list[str]): The script (e.g. ``'tools/infer.py'``) and its
            arguments.
        env (dict): The environment.
        timeout (int): Seconds. Defaults to 300.
    """
    return subprocess.run(
        [sys.executable] + list(args),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
