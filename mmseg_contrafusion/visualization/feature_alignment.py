"""Feature alignment of the two encoders of a ContraFusionNet model.

Projects the transformer's and the CNN's pixel embeddings (the training-only
projection heads of ``ContrastiveFusionHead``) of some validation images into
2-D with one PCA fitted on both streams, coloured by class, for a model before
training (random init, seeded as the Runner seeds it) and after (a
checkpoint). Points of one class from both streams fall together when the
contrastive alignment works. The titles give the mean cosine similarity of
the two streams' embeddings at the same pixel.
"""
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .palette import cityscapes_meta
from .utils import VisualizationInputError, save_figure, use_agg

Panel = Tuple[str, Dict[str, np.ndarray]]


def build_model(config: str, checkpoint: Optional[str], seed: int):
    """The model with random init (``checkpoint=None``) or trained weights.

    Args:
        config (str): ContraFusionNet config file.
        checkpoint (str, optional): Checkpoint to load strictly; None
            initialises the weights as the Runner does, after seeding.
        seed (int): Seed of the random init.

    Returns:
        tuple: The config (mmengine.Config) and the model (eval mode, BN
        instead of SyncBN).

    Raises:
        VisualizationInputError: If the head has no contrastive projection
            heads.
    """
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import load_checkpoint, set_random_seed

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    from ..utils.config_utils import strip_pretrained

    register_all_modules()
    cfg = Config.fromfile(config)
    strip_pretrained(cfg.model)
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        # init_weights logs every parameter at INFO; only the result matters.
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        model.init_weights()
        logger.setLevel(level)
    else:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model = revert_sync_batchnorm(model).eval()
    head = model.decode_head
    if not getattr(head, 'with_contrast', False):
        raise VisualizationInputError(
            f'{config}: the decode head has no contrastive projection heads '
            'to visualise (loss_contrast=None or a single-encoder model).')
    return cfg, model


def load_samples(cfg, data_root: str, split: str, num: int) -> dict:
    """The config's test pipeline on ``num`` images of a split.

    Args:
        cfg (mmengine.Config): The config (its ``test_dataloader``).
        data_root (str): Cityscapes-layout root.
        split (str): Split folder name.
        num (int): Number of images, spread evenly over the split.

    Returns:
        dict: The batch (``inputs``, ``data_samples``), as
        ``pseudo_collate`` gives it.
    """
    from mmengine.dataset import pseudo_collate

    from mmseg.registry import DATASETS

    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(
        data_root=data_root,
        data_prefix=dict(
            img_path=f'leftImg8bit/{split}', seg_map_path=f'gtFine/{split}'),
        ann_file='')
    dataset = DATASETS.build(dataset_cfg)
    indices = np.linspace(0, len(dataset) - 1, min(num, len(dataset)))
    return pseudo_collate([dataset[int(i)] for i in indices])


@torch.no_grad()
def embeddings(model, batch: dict,
               level: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pixel embeddings of both streams and the labels at their size.

    Args:
        model (nn.Module): A ContraFusionNet segmentor.
        batch (dict): A batch from :func:`load_samples`.
        level (int): Index into the head's ``contrast_levels``.

    Returns:
        tuple: transformer (N, D), CNN (N, D) and labels (N,) for every
        labelled pixel of the embedding maps.
    """
    data = model.data_preprocessor(batch, False)
    head = model.decode_head
    feats = head.fuse(model.extract_feat(data['inputs']))
    t_emb, c_emb = head.contrast.embed(feats.laterals)
    t_emb, c_emb = t_emb[level], c_emb[level]
    labels = torch.stack([
        sample.gt_sem_seg.data.long() for sample in data['data_samples']
    ]).float()
    labels = F.interpolate(labels, size=t_emb.shape[2:], mode='nearest')
    labels = labels.squeeze(1).long().flatten()
    t_flat = t_emb.permute(0, 2, 3, 1).reshape(-1, t_emb.shape[1])
    c_flat = c_emb.permute(0, 2, 3, 1).reshape(-1, c_emb.shape[1])
    keep = labels != 255
    return t_flat[keep], c_flat[keep], labels[keep]


def draw_points(t_emb: torch.Tensor, c_emb: torch.Tensor, labels: torch.Tensor,
                per_class: int, seed: int) -> Dict[str, np.ndarray]:
    """Draw up to ``per_class`` pixels of each class (same pixels in both).

    Args:
        t_emb (Tensor): Transformer embeddings, shape (N, D), L2-normalised.
        c_emb (Tensor): CNN embeddings of the same pixels, shape (N, D).
        labels (Tensor): Class of each pixel, shape (N,).
        per_class (int): Most pixels drawn per class.
        seed (int): Seed of the drawing.

    Returns:
        dict: ``transformer`` and ``cnn`` (the drawn embeddings, shape
        (M, D)), ``labels`` (shape (M,)) and ``cosine`` (float: the mean
        cosine similarity of the two streams over all N pixels).
    """
    generator = torch.Generator().manual_seed(seed)
    chosen: List[torch.Tensor] = []
    for cls in labels.unique():
        idx = torch.nonzero(labels == cls).flatten()
        perm = torch.randperm(len(idx), generator=generator)[:per_class]
        chosen.append(idx[perm])
    idx = torch.cat(chosen)
    return dict(
        transformer=t_emb[idx].numpy(),
        cnn=c_emb[idx].numpy(),
        labels=labels[idx].numpy(),
        cosine=float((t_emb * c_emb).sum(1).mean()))


def pca_2d(points: np.ndarray) -> np.ndarray:
    """Project rows onto their two leading principal components.

    Args:
        points (np.ndarray): Shape (N, D).

    Returns:
        np.ndarray: Shape (N, 2), centred.
    """
    centred = points - points.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_alignment(panels: Sequence[Panel], out: str, dpi: int = 100) -> None:
    """Scatter each panel's points in the PCA plane, coloured by class.

    Args:
        panels (Sequence[tuple[str, dict]]): (title, :func:`draw_points`)
            per subplot.
        out (str): Output PNG.
        dpi (int): Figure DPI. Defaults to 100.
    """
    plt = use_agg()
    meta = cityscapes_meta()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.5))
    axes = np.atleast_1d(axes)
    present = set()
    for ax, (title, pts) in zip(axes, panels):
        n = len(pts['labels'])
        xy = pca_2d(np.concatenate([pts['transformer'], pts['cnn']]))
        colours = np.array(meta['palette'])[pts['labels']] / 255.0
        ax.scatter(
            *xy[:n].T,
            c=colours,
            marker='o',
            s=14,
            alpha=0.8,
            edgecolors='none')
        ax.scatter(
            *xy[n:].T, c=colours, marker='x', s=14, alpha=0.8, linewidths=0.8)
        ax.set_title(
            f'{title}\nmean cosine(transformer, CNN) at the same '
            f'pixel: {pts["cosine"]:.2f}',
            fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        present.update(int(v) for v in np.unique(pts['labels']))
    from matplotlib.lines import Line2D
    handles = [
        Line2D([], [],
               marker='o',
               linestyle='',
               color='grey',
               label='transformer'),
        Line2D([], [], marker='x', linestyle='', color='grey', label='CNN')
    ] + [
        Line2D([], [],
               marker='s',
               linestyle='',
               color=np.array(meta['palette'][c]) / 255.0,
               label=meta['classes'][c]) for c in sorted(present)
    ]
    fig.legend(handles=handles, loc='center right', fontsize=8)
    fig.subplots_adjust(right=0.83)
    save_figure(fig, out, dpi)


def alignment_panels(config: str,
                     checkpoint: str,
                     data_root: str,
                     split: str = 'val',
                     num_images: int = 4,
                     points_per_class: int = 60,
                     level: int = 0,
                     seed: int = 0) -> List[Panel]:
    """The embedded points of a model before and after training.

    Args:
        config (str): ContraFusionNet config file.
        checkpoint (str): Its trained checkpoint ("after").
        data_root (str): Cityscapes-layout root (``leftImg8bit/``,
            ``gtFine/`` with labelTrainIds).
        split (str): Split folder name. Defaults to 'val'.
        num_images (int): Images to embed. Defaults to 4.
        points_per_class (int): Pixels drawn per class and stream.
            Defaults to 60.
        level (int): Index into the head's ``contrast_levels``. Defaults
            to 0.
        seed (int): Seed of the random init and of the drawing. Defaults
            to 0.

    Returns:
        list[tuple[str, dict]]: ('before training (random init)', points)
        and ('after training', points), as from :func:`draw_points`.

    Raises:
        VisualizationInputError: If a file or the split is missing, or the
            model has no contrastive projection heads.
    """
    for path in (config, checkpoint):
        if not osp.isfile(path):
            raise VisualizationInputError(
                f'{path} does not exist: check the path.')
    if not osp.isdir(osp.join(data_root, 'leftImg8bit', split)):
        raise VisualizationInputError(
            f'{data_root} has no leftImg8bit/{split}: give a '
            'Cityscapes-layout data root.')
    torch.set_num_threads(max(1, torch.get_num_threads()))
    panels = []
    batch = None
    for title, weights in (('before training (random init)', None),
                           ('after training', checkpoint)):
        cfg, model = build_model(config, weights, seed)
        if batch is None:
            batch = load_samples(cfg, data_root, split, num_images)
        t_emb, c_emb, labels = embeddings(model, batch, level)
        panels.append(
            (title, draw_points(t_emb, c_emb, labels, points_per_class, seed)))
    return panels
