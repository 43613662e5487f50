"""Segmenting images with an exported model under ONNX Runtime.

:class:`OnnxSegmentor` does what ``mmseg.apis.inference_model`` does with a
PyTorch segmentor, with the exported graph in the model's place: the
config's test pipeline (resize), the data preprocessor's normalisation, the
segmentor's ``test_cfg`` (whole image, or sliding windows), the resize of
the logits back to the image and the argmax. An export of fixed shape runs
whole-image inference only on inputs of that shape; on larger ones it
slides windows of the exported shape (the config's ``test_cfg.stride``, or
two thirds of the window).
"""
import copy
import json
import os.path as osp
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .onnx_export import OnnxExportError, onnx_session


class OnnxSegmentor:
    """An exported segmentor and what it needs to segment an image.

    Args:
        onnx_file (str): The model from ``tools/deployment/pytorch2onnx.py``
            (its JSON beside it).
        cfg (mmengine.Config): The config it was exported from (test
            pipeline, ``test_cfg``), e.g. from
            :func:`mmseg_contrafusion.apis.read_inference_config`.
        threads (int, optional): ONNX Runtime intra-op threads. Defaults to
            None (ONNX Runtime's choice).

    Attributes:
        dataset_meta (dict): ``classes`` and ``palette`` (from the JSON).
    """

    def __init__(self,
                 onnx_file: str,
                 cfg: Any,
                 threads: Optional[int] = None) -> None:
        meta_file = osp.splitext(onnx_file)[0] + '.json'
        if not osp.isfile(meta_file):
            raise OnnxExportError(
                f'{meta_file} (written beside the model by '
                'tools/deployment/pytorch2onnx.py) does not exist: export '
                'the model again')
        with open(meta_file) as f:
            self.meta: Dict[str, Any] = json.load(f)
        self.session = onnx_session(onnx_file, threads)
        self.dataset_meta = dict(
            classes=tuple(self.meta['classes']),
            palette=[list(c) for c in self.meta['palette']])
        self.test_cfg = dict(cfg.model.get('test_cfg') or {})
        self.align_corners = bool(self.meta.get('align_corners', False))
        self.pipeline = self._pipeline(cfg)

    @staticmethod
    def _pipeline(cfg: Any):
        from mmcv.transforms import Compose

        steps = [
            copy.deepcopy(t) for t in cfg.test_pipeline
            if t.get('type') != 'LoadAnnotations'
        ]
        steps[0]['type'] = 'LoadImageFromNDArray'
        return Compose(steps)

    def _normalise(self, image: Tensor) -> Tensor:
        inputs = image.float()
        if self.meta['bgr_to_rgb']:
            inputs = inputs[[2, 1, 0]]
        mean = torch.tensor(self.meta['mean']).view(-1, 1, 1)
        std = torch.tensor(self.meta['std']).view(-1, 1, 1)
        return ((inputs - mean) / std)[None]

    def _run(self, inputs: Tensor) -> Tensor:
        return torch.from_numpy(
            self.session.run(None, {'input': inputs.numpy()})[0])

    def window(self) -> Tuple[int, int]:
        """The exported input size (H, W)."""
        return tuple(self.meta['shape'])

    def logits(self, inputs: Tensor) -> Tensor:
        """Logits (1, K, H, W) of a normalised input (1, 3, H, W).

        Whole-image when the export is dynamic, or the input has the
        exported shape and ``test_cfg.mode`` is not ``'slide'``; else
        sliding windows of the exported shape, averaged where they overlap
        (mmseg's ``slide_inference``).

        Raises:
            OnnxExportError: If the input is smaller than the exported shape
                of a fixed-shape export.
        """
        height, width = inputs.shape[2:]
        crop_h, crop_w = self.window()
        slide = self.test_cfg.get('mode') == 'slide'
        if self.meta['dynamic'] and not slide:
            return self._run(inputs)
        if (height, width) == (crop_h, crop_w) and not slide:
            return self._run(inputs)
        if height < crop_h or width < crop_w:
            raise OnnxExportError(
                f'the model was exported for {crop_h}x{crop_w} inputs, the '
                f'test pipeline gives {height}x{width}: export with '
                '--shape at most that size, or --dynamic-export')
        stride_h, stride_w = self.test_cfg.get(
            'stride', (max(1, crop_h * 2 // 3), max(1, crop_w * 2 // 3)))
        rows = max(height - crop_h + stride_h - 1, 0) // stride_h + 1
        cols = max(width - crop_w + stride_w - 1, 0) // stride_w + 1
        total, count = None, torch.zeros(1, 1, height, width)
        for row in range(rows):
            for col in range(cols):
                y2 = min(row * stride_h + crop_h, height)
                x2 = min(col * stride_w + crop_w, width)
                y1, x1 = y2 - crop_h, x2 - crop_w
                crop = self._run(inputs[:, :, y1:y2, x1:x2])
                padded = F.pad(crop, (x1, width - x2, y1, height - y2))
                total = padded if total is None else total + padded
                count[:, :, y1:y2, x1:x2] += 1
        return total / count

    def predict_packed(self, inputs: Tensor, ori_shape: Tuple[int,
                                                              int]) -> Tensor:
        """Predicted train ids of one image as the test pipeline packs it.

        Args:
            inputs (Tensor): (3, H, W) uint8, BGR, after the test pipeline
                (``PackSegInputs``' ``inputs``).
            ori_shape (tuple[int, int]): Size of the image before the
                pipeline's resize.

        Returns:
            Tensor: (H0, W0) int64 train ids at ``ori_shape``.
        """
        from mmseg.models.utils import resize

        logits = resize(
            self.logits(self._normalise(inputs)),
            size=ori_shape,
            mode='bilinear',
            align_corners=self.align_corners)
        return logits.argmax(1)[0]

    def predict(self, image_bgr: np.ndarray) -> np.ndarray:
        """Predicted train ids of one image.

        Args:
            image_bgr (np.ndarray): (H0, W0, 3) uint8, BGR.

        Returns:
            np.ndarray: (H0, W0) uint8.
        """
        data = self.pipeline(dict(img=image_bgr))
        label = self.predict_packed(data['inputs'],
                                    data['data_samples'].metainfo['ori_shape'])
        return label.numpy().astype(np.uint8)


def evaluate_onnx(cfg: Any,
                  onnx_file: str,
                  threads: Optional[int] = None,
                  log=print) -> Dict[str, float]:
    """Evaluate an exported model on the config's test set.

    The test dataloader and the test evaluator of the config (e.g. an
    ``IoUMetric``) are built as ``tools/test.py`` builds them; only the
    model is the ONNX Runtime session, so the metrics compare with
    ``tools/test.py`` on the checkpoint the model was exported from.

    Args:
        cfg (mmengine.Config): The config (``test_evaluator`` as wanted).
        onnx_file (str): The exported model.
        threads (int, optional): ONNX Runtime threads. Defaults to None.
        log (callable): Progress messages. Defaults to print.

    Returns:
        dict: The evaluator's metrics (e.g. ``aAcc``, ``mIoU``, ``mDice``).
    """
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmengine.structures import PixelData

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    segmentor = OnnxSegmentor(onnx_file, cfg, threads)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    for index, batch in enumerate(loader):
        samples = batch['data_samples']
        for inputs, sample in zip(batch['inputs'], samples):
            label = segmentor.predict_packed(inputs,
                                             sample.metainfo['ori_shape'])
            sample.pred_sem_seg = PixelData(data=label[None])
        evaluator.process(data_samples=samples, data_batch=batch)
        if (index + 1) % 50 == 0:
            log(f'[test_onnx] {index + 1}/{len(loader)}')
    metrics = evaluator.evaluate(len(loader.dataset))
    return {key: float(value) for key, value in metrics.items()}
