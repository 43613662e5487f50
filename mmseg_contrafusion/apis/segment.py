"""Segment image files and folders: label maps and overlays.

:func:`segment_images` is what ``tools/infer.py`` runs: it finds the images
(files, and folders searched recursively), builds the model with its
checkpoint checked (:func:`~.inference.load_checked_model`), predicts with
:func:`mmseg.apis.inference_model` and writes, for every readable image, a
label map under ``labels/`` (train ids, or the Cityscapes label ids of the
test server) and a colour overlay under ``overlays/``.
"""
import functools
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from .image_files import (find_images, output_stems, read_image, save_png,
                          unreadable_images)
from .inference import (InferenceInputError, check_model_files,
                        load_checked_model, predict, read_inference_config)

#: Inference backends of :func:`segment_images`.
BACKENDS = ('pytorch', 'onnxruntime')
LABEL_FORMATS = ('trainid', 'labelid')
LABEL_SUFFIXES = {'trainid': '_trainIds.png', 'labelid': '_labelIds.png'}


class InferenceResult(NamedTuple):
    """What :func:`segment_images` did.

    Attributes:
        images (list[str]): Every image found, in processing order.
        written (list[str]): The images whose outputs were written.
        unreadable (dict[str, str]): Image -> why it could not be read.
        label_dir (str): Folder of the label maps.
        overlay_dir (str): Folder of the overlays.
    """
    images: List[str]
    written: List[str]
    unreadable: Dict[str, str]
    label_dir: str
    overlay_dir: str


# ------------------------------------------------------------- label ids --


def trainid_to_labelid_lut() -> np.ndarray:
    """Cityscapes train id -> label id table, from cityscapesscripts.

    Returns:
        np.ndarray: Shape (256,), dtype uint8; train ids without a label map
        to 0 ('unlabeled').
    """
    from cityscapesscripts.helpers.labels import trainId2label

    lut = np.zeros(256, dtype=np.uint8)
    for train_id, label in trainId2label.items():
        if 0 <= train_id < 256 and label.id >= 0:
            lut[train_id] = label.id
    return lut


def labelid_lut_for(model, checkpoint: str) -> np.ndarray:
    """The train id -> Cityscapes label id table, for a Cityscapes model.

    Args:
        model (nn.Module): A segmentor from :func:`load_checked_model`.
        checkpoint (str): Its checkpoint, for the message.

    Returns:
        np.ndarray: See :func:`trainid_to_labelid_lut`.

    Raises:
        InferenceInputError: If the model does not predict the 19
            Cityscapes classes.
    """
    from mmseg.datasets import CityscapesDataset

    classes = model.dataset_meta['classes']
    if tuple(classes) != tuple(CityscapesDataset.METAINFO['classes']):
        raise InferenceInputError(
            '--label-format labelid needs a model of the 19 Cityscapes '
            f'classes; {checkpoint} predicts {len(classes)} other classes: '
            'use --label-format trainid')
    return trainid_to_labelid_lut()


# ------------------------------------------------------------ the images --


def segment_images(config: str,
                   checkpoint: str,
                   inputs: Sequence[str],
                   out_dir: str,
                   opacity: float = 0.5,
                   device: str = 'cpu',
                   label_format: str = 'trainid',
                   cfg_options: Optional[dict] = None,
                   show_progress: bool = True,
                   backend: str = 'pytorch') -> InferenceResult:
    """Segment image files and folders; write label maps and overlays.

    For every readable image ``<stem>.<ext>`` it writes, at the size of the
    image, ``<out_dir>/labels/<stem>_trainIds.png`` (one uint8 train id per
    pixel) or, with ``label_format='labelid'``,
    ``<out_dir>/labels/<stem>_labelIds.png`` (the Cityscapes label ids of
    the test server and the official evaluator), and
    ``<out_dir>/overlays/<stem>_overlay.png`` (the classes painted over the
    image in the palette of the dataset metainfo). Unreadable images are
    skipped and reported; no model is built unless some image is readable.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file of that config, or with
            ``backend='onnxruntime'`` its ONNX export (see
            :mod:`mmseg_contrafusion.deployment`).
        inputs (Sequence[str]): Image files and folders (see
            :func:`find_images`); files under ``out_dir`` are not searched.
        out_dir (str): Output folder.
        opacity (float): Weight of the class colours in the overlays, in
            [0, 1]. Defaults to 0.5.
        device (str): Device to run on. Defaults to 'cpu'.
        label_format (str): ``'trainid'`` or ``'labelid'``. Defaults to
            'trainid'.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        show_progress (bool): Show mmengine's progress bar. Defaults to True.
        backend (str): ``'pytorch'`` (``mmseg.apis.inference_model``) or
            ``'onnxruntime'`` (:class:`OnnxSegmentor`: the same pipeline and
            ``test_cfg``). Defaults to 'pytorch'.

    Returns:
        InferenceResult: The images found, written and unreadable, and the
        output folders.

    Raises:
        InferenceInputError: If an input is missing or unusable (see
            :func:`find_images`, :func:`output_stems`,
            :func:`load_checked_model`, :func:`labelid_lut_for`).
        CheckpointMismatchError: If the checkpoint is of another model.
    """
    from mmengine.utils import ProgressBar, mkdir_or_exist

    # Cheap checks first: no model is built for a typo in a path.
    check_model_files(config, checkpoint)
    images = find_images(inputs, exclude_dir=out_dir)
    stems = output_stems(images)
    unreadable = unreadable_images(images)
    readable = [(path, stem) for path, stem in zip(images, stems)
                if path not in unreadable]
    label_dir = osp.join(out_dir, 'labels')
    overlay_dir = osp.join(out_dir, 'overlays')
    result = InferenceResult(images, [path for path, _ in readable],
                             unreadable, label_dir, overlay_dir)
    if not readable:
        return result
    # Imported here: visualization's pictures import this package.
    from ..visualization.palette import overlay

    if backend not in BACKENDS:
        raise InferenceInputError(f'backend {backend!r} is not one of '
                                  f'{", ".join(BACKENDS)}')
    if backend == 'onnxruntime':
        from ..deployment.onnx_inference import OnnxSegmentor
        model = OnnxSegmentor(checkpoint,
                              read_inference_config(config, cfg_options))
        segment = model.predict
    else:
        model = load_checked_model(config, checkpoint, device, cfg_options)
        segment = functools.partial(predict, model)
    label_lut = None
    if label_format == 'labelid':
        label_lut = labelid_lut_for(model, checkpoint)
    mkdir_or_exist(label_dir)
    mkdir_or_exist(overlay_dir)
    suffix = LABEL_SUFFIXES[label_format]
    palette = model.dataset_meta['palette']
    progress = ProgressBar(len(readable)) if show_progress else None
    for path, stem in readable:
        image = read_image(path)
        label = segment(image)
        save_png(
            overlay(image[..., ::-1], label, palette, opacity),
            osp.join(overlay_dir, f'{stem}_overlay.png'))
        save_png(label if label_lut is None else label_lut[label],
                 osp.join(label_dir, f'{stem}{suffix}'))
        if progress is not None:
            progress.update()
    if progress is not None:
        sys.stdout.write('\n')
    return result
