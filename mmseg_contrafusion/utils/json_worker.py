"""Run a module's worker in a fresh Python process, JSON in and JSON out.

The benchmarks and the export checks do each measurement in a process of its
own: a thread pool (ONNX Runtime, OpenMP) or gigabytes kept alive by the
exporter must not carry over to the next measurement, and one failure must
not stop the rest. The worker is ``python -m MODULE SPEC.json OUT.json``:
:func:`run_json_worker` starts it, and the module's ``__main__`` block hands
its arguments to :func:`serve_json_worker`.
"""
import json
import os.path as osp
import subprocess
import sys
from typing import Any, Callable, Dict, List, Sequence


class WorkerError(RuntimeError):
    """A worker process that failed or wrote no result.

    Attributes:
        returncode (int): The worker's exit status.
        lines (list[str]): Its last output lines (stderr, else stdout).
    """

    def __init__(self, module: str, returncode: int, lines: List[str]):
        self.returncode = returncode
        self.lines = lines
        super().__init__(f'{module} worker exited with {returncode}: ' +
                         ' | '.join(lines[-5:]))


def run_json_worker(module: str, spec: Dict[str, Any], folder: str,
                    name: str) -> Any:
    """Write ``spec``, run the module's worker on it and read its result.

    Args:
        module (str): The worker module, e.g.
            ``'mmseg_contrafusion.deployment.export_check'``.
        spec (dict): What the worker reads (JSON-serialisable).
        folder (str): Where ``<name>_spec.json`` and ``<name>_out.json`` go.
        name (str): File stem of this call's spec and result.

    Returns:
        The JSON the worker wrote.

    Raises:
        WorkerError: If the worker exits non-zero or writes nothing.
    """
    spec_file = osp.join(folder, f'{name}_spec.json')
    out_file = osp.join(folder, f'{name}_out.json')
    with open(spec_file, 'w') as f:
        json.dump(spec, f)
    proc = subprocess.run([sys.executable, '-m', module, spec_file, out_file],
                          capture_output=True,
                          text=True)
    if proc.returncode != 0 or not osp.isfile(out_file):
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise WorkerError(module, proc.returncode, lines
                          or [f'exit status {proc.returncode}'])
    with open(out_file) as f:
        return json.load(f)


def serve_json_worker(argv: Sequence[str], fn: Callable[[Dict[str, Any]],
                                                        Any]) -> None:
    """The worker side: ``fn`` of the spec in ``argv[0]``, written to
    ``argv[1]`` as JSON.

    Args:
        argv (Sequence[str]): ``[SPEC.json, OUT.json]``.
        fn (Callable[[dict], Any]): The measurement; its result must be
            JSON-serialisable.
    """
    spec_file, out_file = argv
    with open(spec_file) as f:
        spec = json.load(f)
    result = fn(spec)
    with open(out_file, 'w') as f:
        json.dump(result, f)
