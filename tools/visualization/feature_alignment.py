"""Feature alignment of the two encoders of a ContraFusionNet model.

Projects the transformer's and the CNN's pixel embeddings (the training-only
projection heads of ``ContrastiveFusionHead``) of some validation images into
2-D with one PCA fitted on both streams, coloured by class, for a model before
training (random init, seeded as the Runner seeds it) and after (a
checkpoint). Points of one class from both streams fall together when the
contrastive alignment works. The title gives the mean cosine similarity of the
two streams' embeddings at the same pixel.

Example::

    python tools/visualization/feature_alignment.py CONFIG CHECKPOINT \\
        --data-root data/synthetic_cityscapes --out alignment.png
"""
import argparse
import logging
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_common import cityscapes_meta, save_figure, use_agg  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PCA of both encoders\' pixel embeddings, before and '
        'after training')
    parser.add_argument('config', help='ContraFusionNet config file')
    parser.add_argument('checkpoint', help='trained checkpoint ("after")')
    parser.add_argument(
        '--data-root',
        required=True,
        help='Cityscapes-layout root (leftImg8bit/, gtFine/ with '
        'labelTrainIds)')
    parser.add_argument('--split', default='val', help='split folder name')
    parser.add_argument(
        '--num-images', type=int, default=4, help='images to embed')
    parser.add_argument(
        '--points-per-class',
        type=int,
        default=60,
        help='pixels drawn per class and stream')
    parser.add_argument(
        '--level',
        type=int,
        default=0,
        help='index into the head\'s contrast_levels')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random init')
    parser.add_argument('--out', default='feature_alignment.png')
    parser.add_argument('--dpi', type=int, default=100)
    return parser.parse_args(argv)


def build_model(config: str, checkpoint: Optional[str], seed: int):
    """The model with random init (``checkpoint=None``) or trained weights."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import load_checkpoint, set_random_seed

    import mmseg_contrafusion  # noqa: F401
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    from mmseg_contrafusion.utils import strip_pretrained

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
        raise SystemExit(f'{config}: the decode head has no contrastive '
                         'projection heads to visualise (loss_contrast=None '
                         'or a single-encoder model).')
    return cfg, model


def load_samples(cfg, data_root: str, split: str, num: int):
    """The config's test pipeline on the first ``num`` images of a split."""
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
def embeddings(model, batch, level: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pixel embeddings of both streams and the labels at their size.

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
    """Draw up to ``per_class`` pixels of each class (same pixels in both)."""
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
    """Project rows onto their two leading principal components."""
    centred = points - points.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot(panels: Sequence[Tuple[str, Dict[str, np.ndarray]]], out: str,
         dpi: int) -> None:
    plt = use_agg()
    meta = cityscapes_meta()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.5))
    axes = np.atleast_1d(axes)
    present = set()
    for ax, (title, pts) in zip(axes, panels):
        n = len(pts['labels'])
        xy = pca_2d(np.concatenate([pts['transformer'], pts['cnn']]))
        colours = np.array(meta['palette'])[pts['labels']] / 255.0
        ax.scatter(*xy[:n].T, c=colours, marker='o', s=14, alpha=0.8,
                   edgecolors='none')
        ax.scatter(*xy[n:].T, c=colours, marker='x', s=14, alpha=0.8,
                   linewidths=0.8)
        ax.set_title(f'{title}\nmean cosine(transformer, CNN) at the same '
                     f'pixel: {pts["cosine"]:.2f}', fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        present.update(int(v) for v in np.unique(pts['labels']))
    from matplotlib.lines import Line2D
    handles = [
        Line2D([], [], marker='o', linestyle='', color='grey',
               label='transformer'),
        Line2D([], [], marker='x', linestyle='', color='grey', label='CNN')
    ] + [
        Line2D([], [], marker='s', linestyle='',
               color=np.array(meta['palette'][c]) / 255.0,
               label=meta['classes'][c]) for c in sorted(present)
    ]
    fig.legend(handles=handles, loc='center right', fontsize=8)
    fig.subplots_adjust(right=0.83)
    save_figure(fig, out, dpi)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise SystemExit(f'{path} does not exist: check the path.')
    if not osp.isdir(osp.join(args.data_root, 'leftImg8bit', args.split)):
        raise SystemExit(f'{args.data_root} has no leftImg8bit/{args.split}:'
                         ' give a Cityscapes-layout data root.')
    torch.set_num_threads(max(1, torch.get_num_threads()))
    panels = []
    batch = None
    for title, checkpoint in (('before training (random init)', None),
                              ('after training', args.checkpoint)):
        cfg, model = build_model(args.config, checkpoint, args.seed)
        if batch is None:
            batch = load_samples(cfg, args.data_root, args.split,
                                 args.num_images)
        t_emb, c_emb, labels = embeddings(model, batch, args.level)
        panels.append((title,
                       draw_points(t_emb, c_emb, labels,
                                   args.points_per_class, args.seed)))
    plot(panels, args.out, args.dpi)
    print(f'feature alignment: {args.out} (cosine before '
          f'{panels[0][1]["cosine"]:.3f}, after {panels[1][1]["cosine"]:.3f})')


if __name__ == '__main__':
    main()
