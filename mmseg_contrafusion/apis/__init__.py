"""Inference: a segmentor whose checkpoint is checked, run on image files.

Not imported by ``import mmseg_contrafusion``; ``tools/infer.py`` and
``tools/visualization/predictions_grid.py`` are front ends to it.
"""
from .image_files import (IMAGE_EXTENSIONS, find_images, output_stems,
                          read_image, save_png, unreadable_images)
from .inference import (InferenceInputError, check_model_files,
                        dataset_metainfo, load_checked_model, predict,
                        read_checkpoint, read_inference_config, resolve_device)
from .segment import (BACKENDS, LABEL_FORMATS, LABEL_SUFFIXES, InferenceResult,
                      labelid_lut_for, segment_images, trainid_to_labelid_lut)

__all__ = [
    'BACKENDS', 'IMAGE_EXTENSIONS', 'LABEL_FORMATS', 'LABEL_SUFFIXES',
    'InferenceInputError', 'InferenceResult', 'check_model_files',
    'dataset_metainfo', 'find_images', 'labelid_lut_for', 'load_checked_model',
    'output_stems', 'predict', 'read_checkpoint', 'read_image',
    'read_inference_config', 'resolve_device', 'save_png', 'segment_images',
    'trainid_to_labelid_lut', 'unreadable_images'
]
