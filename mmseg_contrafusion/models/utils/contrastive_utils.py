r"""What every contrastive loss of the package shares about batches and labels.

Two rules, each in one place:

- **The batch rule** (:func:`mean_over_images`). A contrastive loss is a
  per-image quantity :math:`L_b` (the samples of image *b* contrasted with
  each other), and the loss of a batch of *B* images is

  .. math::
      L = \frac{1}{B} \sum_{b=1}^{B} L_b

  over **all** *B* images, where an image without samples (no labelled
  pixel at a level, or no anchor with a positive) contributes :math:`L_b =
  0`, a zero that stays attached to the graph. DDP averages the gradients of
  its processes, each holding *B / P* images, so the mean over processes of
  each process's loss is the single-process loss: the loss and its gradient
  do not depend on how a batch is split across processes (with per-image
  budgets and per-image seeded sampling, see
  :mod:`~mmseg_contrafusion.models.utils.class_balanced_position_sampler`).
  Averaging over the
  images *with* samples only would not have this property: an image without
  samples would then weigh 0 on a process shared with other images and 1/P
  on a process of its own. Modes that contrast samples of different images
  with each other (``cross_image=True``) pool the batch of a process by
  design and cannot be split-invariant.

- **Labels at the embedding resolution** (:func:`downsample_labels`). A
  label map of size (H, W) is brought to an embedding map of size (h, w) by
  taking, for each cell of the embedding grid, the label at the cell's
  centre or its majority label, instead of ``F.interpolate(mode='nearest')``,
  which takes the cell's top-left pixel (16 px off the cell centre at
  stride 32).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

LABEL_DOWNSAMPLE_MODES = ('center', 'majority', 'nearest')


def attached_zero(*tensors: Tensor) -> Tensor:
    """A scalar zero that stays attached to the graph of ``tensors``.

    What a loss returns when it has nothing to compute (no labelled pixel,
    no anchor with a positive): every parameter upstream of ``tensors``
    still gets a (zero) gradient, so DDP without ``find_unused_parameters``
    does not wait for a gradient that never comes.

    Args:
        *tensors (Tensor): Tensors of any shape on the graph.

    Returns:
        Tensor: ``sum(t.sum() for t in tensors) * 0``, a scalar.
    """
    return sum(t.sum() for t in tensors) * 0.


def label_batch(seg_label: Tensor) -> Tensor:
    """Labels as (B, 1, H, W), from (B, H, W) or (B, 1, H, W)."""
    if seg_label.dim() == 3:
        seg_label = seg_label.unsqueeze(1)
    if seg_label.dim() != 4 or seg_label.shape[1] != 1:
        raise ValueError('seg_label must have shape (B, H, W) or '
                         f'(B, 1, H, W), got {tuple(seg_label.shape)}')
    return seg_label


# Counts held at once by the majority vote (int64): 2**22 -> 32 MiB.
_MAJORITY_MAX_COUNTS = 1 << 22


def mean_over_images(per_image_losses: Sequence[Optional[Tensor]],
                     zero: Tensor) -> Tensor:
    r"""The batch rule: the mean of per-image losses over all images.

    Args:
        per_image_losses (Sequence[Tensor | None]): One entry per image of
            the batch (length *B*): its loss (a scalar) or None for an image
            without samples, which counts as 0.
        zero (Tensor): A scalar zero attached to everything that must get a
            gradient (e.g. ``embeds.sum() * 0``); it is added to the result,
            so the result is attached even when no image has a loss.

    Returns:
        Tensor: :math:`\frac{1}{B} \sum_b L_b` (a scalar); ``zero`` when
        *B* = 0 or every entry is None.
    """
    total = zero
    for loss in per_image_losses:
        if loss is not None:
            total = total + loss
    if len(per_image_losses) == 0:
        return zero
    return total / len(per_image_losses)


def split_by_image(batch_inds: Tensor, num_images: int) -> List[Tensor]:
    """Indices of the samples of each image of a batch.

    Args:
        batch_inds (Tensor): Image of each sample, shape (N,), long, each in
            ``[0, num_images)``.
        num_images (int): *B*, the images of the batch, also those without
            samples.

    Returns:
        list[Tensor]: *B* index tensors (long) into the N samples, in
        increasing order; empty for an image without samples.
    """
    if batch_inds.numel() and (int(batch_inds.min()) < 0
                               or int(batch_inds.max()) >= num_images):
        raise ValueError(f'batch_inds must lie in [0, {num_images}), got '
                         f'[{int(batch_inds.min())}, '
                         f'{int(batch_inds.max())}]')
    return [(batch_inds == b).nonzero(as_tuple=True)[0]
            for b in range(num_images)]


def _centre_indices(in_size: int, out_size: int,
                    device: torch.device) -> Tensor:
    """Input index of the centre of each output cell along one axis.

    ``floor((i + 0.5) * in_size / out_size)``, in integer arithmetic; for an
    integer stride ``s = in_size / out_size`` this is ``s // 2 + i * s``.
    """
    i = torch.arange(out_size, device=device)
    return ((2 * i + 1) * in_size) // (2 * out_size)


def _cell_of_pixel(in_size: int, out_size: int,
                   device: torch.device) -> Tensor:
    """Output cell of each input pixel along one axis.

    The cell holding the pixel's centre, ``floor((r + 0.5) * out_size /
    in_size)``: a partition of the input pixels into ``out_size`` non-empty
    cells when ``out_size <= in_size`` (``r // s`` for an integer stride).
    """
    r = torch.arange(in_size, device=device)
    return ((2 * r + 1) * out_size) // (2 * in_size)


def _majority(label: Tensor, size: Tuple[int, int],
              ignore_index: Optional[int]) -> Tensor:
    """Majority vote of (B, H, W) ``label`` over the cells of ``size``."""
    num, height, width = label.shape
    h, w = size
    device = label.device
    valid = label >= 0
    if ignore_index is not None:
        valid &= label != ignore_index
    fill = -1 if ignore_index is None else ignore_index
    out = torch.full((num, h, w), fill, dtype=torch.long, device=device)
    if not bool(valid.any()):
        return out
    cell = (_cell_of_pixel(height, h, device)[:, None] * w +
            _cell_of_pixel(width, w, device)[None, :])  # (H, W)
    image = torch.arange(num, device=device)[:, None, None]
    key = (image * (h * w) + cell).expand(num, height, width)[valid]
    classes, compact = torch.unique(label[valid], return_inverse=True)
    num_cells = num * h * w
    # Classes are counted a chunk at a time so that the count table holds at
    # most _MAJORITY_MAX_COUNTS entries (a cell's best class so far is kept).
    chunk = max(1, _MAJORITY_MAX_COUNTS // num_cells)
    best_count = torch.zeros(num_cells, dtype=torch.long, device=device)
    best_class = torch.zeros(num_cells, dtype=torch.long, device=device)
    for start in range(0, len(classes), chunk):
        width_k = min(chunk, len(classes) - start)
        if width_k == len(classes):
            k_key, k_cls = key, compact
        else:
            sel = (compact >= start) & (compact < start + width_k)
            k_key, k_cls = key[sel], compact[sel] - start
        counts = torch.bincount(
            k_key * width_k + k_cls,
            minlength=num_cells * width_k).view(num_cells, width_k)
        # max returns the first of equal counts: ties go to the lower class.
        count, arg = counts.max(dim=1)
        better = count > best_count  # strict: earlier (lower) classes win
        best_count = torch.where(better, count, best_count)
        best_class = torch.where(better, arg + start, best_class)
    voted = torch.where(best_count > 0, classes[best_class],
                        torch.full_like(best_class, fill))
    return voted.view(num, h, w)


@torch.no_grad()
def downsample_labels(seg_label: Tensor,
                      size: Union[Sequence[int], torch.Size],
                      ignore_index: Optional[int] = 255,
                      mode: str = 'center') -> Tensor:
    """Bring a label map to an embedding map's resolution.

    The output grid splits the input into ``size`` cells: output cell
    ``(i, j)`` covers the input pixels whose centres fall in ``[i * H / h,
    (i + 1) * H / h) x [j * W / w, (j + 1) * W / w)``. Per ``mode``:

    - ``'center'`` (default): the label of the pixel at the cell's centre,
      input row ``floor((i + 0.5) * H / h)`` (for stride ``s = H / h``:
      ``s // 2 + i * s``) and likewise for columns: the label at the point
      the embedding's cell is centred on. It costs one gather of
      ``B * h * w`` values, with no count over the input pixels and no host
      synchronisation; hence the default.
    - ``'majority'``: the most frequent label of the cell other than
      ``ignore_index`` (and negative labels); ties go to the lower class; a
      cell without a labelled pixel gets ``ignore_index``. A cell is
      labelled whenever any of its pixels is, and it gets the class that
      covers most of it, at the cost of a count over all ``B * H * W``
      pixels (a bincount, held to at most 2**22 counts at a time by going
      through the classes in chunks) and a host synchronisation. When
      ``size`` is larger than the input along an axis, every cell holds at
      most one pixel and this is ``'center'``.
    - ``'nearest'``: ``F.interpolate(mode='nearest')``, the cell's top-left
      pixel ``floor(i * H / h)``, as the CAC and MS/CS reference code do;
      for parity with them only (at stride 32 it is 16 px off the cell's
      centre).

    Args:
        seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W),
            integer.
        size (Sequence[int]): Output size ``(h, w)``.
        ignore_index (int, optional): Label of unlabelled pixels, for
            ``'majority'``; None means only negative labels are unlabelled
            (and empty cells get -1). Defaults to 255.
        mode (str): ``'center'``, ``'majority'`` or ``'nearest'``. Defaults
            to ``'center'``.

    Returns:
        Tensor: Labels of shape (B, h, w) or (B, 1, h, w), like
        ``seg_label``, long. ``seg_label`` itself (as long) when it already
        has size ``(h, w)``.
    """
    if mode not in LABEL_DOWNSAMPLE_MODES:
        raise ValueError(f'mode must be one of {LABEL_DOWNSAMPLE_MODES}, '
                         f'got {mode!r}')
    keep_dim = seg_label.dim() == 4
    if keep_dim:
        if seg_label.shape[1] != 1:
            raise ValueError('seg_label must have shape (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(seg_label.shape)}')
        seg_label = seg_label[:, 0]
    elif seg_label.dim() != 3:
        raise ValueError('seg_label must have shape (B, H, W) or '
                         f'(B, 1, H, W), got {tuple(seg_label.shape)}')
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ValueError(f'size must be positive, got {(h, w)}')
    label = seg_label.long()
    height, width = label.shape[1:]
    if (height, width) == (h, w):
        out = label
    elif mode == 'majority' and h <= height and w <= width:
        out = _majority(label, (h, w), ignore_index)
    elif mode == 'nearest':
        # Exactly what the reference code does (its float scale included).
        out = F.interpolate(
            label[:, None].float(), size=(h, w), mode='nearest')[:, 0].long()
    else:
        rows = _centre_indices(height, h, label.device)
        cols = _centre_indices(width, w, label.device)
        out = label.index_select(1, rows).index_select(2, cols)
    return out.unsqueeze(1) if keep_dim else out
