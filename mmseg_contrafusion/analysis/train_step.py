"""One model's training step on a fixed random batch, built and timed.

What is timed: ``model.train_step(data, optim_wrapper)``, i.e. the data
preprocessor (normalisation), the forward with every training loss, the
backward pass and the optimizer step, on a fixed batch of random images with
random labels (blocks of :data:`LABEL_BLOCK` pixels, one random class each,
so every class region is large enough for per-class samplers). The model's
data preprocessor pads to the measured shape exactly, so the network sees
that size whatever the config's crop size. No data loading.

Models are built with random init (no downloads) and SyncBN reverted to BN;
the optimizer is the config's ``optim_wrapper``. "Without contrast" is the
same model with its contrastive terms removed (:func:`strip_contrast`).
"""
import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .configs import config_stem, load_config
from .memory import step_memory
from .model_builders import build_model
from .timing import error_text, summarise_clocks, wall_and_cpu_time

NO_CONTRAST = ':no-contrast'
#: Keys set to None to remove the contrastive terms of a model config; those
#: in DEFAULT_NONE_KEYS default to None and are dropped instead, so that a
#: stripped config equals one that never had them.
CONTRAST_KEYS = ('loss_contrast', 'cac')
DEFAULT_NONE_KEYS = ('cac', )
#: Heads that exist only to add a contrastive term -> the head they extend.
CONTRAST_HEAD_TYPES = {'CACFCNHead': 'FCNHead'}
LABEL_BLOCK = 32


def strip_contrast(node: Any,
                   keys: Sequence[str] = CONTRAST_KEYS) -> List[str]:
    """Remove the contrastive terms of a model config, in place.

    Every ``keys`` entry becomes None (those in :data:`DEFAULT_NONE_KEYS`,
    whose default is None, are dropped), and heads of a type in
    :data:`CONTRAST_HEAD_TYPES` become that base type with the keys dropped.

    Args:
        node (dict | list): A model config or any part of one.
        keys (Sequence[str]): The contrastive keys.
            Defaults to :data:`CONTRAST_KEYS`.

    Returns:
        list[str]: Dotted paths of what was removed or changed.
    """
    removed: List[str] = []

    def visit(item: Any, path: str) -> None:
        if isinstance(item, dict):
            if item.get('type') in CONTRAST_HEAD_TYPES:
                removed.append(f"{path}.type={item['type']}")
                item['type'] = CONTRAST_HEAD_TYPES[item['type']]
                for key in keys:
                    if key in item:
                        item.pop(key)
                        removed.append(f'{path}.{key}')
            for key in list(item.keys()):
                if key in keys:
                    if item[key] is not None:
                        removed.append(f'{path}.{key}')
                    if key in DEFAULT_NONE_KEYS:
                        item.pop(key)
                    else:
                        item[key] = None
                else:
                    visit(item[key], f'{path}.{key}' if path else key)
        elif isinstance(item, (list, tuple)):
            for i, sub in enumerate(item):
                visit(sub, f'{path}[{i}]')

    visit(node, '')
    return removed


def variant_config(path: str,
                   without_contrast: bool,
                   shape: Tuple[int, int],
                   cfg_options: Optional[dict] = None):
    """The config of one measured model.

    Args:
        path (str): The config file.
        without_contrast (bool): Strip its contrastive terms.
        shape (tuple[int, int]): The measured size the preprocessor pads to.
        cfg_options (dict, optional): Config overrides.

    Returns:
        tuple: ``(cfg, removed)``, the config and what was stripped.
    """
    cfg = load_config(path, cfg_options)
    removed: List[str] = []
    if without_contrast:
        removed = strip_contrast(cfg.model)
    # Pad exactly to the measured size (the configs pad to their crop).
    preprocessor = cfg.model.get('data_preprocessor')
    if preprocessor is not None:
        preprocessor['size'] = tuple(shape)
        preprocessor.pop('size_divisor', None)
    return cfg, removed


def row_name(path: str, without_contrast: bool) -> str:
    """The row name: config stem, with :data:`NO_CONTRAST` if stripped."""
    return config_stem(path) + (NO_CONTRAST if without_contrast else '')


def random_batch(model: Any,
                 batch: int,
                 shape: Tuple[int, int],
                 num_classes: int,
                 device: str = 'cpu',
                 seed: int = 0) -> Dict[str, Any]:
    """``batch`` random uint8 images and block-wise random labels.

    Args:
        model: Not used (the signature other tools call).
        batch (int): Number of images.
        shape (tuple[int, int]): Image size (H, W).
        num_classes (int): Labels are in ``[0, num_classes)``.
        device (str): Device. Defaults to ``'cpu'``.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: ``inputs`` (uint8 tensors of shape (3, H, W)) and
        ``data_samples`` (``SegDataSample`` with ``gt_sem_seg`` of shape
        (1, H, W)), as ``model.train_step`` takes them.
    """
    from mmengine.structures import PixelData

    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    height, width = shape
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(
                0, 256, (3, height, width), generator=g,
                dtype=torch.uint8).to(device))
        blocks = torch.randint(
            0,
            num_classes,
            (1, 1, -(-height // LABEL_BLOCK), -(-width // LABEL_BLOCK)),
            generator=g)
        label = torch.nn.functional.interpolate(
            blocks.float(), scale_factor=LABEL_BLOCK,
            mode='nearest').long()[0, :, :height, :width]
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label.to(device))
        sample.set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class TrainStep:
    """One built model, its optimizer and a fixed random batch.

    Calling it runs one ``model.train_step``; :meth:`finish` makes the
    result row.

    Args:
        path (str): The config file.
        without_contrast (bool): Strip the contrastive terms.
            Defaults to False.
        shape (tuple[int, int]): Image size (H, W). Defaults to (512, 512).
        batch (int): Images per step. Defaults to 2.
        device (str): Device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        random_init (bool): No pretrained weights. Defaults to True.
        seed (int): Seed of the init and the batch. Defaults to 0.
    """

    def __init__(self,
                 path: str,
                 without_contrast: bool = False,
                 shape: Tuple[int, int] = (512, 512),
                 batch: int = 2,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 random_init: bool = True,
                 seed: int = 0) -> None:
        from mmengine.optim import build_optim_wrapper
        self.device = device
        self.row: Dict[str, Any] = dict(
            config=path,
            name=row_name(path, without_contrast),
            without_contrast=without_contrast)
        cfg, removed = variant_config(path, without_contrast, shape,
                                      cfg_options)
        if without_contrast:
            self.row['removed'] = removed
        torch.manual_seed(seed)
        self.model = build_model(cfg, random_init=random_init, device=device)
        self.model.train()
        self.row['params_m'] = sum(p.numel()
                                   for p in self.model.parameters()) / 1e6
        self.optim_wrapper = build_optim_wrapper(
            self.model, copy.deepcopy(cfg.optim_wrapper))
        num_classes = int(self.model.decode_head.num_classes)
        self.data = random_batch(self.model, batch, shape, num_classes, device,
                                 seed)
        self.log_vars: Dict[str, Any] = {}

    def __call__(self) -> None:
        self.log_vars = self.model.train_step(self.data, self.optim_wrapper)

    def timed(self) -> Tuple[float, float]:
        """Wall and CPU seconds of one step (synchronised on CUDA)."""
        return wall_and_cpu_time(self, self.device)

    def finish(self, times: Sequence[Tuple[float, float]],
               memory: Dict[str, Any]) -> dict:
        """The result row from the step times and the memory figures."""
        self.row.update(memory)
        if times:
            self.row.update(summarise_clocks(times))
        self.row['loss_keys'] = sorted(k for k in self.log_vars if 'loss' in k)
        self.row['last_losses'] = {
            k: float(v)
            for k, v in self.log_vars.items() if 'loss' in k
        }
        return self.row


def error_row(path: str, without_contrast: bool, error: BaseException) -> dict:
    """The row of a model that could not be measured."""
    return dict(
        config=path,
        name=row_name(path, without_contrast),
        without_contrast=without_contrast,
        error=error_text(error))


def measure(path: str,
            without_contrast: bool = False,
            shape: Tuple[int, int] = (512, 512),
            batch: int = 2,
            warmup: int = 2,
            runs: int = 5,
            device: str = 'cpu',
            threads: Optional[int] = None,
            cfg_options: Optional[dict] = None,
            random_init: bool = True,
            seed: int = 0) -> Dict[str, Any]:
    """Build one model and time its training step (one result row).

    ``warmup`` untimed steps, ``runs`` timed ones, then the memory of one
    more (:func:`.memory.step_memory`). Arguments as :class:`TrainStep`;
    ``threads`` sets ``torch.set_num_threads``. An error becomes the row's
    ``error``.
    """
    if threads:
        torch.set_num_threads(threads)
    try:
        step = TrainStep(path, without_contrast, shape, batch, device,
                         cfg_options, random_init, seed)
        for _ in range(warmup):
            step()
        times = [step.timed() for _ in range(runs)]
        return step.finish(times, step_memory(step, device))
    except Exception as error:  # report, keep measuring the others
        return error_row(path, without_contrast, error)


def measure_interleaved(
        specs: Sequence[Dict[str, Any]],
        warmup: int = 2,
        runs: int = 5,
        threads: Optional[int] = None,
        after: Optional[Callable[[TrainStep, dict],
                                 None]] = None) -> List[dict]:
    """Build every model, then time their steps in turns (one process).

    After each model's warm-up steps, the timed steps go round the models,
    ``runs`` rounds, each round starting one model later: a machine whose
    load changes during the run slows every model alike. No memory figures
    (models sharing a process share its allocator).

    Args:
        specs (Sequence[dict]): :class:`TrainStep` arguments, one per model.
        warmup (int): Untimed steps of each model. Defaults to 2.
        runs (int): Timed rounds. Defaults to 5.
        threads (int, optional): ``torch.set_num_threads``.
        after (Callable, optional): ``after(step, row)`` is called for each
            measured model once all timed steps are done, while the models
            still exist (e.g. to add figures measured on the built model to
            its row); an exception there becomes the row's ``after_error``.

    Returns:
        list[dict]: One row per spec, in order.
    """
    if threads:
        torch.set_num_threads(threads)
    steps: List[Optional[TrainStep]] = []
    rows: List[Optional[dict]] = []
    for spec in specs:
        try:
            steps.append(TrainStep(**spec))
            rows.append(None)
        except Exception as error:
            steps.append(None)
            rows.append(
                error_row(spec['path'], spec['without_contrast'], error))
    live = [i for i, step in enumerate(steps) if step is not None]
    for i in list(live):
        try:
            for _ in range(warmup):
                steps[i]()
        except Exception as error:
            rows[i] = error_row(specs[i]['path'], specs[i]['without_contrast'],
                                error)
            live.remove(i)
    times: Dict[int, List[Tuple[float, float]]] = {i: [] for i in live}
    for r in range(runs):
        for k in range(len(live)):
            i = live[(r + k) % len(live)]
            times[i].append(steps[i].timed())
    for i in live:
        rows[i] = steps[i].finish(times[i], {})
    if after is not None:
        for i in live:
            try:
                after(steps[i], rows[i])
            except Exception as error:
                rows[i]['after_error'] = error_text(error)
    return rows
