"""Parameters and FLOPs of segmentors, from their configs.

    python tools/analysis/params_flops.py CONFIG [CONFIG ...] [--shape 512 512]

For each config it builds the model (random init by default, so no weights
are downloaded; ``SyncBN`` reverted to ``BN``) and reports:

* ``params total``: every parameter of the built segmentor.
* ``params inference``: the parameters that the inference forward depends
  on. The rule: run the whole-image inference path
  (``model.encode_decode``: encoder(s), neck, decode head and the resize to
  the input size) in eval mode on a probe image and keep the parameters that
  receive a gradient from its output. Parameters that only training uses
  (auxiliary heads, contrastive projection heads, an unused classifier) get
  none and are listed as training-only.
* ``FLOPs``: of that inference forward at ``--shape``, counted by
  mmengine's ``FlopAnalyzer`` (jit trace; one multiply-add = one FLOP, the
  fvcore/mmengine convention also used by mmseg's ``get_flops.py``). Ops
  without a counter are named in the output.

``--json OUT`` writes the figures. The helpers (model building, parameter
and FLOP counting) are shared by ``benchmark.py`` and ``results_table.py``.
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import sys
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmseg_contrafusion.utils import strip_pretrained

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Ops that FlopAnalyzer leaves uncounted on purpose (fvcore convention:
# elementwise and pooling work is negligible next to convs and matmuls).
NEGLIGIBLE_OPS = {
    'aten::add', 'aten::add_', 'aten::sub', 'aten::mul', 'aten::mul_',
    'aten::div', 'aten::div_', 'aten::neg', 'aten::exp', 'aten::sqrt',
    'aten::rsqrt', 'aten::pow', 'aten::mean', 'aten::sum', 'aten::gelu',
    'aten::silu', 'aten::sigmoid', 'aten::tanh', 'aten::hardtanh',
    'aten::leaky_relu', 'aten::softmax', 'aten::log_softmax',
    'aten::dropout', 'aten::feature_dropout', 'aten::max_pool2d',
    'aten::avg_pool2d', 'aten::unflatten', 'aten::argmax', 'aten::norm',
    'aten::linalg_vector_norm', 'aten::clamp_min', 'aten::abs'
}

# Probe size for tracing which parameters the inference path uses. Which
# modules run does not depend on the image size for these models; a small
# probe keeps the backward pass cheap.
PROBE_SIZE = 64


# --------------------------------------------------------------------------
# configs and models
# --------------------------------------------------------------------------
def expand_configs(paths: Iterable[str]) -> List[str]:
    """Config files from files, folders (recursively) and glob patterns.

    Files under a ``_base_`` folder are skipped when a folder is given.
    """
    found: List[str] = []
    for path in paths:
        if osp.isdir(path):
            matches = sorted(
                p for p in glob.glob(osp.join(path, '**', '*.py'),
                                     recursive=True)
                if '_base_' not in p.split(os.sep))
            if not matches:
                raise FileNotFoundError(f'no config files (*.py) in {path}')
        elif any(ch in path for ch in '*?['):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise FileNotFoundError(f'no config matches {path}')
        elif osp.isfile(path):
            matches = [path]
        else:
            raise FileNotFoundError(
                f'config {path} does not exist (give config files, folders '
                'of configs or glob patterns)')
        for match in matches:
            if match not in found:
                found.append(match)
    return found


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Load a config (its ``custom_imports`` register the plugin)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def model_key(cfg) -> str:
    """A key that is equal for configs that build the same model."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else dict(
        model_cfg)
    # Preprocessing padding and test-time tiling do not change the network.
    model_cfg.pop('data_preprocessor', None)
    model_cfg.pop('test_cfg', None)
    model_cfg.pop('train_cfg', None)
    strip_pretrained(model_cfg)
    return json.dumps(model_cfg, sort_keys=True, default=str)


def quiet_logging() -> None:
    """Keep mmengine's INFO messages (weight init tables) off the output."""
    from mmengine.logging import MMLogger
    name = 'mmseg_contrafusion_analysis'
    if not MMLogger.check_instance_created(name):
        MMLogger.get_instance(name, log_level='WARNING')
    else:
        # Make it the current instance again.
        MMLogger.get_instance(name)


def build_model(cfg,
                random_init: bool = True,
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                init_weights: bool = True) -> nn.Module:
    """Build the segmentor of ``cfg`` for single-process inference.

    Args:
        cfg: A loaded config.
        random_init: Strip pretrained weights from the config and initialise
            randomly (no downloads).
        checkpoint: Optional weights to load after building.
        device: ``'cpu'`` or ``'cuda'``.
        init_weights: Run the models' own initialisers (``init_weights``);
            without, parameters keep PyTorch's default init (faster).
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS

    quiet_logging()
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    if random_init:
        strip_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    if init_weights and checkpoint is None:
        model.init_weights()
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model = revert_sync_batchnorm(model)
    model.cfg = cfg
    return model.to(device).eval()


def image_metas(height: int, width: int, batch: int = 1) -> List[dict]:
    """Meta information of ``batch`` unpadded images of one size."""
    meta = dict(
        ori_shape=(height, width),
        img_shape=(height, width),
        pad_shape=(height, width),
        padding_size=[0, 0, 0, 0],
        scale_factor=(1.0, 1.0),
        flip=False)
    return [dict(meta) for _ in range(batch)]


def inference_forward(model: nn.Module, inputs: torch.Tensor,
                      metas: Optional[List[dict]] = None) -> torch.Tensor:
    """Whole-image inference: logits at the input size, no test-time aug.

    ``encode_decode`` of mmseg segmentors runs the encoder(s), neck and decode
    head and resizes the logits to the image; training-only modules (e.g.
    auxiliary and contrastive heads) do not run.
    """
    if metas is None:
        metas = image_metas(*inputs.shape[-2:], batch=inputs.shape[0])
    return model.encode_decode(inputs, metas)


def encoder_forward(model: nn.Module, inputs: torch.Tensor):
    """The encoder part: ``model.extract_feat`` (every encoder and neck)."""
    return model.extract_feat(inputs)


def _tensors(output: Any) -> List[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    return []


# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------
def _collapse(names: Sequence[str], model: nn.Module) -> List[str]:
    """Smallest set of module paths whose parameters are exactly ``names``."""
    unused = set(names)
    modules = dict(model.named_modules())
    result: List[str] = []
    for name in sorted(unused):
        path = name.rsplit('.', 1)[0] if '.' in name else ''
        # Climb while every parameter of the parent module is unused.
        while path:
            parent = path.rsplit('.', 1)[0] if '.' in path else ''
            if not parent:
                break
            parent_params = [
                f'{parent}.{n}' for n, _ in modules[parent].named_parameters()
            ]
            if not all(p in unused for p in parent_params):
                break
            path = parent
        entry = path or name
        if not any(entry == r or entry.startswith(r + '.') for r in result):
            result = [r for r in result if not r.startswith(entry + '.')]
            result.append(entry)
    return sorted(result)


def count_params(model: nn.Module,
                 probe_shape: Tuple[int, int] = (PROBE_SIZE, PROBE_SIZE),
                 part: str = 'model') -> Dict[str, Any]:
    """Total and inference-time parameter counts (see the module doc).

    Args:
        model: A built segmentor.
        probe_shape: Size of the probe image (H, W).
        part: ``'model'`` (whole inference), ``'encoder'`` (what
            ``extract_feat`` uses) or ``'backbone:<name>'`` (that submodule
            alone, called on the image).

    Returns:
        dict: ``total``, ``inference``, ``training_only`` (counts) and
        ``training_only_modules`` (module paths of the unused parameters).
    """
    named = [(n, p) for n, p in model.named_parameters()]
    total = sum(p.numel() for _, p in named)
    flags = [p.requires_grad for _, p in named]
    was_training = model.training
    device = named[0][1].device if named else torch.device('cpu')
    model.eval()
    try:
        for _, p in named:
            p.requires_grad_(True)
        inputs = torch.randn(1, 3, *probe_shape, device=device)
        with torch.enable_grad():
            if part == 'model':
                outputs = inference_forward(model, inputs)
            elif part == 'encoder':
                outputs = encoder_forward(model, inputs)
            elif part.startswith('backbone:'):
                outputs = getattr(model, part.split(':', 1)[1])(inputs)
            else:
                raise ValueError(f'unknown part {part!r}')
            outputs = _tensors(outputs)
            scalar = sum(out.float().sum() for out in outputs)
            grads = torch.autograd.grad(
                scalar, [p for _, p in named], allow_unused=True)
    finally:
        for (_, p), flag in zip(named, flags):
            p.requires_grad_(flag)
        model.train(was_training)
    unused = [n for (n, _), g in zip(named, grads) if g is None]
    unused_set = set(unused)
    unused_count = sum(p.numel() for n, p in named if n in unused_set)
    return dict(
        total=total,
        inference=total - unused_count,
        training_only=unused_count,
        training_only_modules=_collapse(unused, model))


# --------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------
class _Part(nn.Module):
    """Wraps one forward path of a segmentor for jit-based analysis."""

    def __init__(self, model: nn.Module, part: str, shape: Tuple[int, int]):
        super().__init__()
        self.model = model
        self.part = part
        self.metas = image_metas(*shape)

    def forward(self, inputs: torch.Tensor):
        if self.part == 'encoder':
            return tuple(_tensors(encoder_forward(self.model, inputs)))
        return inference_forward(self.model, inputs, self.metas)


def _attention_flops(inputs, outputs) -> int:
    """aten::scaled_dot_product_attention: Q K^T and (softmax) V products."""
    from mmengine.analysis.jit_handles import get_shape
    q_shape = get_shape(inputs[0])
    k_shape = get_shape(inputs[1])
    v_shape = get_shape(inputs[2])
    batch = 1
    for dim in q_shape[:-2]:
        batch *= dim
    length, dim_qk = q_shape[-2:]
    source = k_shape[-2]
    dim_v = v_shape[-1]
    return batch * length * source * (dim_qk + dim_v)


def _baddbmm_flops(inputs, outputs) -> int:
    """aten::baddbmm(bias, a, b): the batched product a @ b."""
    from mmengine.analysis.jit_handles import get_shape
    a_shape = get_shape(inputs[1])
    b_shape = get_shape(inputs[2])
    n, c, t = a_shape
    return n * c * t * b_shape[-1]


def count_flops(model: nn.Module,
                shape: Tuple[int, int],
                part: str = 'model') -> Dict[str, Any]:
    """FLOPs of one forward path at ``shape`` (batch 1).

    Returns:
        dict: ``flops`` (int), ``unsupported_ops`` (op name -> count) and
        ``by_module`` (FLOPs of the segmentor's direct children).
    """
    from mmengine.analysis import FlopAnalyzer
    device = next(model.parameters()).device
    wrapper = _Part(model, part, shape).eval()
    inputs = torch.randn(1, 3, *shape, device=device)
    analyzer = FlopAnalyzer(wrapper, (inputs, ))
    analyzer.set_op_handle(
        **{
            'aten::scaled_dot_product_attention': _attention_flops,
            'aten::baddbmm': _baddbmm_flops,
        })
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
    by_module = {
        name[len('model.'):]: int(value)
        for name, value in analyzer.by_module().items()
        if name.startswith('model.') and name.count('.') == 1
    }
    unsupported = Counter()
    for name, ops in analyzer.unsupported_ops().items():
        unsupported[name] += ops
    return dict(
        flops=int(total),
        unsupported_ops=dict(unsupported),
        by_module=by_module)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
def fmt_count(value: Optional[float], unit: float = 1e6, digits: int = 2,
              suffix: str = 'M') -> str:
    if value is None:
        return 'n/a'
    return f'{value / unit:.{digits}f}{suffix}'


def markdown_table(header: Sequence[str],
                   rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def analyse_config(path: str,
                   shape: Tuple[int, int],
                   flops: bool = True,
                   random_init: bool = True,
                   cfg_options: Optional[dict] = None,
                   device: str = 'cpu') -> Dict[str, Any]:
    """Parameters (and FLOPs) of one config, as a JSON-ready dict."""
    cfg = load_config(path, cfg_options)
    # The values of the weights do not change the counts: skip the
    # (slow) model initialisers.
    model = build_model(
        cfg, random_init=random_init, device=device, init_weights=False)
    probe = (min(shape[0], PROBE_SIZE), min(shape[1], PROBE_SIZE))
    result: Dict[str, Any] = dict(
        config=path, shape=list(shape), params=count_params(model, probe))
    if flops:
        try:
            result['flops'] = count_flops(model, shape)
        except Exception as error:  # tracing can fail on exotic models
            result['flops'] = dict(
                flops=None, error=f'{type(error).__name__}: {error}')
    return result


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Parameters (total and inference-time) and FLOPs of '
        'segmentors')
    parser.add_argument(
        'configs', nargs='+', help='config files, folders or glob patterns')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[512, 512],
        help='input size H W (or one number for a square) for FLOPs')
    parser.add_argument(
        '--no-flops', action='store_true', help='only count parameters')
    parser.add_argument(
        '--no-random-init', dest='random_init', action='store_false',
        help='keep the pretrained init_cfg of the configs (downloads)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--json', help='write the figures to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, key=value pairs')
    return parser.parse_args(argv)


def parse_shape(values: Sequence[int]) -> Tuple[int, int]:
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return (values[0], values[1])
    raise SystemExit(f'--shape takes H W or one size, got {values}')


def main(argv=None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    shape = parse_shape(args.shape)
    results = []
    for path in expand_configs(args.configs):
        results.append(
            analyse_config(path, shape, not args.no_flops, args.random_init,
                           args.cfg_options, args.device))
    rows = []
    for r in results:
        p = r['params']
        f = r.get('flops', {})
        flops_str = ('-' if args.no_flops else fmt_count(
            f.get('flops'), 1e9, 1, 'G'))
        notes = []
        heavy = sorted(
            set(f.get('unsupported_ops') or {}) - NEGLIGIBLE_OPS)
        if heavy:
            notes.append('uncounted ops: ' + ', '.join(heavy))
        if f.get('error'):
            notes.append(f['error'])
        rows.append([
            osp.splitext(osp.basename(r['config']))[0],
            fmt_count(p['total']), fmt_count(p['inference']),
            ', '.join(p['training_only_modules']) or '-', flops_str,
            '; '.join(notes) or '-'
        ])
    print(markdown_table(
        ['Config', 'Params (total)', 'Params (inference)',
         'Training-only modules', f'FLOPs @ {shape[0]}x{shape[1]}', 'Notes'],
        rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(shape=list(shape), results=results), f, indent=2)
        print(f'wrote {args.json}')
    return results


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
