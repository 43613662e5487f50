"""Export a segmentor to ONNX and check it against PyTorch.

The exported graph takes what mmseg's ``SegDataPreProcessor`` gives the
model, a normalised float32 batch (N, 3, H, W), and returns what
``encode_decode`` returns: per-class logits at the input's resolution. It is
the inference path only: ``extract_feat``, the decode head's ``forward``
(no projection head, sampler, contrastive loss or CAC branch) and the final
resize. A JSON file beside the model holds what a user needs to feed it
(mean, std, channel order, classes, palette, the exported shape).
"""
import json
import os
import os.path as osp
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..utils import ActionableError

#: Default ONNX opset of the export.
DEFAULT_OPSET = 18
#: ``--verify`` limits: max |ORT - PyTorch| / max |PyTorch| and the share of
#: pixels whose predicted class agrees.
MAX_RELATIVE_ERROR = 1e-4
MIN_ARGMAX_AGREEMENT = 0.9999


class OnnxExportError(ActionableError):
    """The export failed, or the exported model disagrees with PyTorch."""


#: How the export names the segmentor's parameters: ``LogitsAtInputSize``
#: holds it as ``segmentor``, so an initializer is ``segmentor.<path>``.
WRAPPER_PREFIX = 'segmentor.'


class LogitsAtInputSize(nn.Module):
    """A segmentor's inference path as one ``forward``: the export's graph.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (or
            ``DualEncoder``) in eval mode.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs: Tensor) -> Tensor:
        """Logits of a normalised batch.

        Args:
            inputs (Tensor): Shape (N, 3, H, W), float32, normalised as the
                config's data preprocessor does.

        Returns:
            Tensor: Shape (N, num_classes, H, W), what ``encode_decode``
            returns for images of that size.
        """
        from mmseg.models.utils import resize

        head = self.segmentor.decode_head
        logits = head.forward(self.segmentor.extract_feat(inputs))
        return resize(
            logits,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=head.align_corners)


def build_segmentor(config: str,
                    checkpoint: Optional[str] = None,
                    cfg_options: Optional[dict] = None) -> nn.Module:
    """The segmentor to export, in eval mode on the CPU.

    Args:
        config (str): Config file.
        checkpoint (str, optional): Its checkpoint (loaded strictly, as
            ``tools/infer.py`` does); None exports the random init (for
            benchmarking). Defaults to None.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        nn.Module: The segmentor, with ``cfg`` and ``dataset_meta``.
    """
    from ..analysis.configs import load_config
    from ..analysis.model_builders import build_model
    from ..apis.inference import dataset_metainfo, load_checked_model

    if checkpoint is not None:
        model = load_checked_model(config, checkpoint, 'cpu', cfg_options)
        model.cfg = load_config(config, cfg_options)
        return model
    cfg = load_config(config, cfg_options)
    model = build_model(cfg)
    model.dataset_meta = dataset_metainfo(cfg)
    return model


def preprocess_image(image_bgr: np.ndarray, shape: Tuple[int, int],
                     preprocessor: Dict[str, Any]) -> Tensor:
    """An image as the exported model takes it.

    Args:
        image_bgr (np.ndarray): (H0, W0, 3) uint8, BGR (as mmcv reads it).
        shape (tuple[int, int]): Export size (H, W); the image is resized to
            it (bilinear).
        preprocessor (dict): The config's ``data_preprocessor`` (``mean``,
            ``std``, ``bgr_to_rgb``).

    Returns:
        Tensor: (1, 3, H, W) float32.
    """
    import cv2

    image = cv2.resize(
        image_bgr, (shape[1], shape[0]),
        interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if preprocessor.get('bgr_to_rgb', False):
        image = image[..., ::-1]
    mean = np.asarray(preprocessor.get('mean', [0, 0, 0]), np.float32)
    std = np.asarray(preprocessor.get('std', [1, 1, 1]), np.float32)
    image = (image - mean) / std
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0,
                                                                 1)))[None]


def export_onnx(model: nn.Module,
                shape: Tuple[int, int],
                output_file: str,
                opset: int = DEFAULT_OPSET,
                dynamic: bool = False) -> Dict[str, Any]:
    """Export the inference path and write its JSON beside it.

    Args:
        model (nn.Module): From :func:`build_segmentor`.
        shape (tuple[int, int]): Input size (H, W) of the export.
        output_file (str): The ``.onnx`` file.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.
        dynamic (bool): Batch, height and width as dynamic axes. Defaults to
            False (a fixed (1, 3, H, W) input).

    Returns:
        dict: The JSON written to ``<output_file without .onnx>.json``.

    Raises:
        OnnxExportError: If ``torch.onnx.export`` fails.
    """
    wrapper = LogitsAtInputSize(model).eval()
    # A dynamic export traces a batch of 2: with 1, the exporter
    # specialises the batch axis to 1.
    inputs = torch.randn(2 if dynamic else 1, 3, *shape)
    dynamic_shapes = None
    if dynamic:
        auto = torch.export.Dim.AUTO
        dynamic_shapes = ({0: auto, 2: auto, 3: auto}, )
    os.makedirs(osp.dirname(osp.abspath(output_file)), exist_ok=True)
    try:
        with torch.no_grad():
            torch.onnx.export(
                wrapper, (inputs, ),
                output_file,
                dynamo=True,
                opset_version=opset,
                input_names=['input'],
                output_names=['logits'],
                dynamic_shapes=dynamic_shapes)
    except Exception as error:  # the exporter raises many kinds
        raise OnnxExportError(
            f'ONNX export of {model.cfg.filename} failed: '
            f'{type(error).__name__}: {str(error).splitlines()[0]}') from error
    preprocessor = model.cfg.model.get('data_preprocessor') or {}
    meta = dict(
        config=model.cfg.filename,
        input='normalised float32 (N, 3, H, W)',
        output='logits (N, num_classes, H, W)',
        shape=list(shape),
        dynamic=dynamic,
        opset=opset,
        mean=list(preprocessor.get('mean', [0, 0, 0])),
        std=list(preprocessor.get('std', [1, 1, 1])),
        bgr_to_rgb=bool(preprocessor.get('bgr_to_rgb', False)),
        align_corners=bool(model.decode_head.align_corners),
        classes=list(model.dataset_meta['classes']),
        palette=[list(c) for c in model.dataset_meta['palette']])
    with open(osp.splitext(output_file)[0] + '.json', 'w') as f:
        json.dump(meta, f, indent=2)
    return meta


def onnx_session(onnx_file: str, threads: Optional[int] = None):
    """An ONNX Runtime CPU session (``threads``: intra-op threads)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])


def verify_onnx(
        onnx_file: str,
        model: nn.Module,
        inputs: Tensor,
        max_relative_error: float = MAX_RELATIVE_ERROR,
        min_agreement: float = MIN_ARGMAX_AGREEMENT) -> Dict[str, float]:
    """Compare ONNX Runtime with PyTorch on one input.

    Args:
        onnx_file (str): The exported model.
        model (nn.Module): The segmentor it was exported from.
        inputs (Tensor): (N, 3, H, W) normalised (see
            :func:`preprocess_image`).
        max_relative_error (float): Limit of max |ORT - PyTorch| divided by
            max |PyTorch| over the logits. Defaults to 1e-4.
        min_agreement (float): Least share of pixels with the same argmax.
            Defaults to 0.9999.

    Returns:
        dict: ``relative_error`` and ``argmax_agreement``.

    Raises:
        OnnxExportError: In one line, if either limit is not met.
    """
    with torch.no_grad():
        expected = LogitsAtInputSize(model).eval()(inputs).numpy()
    got = onnx_session(onnx_file).run(None, {'input': inputs.numpy()})[0]
    if got.shape != expected.shape:
        raise OnnxExportError(
            f'{onnx_file} gives logits of shape {got.shape}, PyTorch '
            f'{expected.shape}')
    scale = float(np.abs(expected).max()) or 1.0
    relative = float(np.abs(got - expected).max()) / scale
    agreement = float((got.argmax(1) == expected.argmax(1)).mean())
    if relative > max_relative_error or agreement < min_agreement:
        raise OnnxExportError(
            f'{onnx_file} disagrees with PyTorch: max relative error '
            f'{relative:.2e} (limit {max_relative_error:.0e}), argmax '
            f'agreement {agreement:.4%} (limit {min_agreement:.2%})')
    return dict(relative_error=relative, argmax_agreement=agreement)


def first_test_image(cfg: Any) -> str:
    """The first image of the config's test set (for ``--verify``).

    Raises:
        OnnxExportError: If the test set has no image on disk.
    """
    dataset = cfg.test_dataloader.dataset
    root = dataset.get('data_root', '')
    folder = osp.join(root, dataset.get('data_prefix', {}).get('img_path', ''))
    for current, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(('.png', '.jpg', '.jpeg')):
                return osp.join(current, name)
    raise OnnxExportError(
        f'no test image under {folder} for --verify: prepare the dataset '
        '(README, Data) or pass --image FILE')


def image_for(cfg: Any, image: Optional[str]) -> str:
    """``image``, or :func:`first_test_image` of ``cfg``."""
    return image if image is not None else first_test_image(cfg)
