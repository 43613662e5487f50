"""Export many configs to ONNX, each in its own process, and check each.

For every config: export its inference graph (:func:`.onnx_export.
export_onnx`, random init unless a checkpoint is given), verify it against
PyTorch under ONNX Runtime on a real image (:func:`.onnx_export.
verify_onnx`), and look for training-only modules in the graph: no ONNX
initializer may be named after a parameter of a projection head, the CAC
branch, an MS/CS head, an auxiliary head or a loss
(:func:`~mmseg_contrafusion.analysis.report.hooks.training_only_modules`).

Each config runs in a fresh process (``python -m
mmseg_contrafusion.deployment.export_check SPEC OUT``): a full-size export
keeps gigabytes alive in the exporter, and a failure of one config must not
stop the others. The result rows are what :func:`format_table` prints.
"""
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..utils.json_worker import WorkerError, run_json_worker, serve_json_worker
from .onnx_export import WRAPPER_PREFIX

WORKER_MODULE = 'mmseg_contrafusion.deployment.export_check'


def graph_initializers(onnx_file: str) -> Dict[str, int]:
    """Model path -> element count of every initializer of an ONNX model.

    Names are given as the segmentor's own parameter paths
    (:data:`WRAPPER_PREFIX` removed), so that they compare with
    ``model.named_parameters()``.
    """
    import numpy as np
    import onnx

    model = onnx.load(onnx_file, load_external_data=False)
    sizes = {}
    for init in model.graph.initializer:
        name = init.name
        if name.startswith(WRAPPER_PREFIX):
            name = name[len(WRAPPER_PREFIX):]
        sizes[name] = int(np.prod(init.dims, dtype=np.int64))
    return sizes


def onnx_size_mb(onnx_file: str) -> float:
    """Size of an ONNX model with its external weights (``<file>.data``).

    torch's exporter writes the initializers to a file beside the graph;
    a deployment ships both.
    """
    size = osp.getsize(onnx_file)
    if osp.isfile(onnx_file + '.data'):
        size += osp.getsize(onnx_file + '.data')
    return size / 2**20


def training_only_in_graph(initializers: Sequence[str],
                           training_only: Sequence[str]) -> List[str]:
    """Initializers named after a parameter of a training-only module.

    Args:
        initializers (Sequence[str]): Initializer names of the graph.
        training_only (Sequence[str]): Module paths that inference must not
            run, e.g. ``['decode_head.transformer_projs']``.

    Returns:
        list[str]: The offending initializer names, sorted.
    """
    return sorted(
        name for name in initializers
        if any(name == path or name.startswith(path + '.')
               for path in training_only))


def check_one(config: str,
              shape: Tuple[int, int],
              output_file: str,
              image: Optional[str] = None,
              checkpoint: Optional[str] = None,
              cfg_options: Optional[dict] = None) -> Dict[str, Any]:
    """Export, verify and inspect one config in this process.

    Args:
        config (str): Config file.
        shape (tuple[int, int]): Export size (H, W).
        output_file (str): The ``.onnx`` to write.
        image (str, optional): Image for the verification; default the
            config's first test image.
        checkpoint (str, optional): Weights; None exports the random init.
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: ``config``, ``params_m`` (used at inference, millions),
        ``export_s``, ``onnx_mb``, ``relative_error``, ``argmax_agreement``,
        ``image``, ``named_initializers`` (initializers named like a model
        parameter: the check below is vacuous if 0),
        ``training_only_modules`` and ``training_only_in_graph``.

    Raises:
        OnnxExportError: If the export fails or disagrees with PyTorch.
    """
    import torch
    from mmcv import imread

    from ..analysis.params import count_params
    from ..analysis.report.hooks import training_only_modules
    from . import onnx_export as ox

    torch.manual_seed(0)
    model = ox.build_segmentor(config, checkpoint, cfg_options)
    start = time.perf_counter()
    ox.export_onnx(model, shape, output_file)
    export_s = time.perf_counter() - start
    image = ox.image_for(model.cfg, image)
    inputs = ox.preprocess_image(
        imread(image), shape,
        model.cfg.model.get('data_preprocessor') or {})
    verified = ox.verify_onnx(output_file, model, inputs)
    initializers = graph_initializers(output_file)
    parameters = {name for name, _ in model.named_parameters()}
    training_only = training_only_modules(model)
    return dict(
        config=config,
        params_m=count_params(model)['inference'] / 1e6,
        export_s=export_s,
        onnx_mb=onnx_size_mb(output_file),
        image=image,
        named_initializers=len(parameters.intersection(initializers)),
        training_only_modules=training_only,
        training_only_in_graph=training_only_in_graph(initializers,
                                                      training_only),
        **verified)


def _check_spec(spec: Dict[str, Any]) -> Dict[str, Any]:
    """The worker's measurement: :func:`check_one` of a JSON spec."""
    return check_one(**dict(spec, shape=tuple(spec['shape'])))


def check_exports(configs: Sequence[str],
                  shape: Tuple[int, int],
                  out_dir: str,
                  image: Optional[str] = None,
                  cfg_options: Optional[dict] = None,
                  log: Callable[[str], None] = print) -> List[Dict[str, Any]]:
    """:func:`check_one` of every config, each in a process of its own.

    Args:
        configs (Sequence[str]): Config files.
        shape (tuple[int, int]): Export size (H, W) of all.
        out_dir (str): Where ``<config stem>.onnx`` (and its JSON) go.
        image (str, optional): Verification image of all; default each
            config's first test image.
        cfg_options (dict, optional): Overrides of every config.
        log (Callable[[str], None]): Progress messages.

    Returns:
        list[dict]: One row per config, in order: :func:`check_one`'s
        fields and ``passed``; a failed config has ``passed=False`` and
        ``error`` (the worker's last line) instead.
    """
    from ..analysis.configs import config_stem

    os.makedirs(out_dir, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix='export_check_') as tmp:
        for i, config in enumerate(configs):
            stem = config_stem(config)
            log(f'[export] {i + 1}/{len(configs)} {stem}')
            spec = dict(
                config=config,
                shape=list(shape),
                output_file=osp.join(out_dir, f'{stem}.onnx'),
                image=image,
                cfg_options=cfg_options)
            try:
                row = run_json_worker(WORKER_MODULE, spec, tmp, stem)
            except WorkerError as error:
                rows.append(
                    dict(config=config, passed=False, error=error.lines[-1]))
                log(f'[export] FAILED: {rows[-1]["error"]}')
                continue
            row['passed'] = (not row['training_only_in_graph']
                             and row['named_initializers'] > 0)
            rows.append(row)
    return rows


def format_table(rows: Sequence[Dict[str, Any]], root: str = '') -> str:
    """A Markdown table of :func:`check_exports` rows.

    Args:
        rows (Sequence[dict]): The rows.
        root (str): Prefix removed from config paths. Defaults to ''.
    """
    from ..analysis.tables import fmt_number, markdown_table

    table = []
    for row in rows:
        config = row['config']
        if root and config.startswith(root):
            config = osp.relpath(config, root)
        if 'error' in row:
            table.append([
                config, '', '', '', '', '', '',
                'FAIL: ' + row['error'].replace('|', '/')
            ])
            continue
        table.append([
            config,
            fmt_number(row['params_m']),
            fmt_number(row['onnx_mb'], 1),
            fmt_number(row['export_s'], 0), f"{row['relative_error']:.1e}",
            f"{row['argmax_agreement']:.4%}",
            f"{len(row['training_only_in_graph'])} of "
            f"{len(row['training_only_modules'])} modules",
            'PASS' if row['passed'] else 'FAIL'
        ])
    return markdown_table([
        'Config', 'Params at inference (M)', 'ONNX (MB)', 'Export (s)',
        'Max rel. error', 'Argmax agreement', 'Training-only in graph',
        'Result'
    ], table)


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    serve_json_worker(sys.argv[1:], _check_spec)
