"""Per-image, reproducible seeds for the position samplers.

The draw of a position sampler is **per image and reproducible** when the
caller gives per-image seeds (``sample(..., seeds=...)``): image *b* then
draws from its own ``torch.Generator`` seeded with ``seeds[b]``, so what an
image gets depends neither on the other images of the batch nor on the
process it is on, nor on the global RNG (which dropout, augmentations and
weight init also consume). :class:`SampleSeeder` makes those seeds for the
contrastive losses from a base seed, a step counter kept as a persistent
buffer (so it is saved in checkpoints and restored by ``--resume``) and a
fingerprint of each image's label map (:func:`label_fingerprint`). The
fingerprint is used rather than the image's index in the batch because the
index of an image differs between one process with a batch of 2 and two
processes with a batch of 1 each; its content does not.
"""
import hashlib
from typing import List, Optional

import torch
import torch.nn as nn
from torch import Tensor

_SEED_MASK = (1 << 63) - 1


def label_fingerprint(label: Tensor) -> bytes:
    """A digest of one label map: its shape and every value.

    The same label map gives the same digest on any device, in any dtype and
    in any process; label maps that differ in one pixel give different
    digests (128-bit BLAKE2b).

    Args:
        label (Tensor): Label map of one image, any shape (e.g. (H, W) or
            (1, H, W)), integer values.

    Returns:
        bytes: 16 bytes.
    """
    values = label.detach().to(device='cpu', dtype=torch.int64).contiguous()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(tuple(values.shape)).encode())
    digest.update(values.numpy().tobytes())
    return digest.digest()


def per_image_seeds(seg_label: Tensor,
                    seed: int,
                    step: int,
                    stream: str = '') -> List[int]:
    """One RNG seed per image, from its label map and a (seed, step) pair.

    ``seeds[b]`` is a hash of ``seed``, ``step``, ``stream`` and
    :func:`label_fingerprint` of ``seg_label[b]``, so it does not depend on
    ``b``, on the batch size or on the process.

    Args:
        seg_label (Tensor): Label maps, shape (B, H, W) or (B, 1, H, W).
        seed (int): Base seed.
        step (int): Training step (e.g. :attr:`SampleSeeder.step`).
        stream (str): Tells apart draws from the same label map in one
            step, e.g. ``'level0'`` and ``'level1'``. Defaults to ``''``.

    Returns:
        list[int]: ``B`` seeds in ``[0, 2**63)``.
    """
    if seg_label.dim() == 4 and seg_label.shape[1] == 1:
        seg_label = seg_label.squeeze(1)
    if seg_label.dim() != 3:
        raise ValueError('seg_label must have shape (B, H, W) or '
                         f'(B, 1, H, W), got {tuple(seg_label.shape)}')
    # One copy to the host for the whole batch.
    seg_label = seg_label.detach().to(device='cpu', dtype=torch.int64)
    prefix = f'{int(seed)}|{int(step)}|{stream}|'.encode()
    seeds = []
    for label in seg_label:
        digest = hashlib.blake2b(prefix, digest_size=8)
        digest.update(label_fingerprint(label))
        seeds.append(int.from_bytes(digest.digest(), 'little') & _SEED_MASK)
    return seeds


class SampleSeeder(nn.Module):
    """Per-image seeds for reproducible pixel sampling, with a step counter.

    A loss that samples pixels owns one ``SampleSeeder``. At each forward in
    training mode it takes the current step (:meth:`next_step`, which then
    advances the counter) and asks :meth:`image_seeds` for one seed per image
    of each label map it samples from. The counter is a persistent buffer
    (``<loss>.seeder.step`` in the state dict), so it is saved in
    checkpoints and a run resumed with ``--resume`` draws exactly what the
    uninterrupted run draws; the seeds depend on the label maps, not on the
    batch layout, so one process with a batch of 2 and two processes with a
    batch of 1 draw the same positions for the same images.

    Note:
        Two seeders with the same ``seed`` draw the same positions from the
        same label map at the same step (e.g. two losses in one model); give
        them different seeds for independent draws. The base seed is the
        module's own, not mmengine's ``randomness.seed``. The fingerprint
        covers the whole label map as the loss sees it, padding included:
        an image padded to another size in another batch counts as another
        image (its features differ then too), and two identical label maps
        in one batch draw the same positions.

    Args:
        seed (int, optional): Base seed. None turns seeding off:
            :meth:`image_seeds` returns None and samplers draw from the global
            torch RNG (the behaviour before seeding was added; not
            reproducible across ``--resume`` nor across batch splits).
            Defaults to 0.
    """

    def __init__(self, seed: Optional[int] = 0) -> None:
        super().__init__()
        if seed is not None and not 0 <= int(seed) <= _SEED_MASK:
            raise ValueError(f'seed must be in [0, 2**63), got {seed}')
        self.seed = None if seed is None else int(seed)
        self.register_buffer(
            'step', torch.zeros((), dtype=torch.long), persistent=True)

    def extra_repr(self) -> str:
        return f'seed={self.seed}, step={int(self.step)}'

    @property
    def enabled(self) -> bool:
        """bool: Whether draws are seeded (``seed`` is not None)."""
        return self.seed is not None

    def next_step(self) -> int:
        """The current step; advances the counter in training mode.

        Returns:
            int: The step to seed this forward's draws with.
        """
        step = int(self.step)
        if self.training:
            self.step.add_(1)
        return step

    def image_seeds(self,
                    seg_label: Tensor,
                    step: Optional[int] = None,
                    stream: str = '') -> Optional[List[int]]:
        """Seeds of the images of a batch (:func:`per_image_seeds`).

        Args:
            seg_label (Tensor): Label maps the sampler draws from, shape
                (B, H, W) or (B, 1, H, W).
            step (int, optional): Step from :meth:`next_step`. Defaults to
                None (the counter's current value).
            stream (str): Tells apart several draws of one step. Defaults to
                ``''``.

        Returns:
            list[int] | None: ``B`` seeds, or None when seeding is off.
        """
        if self.seed is None:
            return None
        if step is None:
            step = int(self.step)
        return per_image_seeds(seg_label, self.seed, step, stream)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Checkpoints written before the counter existed: start at 0.
        key = prefix + 'step'
        if key not in state_dict:
            self.step.zero_()
            state_dict = dict(state_dict, **{key: self.step.clone()})
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
