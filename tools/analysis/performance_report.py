r"""ContraFusionNet performance report: inference, training, data loading.

    python tools/analysis/performance_report.py \
        [--quick] [--device cpu|cuda] [--threads N] [--runs 3] [--warmup 1] \
        [--sections inference training data] [--profile] \
        [--config ROLE=PATH ...] [--data-root DIR] \
        [--out work_dirs/performance/report.json] [--md docs/performance.md]

One run measures everything the ratios need, so every ratio compares
figures taken under the same machine load:

* **inference** (``benchmark.run_benchmark``, interleaved rounds, batch 1,
  512x512): ContraFusionNet's whole-image inference (``model``) and each of
  its encoders alone (``backbone:backbone`` = the MiT,
  ``backbone:cnn_backbone`` = the ResNet), its ``-nocontrast`` ablation,
  PSPNet R50-D8 and SegFormer with the same MiT. Ratios: model / (MiT alone
  + ResNet alone), model / PSPNet, model / SegFormer, model / no-contrast
  ablation. Besides, forward hooks on every training-only module
  (projection heads, CAC branch, losses, auxiliary heads such as MS/CS, and
  whatever gets no gradient from the inference output) count how often they
  run during inference: the target is 0.
* **training** (``benchmark_train.run_benchmark``, interleaved steps, batch
  of the config's ``train_dataloader``, 512x512 and 512x1024): the training
  step (forward, losses, backward, AdamW step) of ContraFusionNet with the
  cross-encoder contrast, with CAC, with MS/CS, each divided by the same
  model with CE + Dice only (the ``-nocontrast`` config). Peak memory of a
  step: the model's parameters, buffers and optimizer state plus the most
  tensor memory the step allocates at once (CPU: the CPU allocator's live
  bytes from ``torch.profiler``; CUDA: ``max_memory_allocated``);
  deterministic, unlike the process RSS.
* **data** (``benchmark_dataloader.run_benchmark``): images per second of
  the config's training loader with its default workers, over the real
  Cityscapes root when present, else generated street scenes at Cityscapes'
  2048x1024, against the images per second the training step (measured
  above, same crop) consumes.

Time basis of the targets: the fastest of the interleaved timed runs of
each model (wall clock). Other processes only ever add time, so on a shared
machine the minimum is the best estimate of a model's own cost, and the
interleaving gives every model the same chances of a quiet moment. The
ratios of the median wall time and of the median process CPU time (all
threads) are reported beside it, in the tables and the JSON (keys ``min``,
``wall``, ``cpu``).

``--profile`` adds where the time goes: the top operators (self time,
``torch.profiler``) of one inference forward and of one training step of
each contrastive model next to the baseline, with the difference.

Writes the JSON (every figure, every run) and a Markdown report
(``--md``; ``docs/performance.md`` by default, ``--md ''`` to skip). Text
between ``<!-- notes:begin -->`` and ``<!-- notes:end -->`` of an existing
report is kept; ``--render JSON`` rewrites the Markdown of an earlier JSON
without measuring. ``--quick`` runs tiny configs at 64x64 (seconds; for
tests).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import re
import shlex
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bm  # noqa: E402
import benchmark_dataloader as bdl  # noqa: E402
import benchmark_train as bt  # noqa: E402
import params_flops as pf  # noqa: E402

SCHEMA = 'mmseg_contrafusion.performance_report/1'
REPO_ROOT = pf.REPO_ROOT
SECTIONS = ('inference', 'training', 'data')
ROLES = ('model', 'nocontrast', 'cac', 'mscs', 'pspnet', 'segformer')
ROLE_NAMES = dict(
    model='ContraFusionNet (cross-encoder contrast)',
    nocontrast='ContraFusionNet, CE + Dice only (-nocontrast)',
    cac='ContraFusionNet + CAC',
    mscs='ContraFusionNet + MS/CS',
    pspnet='PSPNet R50-D8',
    segformer='SegFormer, same MiT')
FULL_CONFIGS = dict(
    model='configs/contrafusionnet/'
    'contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    nocontrast='configs/contrafusionnet/contrafusionnet-nocontrast_'
    'mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    cac='configs/cac/'
    'contrafusionnet-cac_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    mscs='configs/mscs/'
    'contrafusionnet-mscs_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    pspnet='configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x512.py',
    segformer='configs/segformer/'
    'segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py')
TINY_CFN = ('configs/contrafusionnet/'
            'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
# --quick: the tiny configs, plus tiny baselines written to a temp folder.
QUICK_CONFIGS = dict(
    model=TINY_CFN,
    cac='configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py',
    mscs='configs/mscs/'
    'contrafusionnet-mscs_tiny_2xb2-400it_synthetic-256x256.py')
QUICK_GENERATED = {
    'nocontrast': ('contrafusionnet-nocontrast_tiny_2xb2-400it_'
                   'synthetic-256x256.py', """\
_base_ = '{root}/{tiny}'
model = dict(decode_head=dict(loss_contrast=None))
"""),
    'pspnet': ('pspnet_tiny-r18-d8_synthetic-64x64.py', """\
_base_ = '{root}/configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(depth=18, stem_channels=16, base_channels=16,
                  init_cfg=None),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
"""),
    'segformer': ('segformer_tiny-mit_synthetic-64x64.py', """\
_base_ = ('{root}/configs/segformer/'
          'segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py')
model = dict(
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], mlp_ratio=2,
                  drop_path_rate=0.0),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=32))
"""),
}
FULL_SETTINGS = dict(
    inference_shape=(512, 512),
    train_shapes=((512, 512), (512, 1024)),
    runs=3,
    warmup=1,
    loader_batches=30,
    loader_warmup=2,
    hook_probe=(64, 64),
    profile_top=12)
QUICK_SETTINGS = dict(
    inference_shape=(64, 64),
    train_shapes=((64, 64), (64, 128)),
    runs=2,
    warmup=1,
    loader_batches=4,
    loader_warmup=1,
    hook_probe=(64, 64),
    profile_top=5)
TARGETS = dict(
    model_over_encoders=1.15,
    model_over_pspnet=0.80,
    contrast_time=1.10,
    cac_time=1.15,
    peak_mem=1.10,
    loader_over_step=2.0)
# Modules that only training uses, by class name (and every *Loss).
TRAINING_ONLY_TYPES = ('ProjectionHead', 'CACBranch',
                       'MultiScaleContrastHead')
TRAINING_ONLY_PATHS = ('auxiliary_head', )
NOTES_BEGIN = '<!-- notes:begin -->'
NOTES_END = '<!-- notes:end -->'


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------
def _repo_path(path: str) -> str:
    return path if osp.isabs(path) else osp.join(REPO_ROOT, path)


def role_configs(quick: bool,
                 overrides: Optional[Dict[str, str]] = None,
                 folder: Optional[str] = None) -> Dict[str, str]:
    """Config path of every role (``--config ROLE=PATH`` overrides).

    ``quick`` writes the tiny baselines that have no config of their own
    into ``folder`` (a new temporary folder by default).
    """
    if quick:
        configs = {k: _repo_path(v) for k, v in QUICK_CONFIGS.items()}
        folder = folder or tempfile.mkdtemp(prefix='perf_quick_configs_')
        os.makedirs(folder, exist_ok=True)
        for role, (name, text) in QUICK_GENERATED.items():
            path = osp.join(folder, name)
            with open(path, 'w') as f:
                f.write(text.format(root=REPO_ROOT, tiny=TINY_CFN))
            configs[role] = path
    else:
        configs = {k: _repo_path(v) for k, v in FULL_CONFIGS.items()}
    for role, path in (overrides or {}).items():
        if role not in ROLES:
            raise SystemExit(f'--config {role}=...: unknown role; choose '
                             f'from {", ".join(ROLES)}')
        configs[role] = path
    for role, path in configs.items():
        if not osp.isfile(path):
            raise SystemExit(f'config of {role} not found: {path}')
    return {role: configs[role] for role in ROLES}


def train_batch_size(config: str) -> int:
    """Images per GPU of a config's training loader."""
    return int(pf.load_config(config).train_dataloader.get('batch_size', 1))


def _stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------
def _row(rows: Sequence[dict], config: str, part: str = 'model') -> dict:
    row = bm.find_row(rows, config, part)
    if row is None or 'median_s' not in row:
        error = (row or {}).get('error', 'not measured')
        raise RuntimeError(f'{_stem(config)} {part}: {error}')
    return row


BASES = ('min', 'wall', 'cpu')


def _times(row: dict) -> Dict[str, float]:
    """Seconds of a result row on each basis (see :func:`time_basis`)."""
    return dict(
        min=row['min_s'], wall=row['median_s'], cpu=row.get('cpu_median_s'))


def _ratio(num: Dict[str, float], den: Dict[str, float]) -> Dict[str, float]:
    return {
        basis: num[basis] / den[basis]
        for basis in BASES if num.get(basis) and den.get(basis)
    }


def inference_ratios(result: Dict[str, Any],
                     configs: Dict[str, str]) -> Dict[str, Any]:
    """The inference ratios from a ``benchmark.run_benchmark`` result."""
    rows = result['results']
    model = _times(_row(rows, configs['model']))
    mit = _times(_row(rows, configs['model'], 'backbone:backbone'))
    cnn = _times(_row(rows, configs['model'], 'backbone:cnn_backbone'))
    encoders = {
        basis: mit[basis] + cnn[basis]
        for basis in BASES if mit.get(basis) and cnn.get(basis)
    }
    out: Dict[str, Any] = dict(
        model_s=model,
        transformer_encoder_s=mit,
        cnn_encoder_s=cnn,
        encoders_s=encoders,
        model_over_encoders=_ratio(model, encoders),
        decoder_share={
            basis: 1 - encoders[basis] / model[basis]
            for basis in encoders if model.get(basis)
        })
    for role in ('pspnet', 'segformer', 'nocontrast'):
        other = _times(_row(rows, configs[role]))
        out[f'{role}_s'] = other
        out[f'model_over_{role}'] = _ratio(model, other)
    return out


def training_only_modules(model: torch.nn.Module,
                          probe: Tuple[int, int] = (64, 64)) -> List[str]:
    """Paths of the modules that inference should never run.

    The union of: modules of a training-only class (projection heads, the
    CAC branch, MS/CS heads, every ``*Loss``), everything under an
    ``auxiliary_head``, and the modules whose parameters get no gradient
    from the inference output (``params_flops.count_params``).
    """
    found = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if not name:
            continue
        if (kind in TRAINING_ONLY_TYPES or kind.endswith('Loss')
                or name.split('.')[0] in TRAINING_ONLY_PATHS):
            found.append(name)
    found += pf.count_params(model, probe)['training_only_modules']
    # Keep the outermost paths only.
    unique: List[str] = []
    for name in sorted(set(found)):
        if not any(name.startswith(u + '.') for u in unique):
            unique.append(name)
    return unique


def count_calls(model: torch.nn.Module, names: Sequence[str],
                fn: Callable[[], Any]) -> Dict[str, int]:
    """How often each module in ``names`` (or a submodule) runs in ``fn``."""
    modules = dict(model.named_modules())
    calls = {name: 0 for name in names}
    handles = []
    for name in names:
        for sub_name, sub in modules[name].named_modules():

            def hook(module, args, name=name):
                calls[name] += 1

            handles.append(sub.register_forward_pre_hook(hook))
    try:
        fn()
    finally:
        for handle in handles:
            handle.remove()
    return calls


def inference_hook_check(config: str,
                         probe: Tuple[int, int] = (64, 64),
                         device: str = 'cpu') -> Dict[str, Any]:
    """Training-only modules that run during inference (should be none).

    Builds the model of ``config`` (random init), runs whole-image inference
    (``encode_decode``) and ``predict`` on a ``probe``-sized image with
    forward hooks on every training-only module, then one ``loss`` call in
    training mode to show that the same hooks do fire when the modules run.

    Returns:
        dict: ``modules`` (the hooked paths), ``inference_calls`` (per
        path, during inference), ``training_calls`` (per path, during
        ``loss``), ``inference_total`` and ``training_total``.
    """
    cfg = pf.load_config(config)
    model = pf.build_model(cfg, device=device)
    names = training_only_modules(model, probe)
    torch.manual_seed(0)
    inputs = torch.randn(1, 3, *probe, device=device)
    metas = pf.image_metas(*probe)

    def infer():
        with torch.inference_mode():
            pf.inference_forward(model, inputs, metas)
            from mmseg.structures import SegDataSample
            sample = SegDataSample()
            sample.set_metainfo(metas[0])
            model.predict(inputs, [sample])

    inference_calls = count_calls(model, names, infer)
    data = bt.random_batch(model, 2, probe,
                           int(model.decode_head.num_classes), device)
    model.train()

    def train():
        # The probe size as it is (the data preprocessor would pad it to
        # the config's crop).
        images = (torch.stack(data['inputs']).float() - 128.0) / 64.0
        model.loss(images, data['data_samples'])

    training_calls = count_calls(model, names, train)
    return dict(
        config=config,
        name=_stem(config),
        probe=list(probe),
        modules=names,
        inference_calls=inference_calls,
        training_calls=training_calls,
        inference_total=sum(inference_calls.values()),
        training_total=sum(training_calls.values()))


def run_inference(configs: Dict[str, str], settings: Dict[str, Any],
                  device: str, threads: Optional[int],
                  log: Callable[[str], None]) -> Dict[str, Any]:
    """The inference section (see the module doc)."""
    shape = tuple(settings['inference_shape'])
    log(f'[performance] inference at {shape[0]}x{shape[1]}')
    result = bm.run_benchmark(
        [configs[r] for r in ('model', 'nocontrast', 'pspnet', 'segformer')],
        shape,
        parts=('model', ),
        runs=settings['runs'],
        warmup=settings['warmup'],
        device=device,
        threads=threads,
        baseline=configs['model'],
        with_params=not settings['quick'],
        with_memory=False,
        log=log,
        # Each encoder alone: only those of ContraFusionNet are needed.
        config_parts={configs['model']: ('model', 'backbone')})
    section = dict(
        shape=list(shape), benchmark=result,
        ratios=inference_ratios(result, configs))
    log('[performance] training-only modules at inference (forward hooks)')
    section['hooks'] = [
        inference_hook_check(configs[role], tuple(settings['hook_probe']),
                             device) for role in ('model', 'cac', 'mscs')
    ]
    return section


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
def resident_bytes(step: 'bt.TrainStep') -> int:
    """Parameters, buffers, optimizer state and gradients held by a model."""
    seen = set()
    total = 0

    def add(tensor):
        nonlocal total
        if isinstance(tensor, torch.Tensor) and id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()

    for tensor in list(step.model.parameters()) + list(step.model.buffers()):
        add(tensor)
        add(getattr(tensor, 'grad', None))
    optimizer = step.optim_wrapper.optimizer
    for state in optimizer.state.values():
        for value in state.values():
            add(value)
    return total


def step_peak_memory(step: 'bt.TrainStep') -> Dict[str, Any]:
    """Peak memory of one more training step (see the module doc).

    Returns:
        dict: ``resident_mb`` (parameters, buffers, optimizer state),
        ``step_alloc_mb`` (the most tensor memory the step had allocated at
        once on top of that), ``peak_alloc_mb`` (their sum) and the method.
    """
    resident = resident_bytes(step)
    if step.device.startswith('cuda'):
        dev = torch.device(step.device)
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        step()
        torch.cuda.synchronize(dev)
        step_mb = (torch.cuda.max_memory_allocated(dev) - before) / 2**20
        method = ('parameters + buffers + optimizer state + (CUDA '
                  'max_memory_allocated during a step - allocated before)')
    else:
        step_mb = bt.tensor_peak_mb(step)
        method = ('parameters + buffers + optimizer state + peak CPU tensor '
                  'bytes allocated during a step (torch.profiler)')
    return dict(
        resident_mb=resident / 2**20,
        step_alloc_mb=step_mb,
        peak_alloc_mb=resident / 2**20 + step_mb,
        alloc_method=method)


def _add_memory(step: 'bt.TrainStep', row: dict) -> None:
    row.update(step_peak_memory(step))


def training_ratios(result: Dict[str, Any],
                    configs: Dict[str, str]) -> Dict[str, Any]:
    """Ratios of each contrastive model to the CE + Dice baseline."""
    rows = result['results']

    def row_of(role: str) -> dict:
        row = bt.find_row(rows, configs[role])
        if row is None or 'median_s' not in row:
            error = (row or {}).get('error', 'not measured')
            raise RuntimeError(f'{_stem(configs[role])}: {error}')
        return row

    base = row_of('nocontrast')
    out: Dict[str, Any] = dict(
        baseline=dict(
            name=base['name'], step_s=_times(base),
            peak_alloc_mb=base.get('peak_alloc_mb'),
            step_alloc_mb=base.get('step_alloc_mb')))
    for role in ('model', 'cac', 'mscs'):
        row = row_of(role)
        entry: Dict[str, Any] = dict(
            name=row['name'],
            step_s=_times(row),
            time=_ratio(_times(row), _times(base)),
            peak_alloc_mb=row.get('peak_alloc_mb'),
            step_alloc_mb=row.get('step_alloc_mb'))
        if row.get('peak_alloc_mb') and base.get('peak_alloc_mb'):
            entry['peak_mem'] = row['peak_alloc_mb'] / base['peak_alloc_mb']
        if row.get('step_alloc_mb') and base.get('step_alloc_mb'):
            entry['step_mem'] = row['step_alloc_mb'] / base['step_alloc_mb']
        out[role] = entry
    return out


def run_training(configs: Dict[str, str], settings: Dict[str, Any],
                 batch: int, device: str, threads: Optional[int],
                 log: Callable[[str], None]) -> Dict[str, Any]:
    """The training section: one interleaved benchmark per shape."""
    section: Dict[str, Any] = dict(batch=batch, shapes={})
    for shape in settings['train_shapes']:
        key = f'{shape[0]}x{shape[1]}'
        log(f'[performance] training steps at {key}, batch {batch}')
        result = bt.run_benchmark(
            [configs[r] for r in ('model', 'cac', 'mscs', 'nocontrast')],
            shape=tuple(shape),
            batch=batch,
            warmup=settings['warmup'],
            runs=settings['runs'],
            device=device,
            threads=threads,
            baseline=configs['nocontrast'],
            interleave=True,
            with_memory=False,
            log=log,
            after=_add_memory)
        section['shapes'][key] = dict(
            shape=list(shape), benchmark=result,
            ratios=training_ratios(result, configs))
    return section


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def run_data(configs: Dict[str, str],
             settings: Dict[str, Any],
             training: Optional[Dict[str, Any]],
             quick: bool,
             data_root: Optional[str],
             log: Callable[[str], None],
             scratch: Optional[str] = None) -> Dict[str, Any]:
    """The data section: loader throughput vs the measured step rate.

    Without data (see ``benchmark_dataloader``), ``quick`` generates small
    images in ``scratch``; otherwise Cityscapes-size ones in ``data/``.
    """
    config = configs['model']
    step_time = step_shape = None
    if training:
        crop = bdl.crop_size(pf.load_config(config))
        shapes = training['shapes']
        key = f'{crop[0]}x{crop[1]}' if crop else None
        if key not in shapes:
            key = next(iter(shapes))
        row = bt.find_row(shapes[key]['benchmark']['results'], config)
        if row and 'median_s' in row:
            # The fastest step: the strictest comparison for the loader.
            step_time, step_shape = row['min_s'], key
    result = bdl.run_benchmark(
        config,
        data_root=data_root,
        batches=settings['loader_batches'],
        warmup=settings['loader_warmup'],
        step_time=step_time,
        synthetic_size=(256, 128) if quick else (2048, 1024),
        synthetic_images=4 if quick else 8,
        synthetic_dir=(osp.join(scratch or tempfile.gettempdir(),
                                'synthetic_cityscapes') if quick else None),
        log=log)
    result['step_shape'] = step_shape
    return result


# --------------------------------------------------------------------------
# profiling
# --------------------------------------------------------------------------
def top_ops(fn: Callable[[], Any], top: int,
            device: str) -> Tuple[List[Dict[str, Any]], float]:
    """Operators of one call of ``fn`` by self time; and the total (ms)."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
        bm._sync(device)
    attr = ('self_device_time_total'
            if device.startswith('cuda') else 'self_cpu_time_total')
    averages = prof.key_averages()
    ops = sorted(
        (dict(op=a.key, ms=getattr(a, attr) / 1e3, calls=a.count)
         for a in averages), key=lambda o: -o['ms'])
    total = sum(o['ms'] for o in ops)
    return ops[:max(top, 0)] if top else ops, total


def run_profile(configs: Dict[str, str], settings: Dict[str, Any],
                batch: int, device: str,
                log: Callable[[str], None]) -> Dict[str, Any]:
    """Top operators of inference and of each model's training step."""
    top = settings['profile_top']
    out: Dict[str, Any] = dict(top=top)
    shape = tuple(settings['inference_shape'])
    log(f'[performance] profiling inference at {shape[0]}x{shape[1]}')
    model = pf.build_model(pf.load_config(configs['model']), device=device)
    inputs = torch.randn(1, 3, *shape, device=device)
    metas = pf.image_metas(*shape)
    with torch.inference_mode():
        pf.inference_forward(model, inputs, metas)
        ops, total = top_ops(
            lambda: pf.inference_forward(model, inputs, metas), top, device)
        modules = module_times(model, inputs, metas, device)
    out['inference'] = dict(
        shape=list(shape), total_ms=total, ops=ops, modules=modules)
    del model
    shape = tuple(settings['train_shapes'][0])
    log(f'[performance] profiling training steps at {shape[0]}x{shape[1]}')
    train: Dict[str, Any] = dict(shape=list(shape), models={})
    all_ops: Dict[str, Dict[str, float]] = {}
    for role in ('nocontrast', 'model', 'cac', 'mscs'):
        step = bt.TrainStep(
            configs[role], shape=shape, batch=batch, device=device)
        step()
        ops, total = top_ops(step, 0, device)
        all_ops[role] = {o['op']: o['ms'] for o in ops}
        train['models'][role] = dict(
            name=_stem(configs[role]), total_ms=total, ops=ops[:top])
        del step
    base = all_ops['nocontrast']
    for role in ('model', 'cac', 'mscs'):
        mine = all_ops[role]
        delta = sorted(
            ((op, mine.get(op, 0.0) - base.get(op, 0.0))
             for op in set(mine) | set(base)), key=lambda d: -d[1])
        train['models'][role]['extra_ops'] = [
            dict(op=op, ms=ms) for op, ms in delta[:top] if ms > 0
        ]
    out['training'] = train
    return out


def module_times(model: torch.nn.Module, inputs: torch.Tensor,
                 metas: List[dict], device: str) -> List[Dict[str, Any]]:
    """Wall time of the main parts of one inference forward (ms).

    Timed with forward hooks on the segmentor's children and on the decode
    head's children (the elements of a ``ModuleList`` summed under its
    name); ``other`` is the rest (resizes, concatenation, glue).
    """
    targets = [(n, m) for n, m in model.named_children()
               if n not in ('data_preprocessor', 'auxiliary_head')]
    head = getattr(model, 'decode_head', None)
    if head is not None:
        targets = [(n, m) for n, m in targets if n != 'decode_head'] + [
            (f'decode_head.{n}', m) for n, m in head.named_children()
            if not n.startswith('loss')
        ]
    # A ModuleList is never called itself: time its elements under its name.
    targets = [(n, sub) for n, m in targets
               for sub in (list(m) if isinstance(m, torch.nn.ModuleList)
                           else [m])]
    spent = {name: 0.0 for name, _ in targets}
    starts: Dict[int, float] = {}
    handles = []
    for name, module in targets:

        def pre(module, args):
            bm._sync(device)
            starts[id(module)] = time.perf_counter()

        def post(module, args, output, name=name):
            bm._sync(device)
            spent[name] += time.perf_counter() - starts.pop(id(module))

        handles += [module.register_forward_pre_hook(pre),
                    module.register_forward_hook(post)]
    try:
        total = bm.time_call(
            lambda: pf.inference_forward(model, inputs, metas), device)
    finally:
        for handle in handles:
            handle.remove()
    rows = [dict(part=n, ms=s * 1e3) for n, s in spent.items() if s > 0]
    rows.append(dict(part='other', ms=(total - sum(spent.values())) * 1e3))
    rows.append(dict(part='total', ms=total * 1e3))
    return rows


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def time_basis(device: str) -> str:
    """The time the targets are judged on: ``'min'``, on every device.

    The fastest of the interleaved timed runs (wall clock): other processes
    only ever add time, so on a shared machine the minimum is the best
    estimate of what a model costs, and every model had the same chances
    of a quiet moment. The medians (wall and CPU time) are reported beside.
    """
    return 'min'


def _check(what: str, value: Optional[float], op: str,
           target: Optional[float],
           detail: str = '', ratios: Optional[Dict[str, float]] = None
           ) -> dict:
    if value is None or target is None:
        passed = None
    else:
        passed = value <= target if op == '<=' else (
            value >= target if op == '>=' else value == target)
    status = ('INFO' if target is None else
              '-' if passed is None else ('PASS' if passed else 'MISS'))
    return dict(
        what=what, value=value, op=op, target=target, passed=passed,
        status=status, detail=detail, ratios=ratios or {})


def build_checks(report: Dict[str, Any]) -> List[dict]:
    """Every target of the issue with its measured value and verdict."""
    basis = time_basis(report['settings']['device'])
    checks: List[dict] = []
    inference = report.get('inference')
    if inference:
        r = inference['ratios']
        shape = 'x'.join(map(str, inference['shape']))
        checks.append(_check(
            f'inference {shape}: ContraFusionNet / (MiT alone + ResNet '
            'alone)', r['model_over_encoders'].get(basis), '<=',
            TARGETS['model_over_encoders'],
            ratios=r['model_over_encoders']))
        checks.append(_check(
            f'inference {shape}: ContraFusionNet / PSPNet R50-D8',
            r['model_over_pspnet'].get(basis), '<=',
            TARGETS['model_over_pspnet'],
            ratios=r['model_over_pspnet']))
        calls = sum(h['inference_total'] for h in inference['hooks'])
        checks.append(_check(
            'inference: training-only module calls (projection heads, CAC, '
            'MS/CS, losses)', calls, '==', 0,
            detail=', '.join(
                f"{h['name']}: {len(h['modules'])} modules, "
                f"{h['training_total']} calls in training"
                for h in inference['hooks'])))
    training = report.get('training')
    if training:
        for key, entry in training['shapes'].items():
            r = entry['ratios']
            for role, target in (('model', TARGETS['contrast_time']),
                                 ('cac', TARGETS['cac_time'])):
                label = ('cross-encoder contrast' if role == 'model' else
                         'CAC (+ cross-encoder contrast)')
                checks.append(_check(
                    f'training {key}: step with {label} / CE + Dice',
                    r[role]['time'].get(basis), '<=', target,
                    ratios=r[role]['time']))
            checks.append(_check(
                f'training {key}: step with MS/CS (+ cross-encoder '
                'contrast) / CE + Dice', r['mscs']['time'].get(basis), '',
                None, detail='measured; the issue sets no target',
                ratios=r['mscs']['time']))
            for role, label in (('model', 'cross-encoder contrast'),
                                ('cac', 'CAC'), ('mscs', 'MS/CS')):
                checks.append(_check(
                    f'training {key}: peak memory with {label} / CE + Dice',
                    r[role].get('peak_mem'), '<=', TARGETS['peak_mem'],
                    detail=(f"step allocations x{r[role]['step_mem']:.2f}"
                            if r[role].get('step_mem') else '')))
    data = report.get('data')
    if data and 'loader_over_step' in data:
        checks.append(_check(
            f"data: loader images/s ({data['num_workers']} workers) / "
            f"training step images/s ({data['step_shape']})",
            data['loader_over_step'], '>=', TARGETS['loader_over_step']))
    return checks


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def _fmt(value: Optional[float], digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def format_checks(report: Dict[str, Any]) -> str:
    header = ['Target', 'Measured', 'Median wall', 'Median CPU', 'Limit',
              'Result', 'Note']
    rows = []
    for c in report['checks']:
        value = c['value']
        measured = (str(value) if isinstance(value, int) else _fmt(value))
        ratios = c.get('ratios') or {}
        rows.append([
            c['what'], measured,
            _fmt(ratios['wall']) if 'wall' in ratios else '',
            _fmt(ratios['cpu']) if 'cpu' in ratios else '',
            '-' if c['target'] is None else f"{c['op']} {c['target']:g}",
            c['status'], c.get('detail', '')
        ])
    note = ('Time ratios: "Measured" divides the fastest of the interleaved '
            'timed runs of each model (other processes only add time); the '
            'ratios of the median wall time and of the median process CPU '
            'time (all threads) are beside it. Memory ratios are '
            'deterministic.')
    return pf.markdown_table(header, rows) + '\n\n' + note


def format_inference(section: Dict[str, Any]) -> str:
    r = section['ratios']
    lines = [bm.format_table(section['benchmark']), '']
    rows = []
    for key, label in (
            ('model_over_encoders', 'ContraFusionNet / (MiT + ResNet alone)'),
            ('model_over_pspnet', 'ContraFusionNet / PSPNet R50-D8'),
            ('model_over_segformer', 'ContraFusionNet / SegFormer, same MiT'),
            ('model_over_nocontrast',
             'ContraFusionNet / its -nocontrast ablation')):
        rows.append([label] + [_fmt(r[key].get(b)) for b in BASES])
    rows.append(['decoder share of ContraFusionNet inference'] +
                [_fmt(r['decoder_share'].get(b)) for b in BASES])
    lines.append(
        pf.markdown_table(
            ['Ratio', 'Fastest run', 'Median wall', 'Median CPU'], rows))
    lines.append('')
    hook_rows = [[
        h['name'], str(len(h['modules'])), str(h['inference_total']),
        str(h['training_total']), ', '.join(h['modules'])
    ] for h in section['hooks']]
    lines.append(
        pf.markdown_table([
            'Config', 'Training-only modules', 'Calls at inference',
            'Calls in a training forward', 'Modules'
        ], hook_rows))
    return '\n'.join(lines)


def format_training(section: Dict[str, Any]) -> str:
    parts = []
    for key, entry in section['shapes'].items():
        r = entry['ratios']
        rows = []
        base = r['baseline']
        rows.append([
            base['name'], _fmt(base['step_s']['min'], 2),
            _fmt(base['step_s']['wall'], 2),
            _fmt(base['step_s'].get('cpu'), 2), '1.00', '1.00', '1.00',
            _fmt(base.get('peak_alloc_mb'), 0), '1.00',
            _fmt(base.get('step_alloc_mb'), 0), '1.00'
        ])
        for role in ('model', 'cac', 'mscs'):
            e = r[role]
            rows.append([
                e['name'], _fmt(e['step_s']['min'], 2),
                _fmt(e['step_s']['wall'], 2),
                _fmt(e['step_s'].get('cpu'), 2)
            ] + [_fmt(e['time'].get(b)) for b in BASES] + [
                _fmt(e.get('peak_alloc_mb'), 0), _fmt(e.get('peak_mem')),
                _fmt(e.get('step_alloc_mb'), 0), _fmt(e.get('step_mem'))
            ])
        parts += [
            f'#### {key}, batch {section["batch"]}', '',
            pf.markdown_table([
                'Model', 'Fastest step (s)', 'Median wall (s)',
                'Median CPU (s)', 'x fastest', 'x median wall',
                'x median CPU', 'Peak mem (MB)', 'x peak', 'Step alloc (MB)',
                'x step alloc'
            ], rows), '',
            '<details><summary>benchmark_train table</summary>', '',
            bt.format_table(entry['benchmark']), '', '</details>', ''
        ]
    return '\n'.join(parts)


def format_data(data: Dict[str, Any]) -> str:
    return bdl.format_report(data)


def format_profile(profile: Dict[str, Any]) -> str:
    lines = []
    inf = profile.get('inference')
    if inf:
        shape = 'x'.join(map(str, inf['shape']))
        lines += [
            f'Inference of ContraFusionNet at {shape}, by part (forward '
            'hooks, one call):', '',
            pf.markdown_table(['Part', 'ms'], [[m['part'], _fmt(m['ms'], 1)]
                                              for m in inf['modules']]), '',
            f"Top operators by self time (total {inf['total_ms']:.0f} ms):",
            '',
            pf.markdown_table(['Operator', 'ms', 'Calls'],
                              [[o['op'], _fmt(o['ms'], 1),
                                str(o['calls'])] for o in inf['ops']]), ''
        ]
    train = profile.get('training')
    if train:
        shape = 'x'.join(map(str, train['shape']))
        lines.append(f'Training step at {shape}, operator self time '
                     '(one profiled step each):')
        lines.append('')
        for role, m in train['models'].items():
            lines.append(f"- {m['name']}: {m['total_ms']:.0f} ms")
        for role in ('model', 'cac', 'mscs'):
            m = train['models'].get(role)
            if not m or not m.get('extra_ops'):
                continue
            lines += [
                '', f"Operators with more time in {m['name']} than in the "
                'CE + Dice baseline:', '',
                pf.markdown_table(['Operator', '+ms'],
                                  [[o['op'], _fmt(o['ms'], 1)]
                                   for o in m['extra_ops']])
            ]
        lines.append('')
    return '\n'.join(lines)


def _old_notes(path: str) -> Optional[str]:
    if not path or not osp.isfile(path):
        return None
    with open(path) as f:
        text = f.read()
    match = re.search(
        re.escape(NOTES_BEGIN) + r'(.*?)' + re.escape(NOTES_END), text,
        re.S)
    return match.group(1) if match else None


def format_markdown(report: Dict[str, Any], notes: Optional[str]) -> str:
    env = report['env']
    settings = report['settings']
    where = (env.get('gpu') if settings['device'].startswith('cuda') else
             f"{env['cpu']}, {env['cpu_count']} cores, "
             f"{env['threads']} threads")
    load = env.get('load_average')
    lines = [
        '# Performance', '',
        'Generated by `tools/analysis/performance_report.py` on '
        f"{report['date']} in {report['elapsed_s'] / 60:.1f} min:", '',
        '```shell', report['command'], '```', '',
        f"Machine: {settings['device']} ({where}), torch {env['torch']}, "
        f"mmseg {env.get('mmseg')}, mmcv {env.get('mmcv')}, Python "
        f"{env['python']}" + (f'; load average {load[0]:.1f} at the end' if
                              load else '') + '.',
        f"Every ratio below divides two figures measured in this one run "
        f"({settings['warmup']} warm-up + {settings['runs']} timed runs "
        'each, models in interleaved rounds). Random init, random inputs; '
        'no data loading in the inference and training figures.', '',
        '## Targets', '', format_checks(report), ''
    ]
    if notes is None:
        notes = ('\n(Analysis: text between these markers is kept when the '
                 'report is regenerated.)\n')
    lines += [NOTES_BEGIN + notes + NOTES_END, '']
    if report.get('inference'):
        shape = 'x'.join(map(str, report['inference']['shape']))
        lines += [f'## Inference, {shape}', '',
                  format_inference(report['inference']), '']
    if report.get('training'):
        lines += ['## Training step', '',
                  'Peak memory: parameters, buffers and AdamW state plus the '
                  'most tensor memory a step allocates at once (CPU: '
                  'torch.profiler allocator events; CUDA: '
                  'max_memory_allocated). Step alloc: that second part '
                  'alone.', '',
                  format_training(report['training'])]
    if report.get('data'):
        lines += ['## Data pipeline', '', '```', format_data(report['data']),
                  '```', '']
    if report.get('profile'):
        lines += ['## Where the time goes (torch.profiler)', '',
                  format_profile(report['profile'])]
    lines += [
        '## Configs', '',
        pf.markdown_table(['Role', 'Config'], [[
            ROLE_NAMES[r],
            osp.relpath(p, REPO_ROOT) if p.startswith(REPO_ROOT) else p
        ] for r, p in report['configs'].items()]), ''
    ]
    return '\n'.join(lines)


def format_summary(report: Dict[str, Any]) -> str:
    """What the console shows at the end."""
    return '\n'.join(['', format_checks(report)])


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def run_report(quick: bool = False,
               sections: Sequence[str] = SECTIONS,
               device: str = 'cpu',
               threads: Optional[int] = None,
               runs: Optional[int] = None,
               warmup: Optional[int] = None,
               batch: Optional[int] = None,
               profile: bool = False,
               config_overrides: Optional[Dict[str, str]] = None,
               data_root: Optional[str] = None,
               command: Optional[str] = None,
               log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run the chosen sections; returns the report dict (the JSON).

    ``--quick`` writes its tiny configs (and, without data, small generated
    images) to a temporary folder removed at the end.
    """
    with tempfile.TemporaryDirectory(prefix='performance_report_') as tmp:
        return _run_report(quick, sections, device, threads, runs, warmup,
                           batch, profile, config_overrides, data_root,
                           command, log, tmp)


def _run_report(quick: bool, sections: Sequence[str], device: str,
                threads: Optional[int], runs: Optional[int],
                warmup: Optional[int], batch: Optional[int], profile: bool,
                config_overrides: Optional[Dict[str, str]],
                data_root: Optional[str], command: Optional[str],
                log: Callable[[str], None], scratch: str) -> Dict[str, Any]:
    """:func:`run_report` with a scratch folder for generated files."""
    start = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    settings = dict(QUICK_SETTINGS if quick else FULL_SETTINGS)
    if runs is not None:
        settings['runs'] = runs
    if warmup is not None:
        settings['warmup'] = warmup
    configs = role_configs(quick, config_overrides,
                           osp.join(scratch, 'configs'))
    batch = batch or train_batch_size(configs['model'])
    settings.update(
        device=device, quick=quick, batch=batch, sections=list(sections),
        threads=threads or torch.get_num_threads(),
        time_basis=time_basis(device))
    settings['inference_shape'] = list(settings['inference_shape'])
    settings['train_shapes'] = [list(s) for s in settings['train_shapes']]
    report: Dict[str, Any] = dict(
        schema=SCHEMA,
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        command=command or 'python tools/analysis/performance_report.py',
        settings=settings,
        configs=configs,
        targets=TARGETS)
    if 'inference' in sections:
        report['inference'] = run_inference(configs, settings, device,
                                            threads, log)
    if 'training' in sections:
        report['training'] = run_training(configs, settings, batch, device,
                                          threads, log)
    if 'data' in sections:
        report['data'] = run_data(configs, settings, report.get('training'),
                                  quick, data_root, log, scratch)
    if profile:
        report['profile'] = run_profile(configs, settings, batch, device,
                                        log)
    report['checks'] = build_checks(report)
    report['env'] = bm.environment(device)
    report['env']['threads'] = settings['threads']
    report['elapsed_s'] = time.perf_counter() - start
    return report


def _role_override(text: str) -> Tuple[str, str]:
    if '=' not in text:
        raise argparse.ArgumentTypeError(f'expected ROLE=PATH, got {text!r}')
    role, path = text.split('=', 1)
    return role, path


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ContraFusionNet performance report: inference latency '
        'ratios, training step time and memory ratios, data loader '
        'throughput; targets with PASS/MISS')
    parser.add_argument(
        '--quick', action='store_true',
        help='tiny configs at 64x64, few runs (a smoke test)')
    parser.add_argument(
        '--sections', nargs='+', default=list(SECTIONS), choices=SECTIONS,
        help='what to measure')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--threads', type=int, help='CPU threads (torch.set_num_threads)')
    parser.add_argument(
        '--runs', type=int, help='timed runs / steps (default 3; quick 2)')
    parser.add_argument(
        '--warmup', type=int, help='warm-up runs / steps (default 1)')
    parser.add_argument(
        '--batch', type=int,
        help='images per training step (default: the config\'s '
        'train_dataloader.batch_size)')
    parser.add_argument(
        '--profile', action='store_true',
        help='add the top operators of inference and of each training step')
    parser.add_argument(
        '--config', action='append', type=_role_override, default=[],
        metavar='ROLE=PATH',
        help=f'use another config for a role ({", ".join(ROLES)})')
    parser.add_argument(
        '--data-root', help='Cityscapes root for the loader benchmark '
        '(default: the config\'s if present, else generated data)')
    parser.add_argument(
        '--out', default='work_dirs/performance/report.json',
        help='JSON output')
    parser.add_argument(
        '--md', default='docs/performance.md',
        help='Markdown output (\'\' to skip)')
    parser.add_argument(
        '--render', metavar='JSON',
        help='measure nothing: write the Markdown (--md) of an earlier '
        'report JSON again, with its checks re-evaluated')
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error('--runs must be >= 1')
    if args.warmup is not None and args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def write_markdown(report: Dict[str, Any], path: str) -> None:
    """Write the Markdown report, keeping the notes of an existing one."""
    notes = _old_notes(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(format_markdown(report, notes))
    print(f'wrote {path}')


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            report = json.load(f)
        report['checks'] = build_checks(report)
        print(format_summary(report))
        if args.md:
            write_markdown(report, args.md)
        return report
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: CUDA is not available')
    shown = list(sys.argv[1:] if argv is None else argv)
    command = ' '.join(['python tools/analysis/performance_report.py'] +
                       [shlex.quote(a) for a in shown])
    report = run_report(
        quick=args.quick,
        sections=args.sections,
        device=args.device,
        threads=args.threads,
        runs=args.runs,
        warmup=args.warmup,
        batch=args.batch,
        profile=args.profile,
        config_overrides=dict(args.config),
        data_root=args.data_root,
        command=command,
        log=lambda msg: print(msg, file=sys.stderr))
    print(format_summary(report))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
        print(f'wrote {args.out}')
    if args.md:
        write_markdown(report, args.md)
    return report


if __name__ == '__main__':
    main()
