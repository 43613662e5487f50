"""Run a trained segmentor on image files or folders.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_FOLDER [...] --out DIR \
        [--opacity 0.5] [--device cpu] [--label-format trainid|labelid] \
        [--trust-checkpoint] [--cfg-options KEY=VALUE ...]

Folders are searched recursively for ``*.png``, ``*.jpg`` and ``*.jpeg``
(files given by name are taken whatever their extension). For every image
``<stem>.<ext>``:

* ``DIR/labels/<stem>_trainIds.png`` (default, ``--label-format trainid``):
  the raw prediction, one uint8 train id per pixel (0..18 for Cityscapes),
  or ``DIR/labels/<stem>_labelIds.png`` (``--label-format labelid``): the
  prediction mapped to the Cityscapes label ids with cityscapesscripts'
  ``trainId2label``, the format of the Cityscapes test server. The folder
  holds label maps only, so the official evaluator takes it as it is
  (``CITYSCAPES_RESULTS=DIR/labels csEvalPixelLevelSemanticLabeling``).
* ``DIR/overlays/<stem>_overlay.png``: the image with the predicted classes
  painted over it in the palette of the dataset metainfo, ``--opacity``
  being the weight of the colours.

Both have the size of the input image. The model is built with
:func:`mmseg.apis.init_model` (no pretrained weights are downloaded: every
``Pretrained`` ``init_cfg`` and ``pretrained`` entry of the config is
dropped, the checkpoint supplies all weights) and run with
:func:`mmseg.apis.inference_model`, the config's ``test_pipeline`` included.

Unlike ``init_model``, which loads checkpoints non-strictly and only warns,
the checkpoint must match the config's model exactly: a checkpoint of another
model stops with one line saying how many weights do not match. Every
readable image is processed; unreadable ones are listed at the end, one line
each, and the exit status is then non-zero.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')
LABEL_FORMATS = ('trainid', 'labelid')
LABEL_SUFFIXES = {'trainid': '_trainIds.png', 'labelid': '_labelIds.png'}
IGNORE_INDEX = 255


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments without the program name.
            Defaults to None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        description='Segment images with a trained model: colour overlays '
        'and label maps (PNG) for every image')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file of that config')
    parser.add_argument(
        'images',
        nargs='+',
        help='image files and/or folders (searched recursively for '
        f'{", ".join("*" + e for e in IMAGE_EXTENSIONS)})')
    parser.add_argument(
        '--out', required=True, help='folder for the output PNGs')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='weight of the class colours in the overlays, in [0, 1] '
        '(default: 0.5)')
    parser.add_argument(
        '--device',
        default=None,
        help='device to run on, e.g. cpu, cuda, cuda:1 (default: cuda:0 if '
        'available, else cpu)')
    parser.add_argument(
        '--label-format',
        choices=LABEL_FORMATS,
        default='trainid',
        help='raw label PNGs as train ids (<stem>_trainIds.png) or as '
        'Cityscapes label ids (<stem>_labelIds.png) (default: trainid)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load CHECKPOINT even if it needs pickled objects beyond what '
        'mmengine checkpoints hold (this can run code in the file: only for '
        'files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    args.device = resolve_device(args.device, parser)
    return args


def resolve_device(device: Optional[str],
                   parser: Optional[argparse.ArgumentParser] = None) -> str:
    """Check a device name, or pick the default one.

    Args:
        device (str, optional): ``cpu``, ``cuda`` or ``cuda:N``; None picks
            ``cuda:0`` when CUDA is available, else ``cpu``.
        parser (argparse.ArgumentParser, optional): Reports a malformed name
            as a usage error. Defaults to None (SystemExit).

    Returns:
        str: The device name.
    """
    import torch

    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        message = f'--device {device} is not a device name (cpu, cuda, cuda:N)'
        if parser is not None:
            parser.error(message)
        raise SystemExit(message)
    if parsed.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {device}: CUDA is not available on this '
                         'machine; use --device cpu')
    return device


# ---------------------------------------------------------------- images --


def find_images(inputs: Sequence[str],
                exclude_dir: Optional[str] = None) -> List[str]:
    """Expand files and folders into the list of images to process.

    Args:
        inputs (Sequence[str]): Image files and folders. Folders are searched
            recursively for files ending in ``.png``, ``.jpg`` or ``.jpeg``
            (any case); files are taken as given.
        exclude_dir (str, optional): Files under this folder are skipped
            while searching folders (the output folder, so that earlier
            outputs are not segmented again). Defaults to None.

    Returns:
        list[str]: Image paths, in the order given, folders sorted, each
        path once.

    Raises:
        SystemExit: If an input does not exist, or a folder holds no images.
    """
    excluded = osp.abspath(exclude_dir) + os.sep if exclude_dir else None
    images: List[str] = []
    for item in inputs:
        if osp.isfile(item):
            images.append(item)
        elif osp.isdir(item):
            found = []
            for folder, dirs, files in os.walk(item):
                dirs.sort()
                if excluded and (osp.abspath(folder) + os.sep).startswith(
                        excluded):
                    continue
                found.extend(
                    osp.join(folder, name) for name in sorted(files)
                    if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise SystemExit(
                    f'no images found in folder {item} (searched '
                    f'recursively for {", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        else:
            raise SystemExit(f'image file or folder {item} does not exist')
    unique = list(dict.fromkeys(osp.normpath(path) for path in images))
    return unique


def read_image(path: str) -> np.ndarray:
    """Read an image as mmseg's ``LoadImageFromFile`` does (BGR, uint8).

    Args:
        path (str): Image file.

    Returns:
        np.ndarray: The image, shape (H, W, 3), BGR channel order.

    Raises:
        SystemExit: If the file cannot be read or decoded as an image.
    """
    import mmcv

    if osp.isfile(path) and osp.getsize(path) == 0:
        raise SystemExit(f'image {path} is unreadable: the file is empty')
    try:
        image = mmcv.imread(path, flag='color', channel_order='bgr')
    except Exception as error:  # cv2.error, OSError, ...
        first = (str(error).strip().splitlines() or [type(error).__name__])
        raise SystemExit(f'image {path} is unreadable: {first[0]}')
    if image is None or image.size == 0:
        raise SystemExit(f'image {path} is unreadable: not a PNG/JPEG image '
                         'or the file is damaged')
    return image


def unreadable_images(images: Sequence[str]) -> Dict[str, str]:
    """Find the images that cannot be read, before any model is built.

    Reads headers only (PIL), so it is cheap; files PIL does not know are
    decoded with :func:`read_image` instead.

    Args:
        images (Sequence[str]): Image paths.

    Returns:
        dict[str, str]: Unreadable image -> the reason, in the given order.
    """
    from PIL import Image

    unreadable: Dict[str, str] = {}
    for path in images:
        try:
            with Image.open(path) as image:
                width, height = image.size
            if width > 0 and height > 0:
                continue
        except Exception:
            pass
        try:
            read_image(path)
        except SystemExit as error:
            unreadable[path] = str(error)
    return unreadable


def output_stems(images: Sequence[str]) -> List[str]:
    """File stems of the images, checked to be unique.

    Args:
        images (Sequence[str]): Image paths.

    Returns:
        list[str]: ``osp.splitext(osp.basename(path))[0]`` of each image.

    Raises:
        SystemExit: If two images share a stem (their outputs would
            overwrite each other).
    """
    seen: Dict[str, str] = {}
    stems = []
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in seen:
            raise SystemExit(
                f'images {seen[stem]} and {path} have the same name {stem}: '
                'their outputs would overwrite each other; run them with '
                'different --out folders')
        seen[stem] = path
        stems.append(stem)
    return stems


# ----------------------------------------------------------------- model --


def read_checkpoint(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Load a checkpoint file on the CPU.

    Args:
        path (str): Checkpoint file (as written by mmengine's Runner, or a
            bare state dict).

    Returns:
        tuple[dict, dict]: The state dict (``module.`` prefixes removed) and
        the checkpoint's ``meta`` (empty if it has none).

    Raises:
        SystemExit: If the file is not a readable checkpoint.
    """
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmseg_contrafusion.utils import ActionableError

    try:
        checkpoint = _load_checkpoint(path, map_location='cpu')
    except ActionableError as error:  # refused or corrupt: says why
        raise SystemExit(error.one_line())
    except Exception as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise SystemExit(f'checkpoint {path} is not a readable checkpoint: '
                         f'{first}')
    if not isinstance(checkpoint, dict):
        raise SystemExit(f'checkpoint {path} holds no state dict '
                         f'(it holds a {type(checkpoint).__name__})')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    if not isinstance(state_dict, dict) or not any(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise SystemExit(f'checkpoint {path} holds no model weights')
    state_dict = {
        (key[len('module.'):] if key.startswith('module.') else key): value
        for key, value in state_dict.items()
    }
    return state_dict, meta if isinstance(meta, dict) else {}


def dataset_metainfo(cfg: Any) -> Dict[str, Any]:
    """Classes and palette of the config's test dataset class.

    Args:
        cfg (mmengine.Config): The config.

    Returns:
        dict: ``classes`` and ``palette`` of the dataset class's
        ``METAINFO`` (updated by the dataset config's ``metainfo``), or
        Cityscapes' if the config names no known dataset.
    """
    from mmseg.datasets import CityscapesDataset
    from mmseg.registry import DATASETS

    meta = dict(CityscapesDataset.METAINFO)
    dataset_cfg = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    dataset_cls = DATASETS.get(dataset_cfg.get('type', ''))
    if dataset_cls is not None and getattr(dataset_cls, 'METAINFO', None):
        meta = dict(dataset_cls.METAINFO)
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta


def load_checked_model(config: str,
                       checkpoint: str,
                       device: str = 'cpu',
                       cfg_options: Optional[dict] = None):
    """Build a segmentor with ``init_model`` and load a matching checkpoint.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file trained with that config.
        device (str): Device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides for the config, as for
            ``--cfg-options``. Defaults to None.

    Returns:
        nn.Module: The segmentor in eval mode, with ``dataset_meta``
        (``classes``, ``palette``) from the checkpoint, or from the config's
        dataset class if the checkpoint has none.

    Raises:
        SystemExit: With one line, if a file is missing or unreadable, or the
            checkpoint's weights do not fit the config's model.
    """
    import mmseg_contrafusion  # noqa: F401  (registers the plugin modules)
    from mmengine.config import Config
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    from mmseg.apis import init_model

    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file {path} does not exist')
    try:
        cfg = Config.fromfile(config)
    except Exception as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise SystemExit(f'config {config} could not be read: {first}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise SystemExit(f'config {config} has no `model`')
    from mmseg_contrafusion.utils import strip_pretrained
    strip_pretrained(cfg.model)
    if 'test_pipeline' not in cfg:
        pipeline = ((cfg.get('test_dataloader') or {}).get('dataset')
                    or {}).get('pipeline')
        if not pipeline:
            raise SystemExit(f'config {config} has no `test_pipeline`, which '
                             'inference needs')
        cfg.test_pipeline = pipeline

    state_dict, meta = read_checkpoint(checkpoint)
    # init_model loads non-strictly (a wrong checkpoint only warns), so
    # build without weights, check, then load strictly.
    model = init_model(cfg, None, device='cpu')
    from mmseg_contrafusion.utils import weight_mismatches
    mismatched, total, example = weight_mismatches(model.state_dict(),
                                                   state_dict)
    if mismatched:
        raise SystemExit(
            f'{checkpoint} was not trained with {config}: {mismatched} of '
            f'{total} weights do not match (e.g. {example})')
    _load_checkpoint_to_model(model, dict(state_dict=state_dict), strict=True)
    dataset_meta = meta.get('dataset_meta') or {}
    if not dataset_meta.get('classes') or not dataset_meta.get('palette'):
        dataset_meta = dataset_metainfo(cfg)
    model.dataset_meta = dict(
        classes=tuple(dataset_meta['classes']),
        palette=[list(color) for color in dataset_meta['palette']])
    model.to(device)
    model.eval()
    return model


def predict(model, image: np.ndarray) -> np.ndarray:
    """Segment one image with ``inference_model``.

    Args:
        model (nn.Module): A segmentor from :func:`load_checked_model`.
        image (np.ndarray): BGR image, shape (H, W, 3).

    Returns:
        np.ndarray: Predicted train ids, shape (H, W), dtype uint8.
    """
    from mmseg.apis import inference_model

    result = inference_model(model, image)
    label = result.pred_sem_seg.data.squeeze(0).cpu().numpy()
    return label.astype(np.uint8)


# --------------------------------------------------------------- colours --


def palette_lut(palette: Sequence[Sequence[int]]) -> np.ndarray:
    """A 256-entry colour table: class i gets ``palette[i]``, others black.

    Args:
        palette (Sequence[Sequence[int]]): RGB colour of each class.

    Returns:
        np.ndarray: Shape (256, 3), dtype uint8.
    """
    lut = np.zeros((256, 3), dtype=np.uint8)
    colors = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    lut[:len(colors)] = colors
    return lut


def colorize(label: np.ndarray,
             palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Paint a label map with a palette.

    Args:
        label (np.ndarray): Class indices, shape (H, W).
        palette (Sequence[Sequence[int]]): RGB colour of each class; other
            values (e.g. the ignore index 255) are black.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), dtype uint8.
    """
    return palette_lut(palette)[label.astype(np.uint8)]


def overlay(image_rgb: np.ndarray,
            label: np.ndarray,
            palette: Sequence[Sequence[int]],
            opacity: float = 0.5,
            ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Blend class colours into an image.

    Args:
        image_rgb (np.ndarray): RGB image, shape (H, W, 3).
        label (np.ndarray): Class indices, shape (H, W).
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        opacity (float): Weight of the colours, in [0, 1]. Defaults to 0.5.
        ignore_index (int): Pixels with this value keep the image.
            Defaults to 255.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), dtype uint8.
    """
    colors = colorize(label, palette).astype(np.float32)
    blended = (1.0 - opacity) * image_rgb.astype(np.float32) + opacity * colors
    blended[label == ignore_index] = image_rgb[label == ignore_index]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


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


def save_png(array: np.ndarray, path: str) -> None:
    """Write a uint8 (H, W) or RGB (H, W, 3) array as PNG."""
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(array)).save(path)


# ------------------------------------------------------------------ main --


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Segment the images and write overlays and label maps.

    Args:
        argv (Sequence[str], optional): Command line without the program
            name. Defaults to None (``sys.argv[1:]``).
    """
    args = parse_args(argv)
    # Cheap checks first: no model is built for a typo in a path.
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file {path} does not exist')
    if args.trust_checkpoint:
        from mmseg_contrafusion.utils import TRUST_CHECKPOINT_ENV
        os.environ[TRUST_CHECKPOINT_ENV] = '1'
    images = find_images(args.images, exclude_dir=args.out)
    stems = output_stems(images)
    unreadable = unreadable_images(images)
    readable = [(path, stem) for path, stem in zip(images, stems)
                if path not in unreadable]

    from mmengine.utils import ProgressBar, mkdir_or_exist

    if readable:
        model = load_checked_model(args.config, args.checkpoint, args.device,
                                   args.cfg_options)
        label_dir = osp.join(args.out, 'labels')
        overlay_dir = osp.join(args.out, 'overlays')
        label_lut = None
        if args.label_format == 'labelid':
            label_lut = labelid_lut_for(model, args.checkpoint)
        mkdir_or_exist(label_dir)
        mkdir_or_exist(overlay_dir)
        suffix = LABEL_SUFFIXES[args.label_format]
        palette = model.dataset_meta['palette']
        progress = ProgressBar(len(readable))
        for path, stem in readable:
            image = read_image(path)
            label = predict(model, image)
            save_png(
                overlay(image[..., ::-1], label, palette, args.opacity),
                osp.join(overlay_dir, f'{stem}_overlay.png'))
            save_png(label if label_lut is None else label_lut[label],
                     osp.join(label_dir, f'{stem}{suffix}'))
            progress.update()
        sys.stdout.write('\n')
        print(f'{len(readable)} image(s): {args.label_format} label maps in '
              f'{label_dir}, overlays in {overlay_dir}')
    if unreadable:
        sys.stdout.flush()
        for reason in unreadable.values():
            print(reason, file=sys.stderr)
        raise SystemExit(f'{len(unreadable)} of {len(images)} image(s) '
                         'could not be read (listed above); the others were '
                         'written')


def labelid_lut_for(model, checkpoint: str) -> np.ndarray:
    """The train id -> Cityscapes label id table, for a Cityscapes model.

    Raises:
        SystemExit: If the model does not predict the 19 Cityscapes classes.
    """
    from mmseg.datasets import CityscapesDataset
    classes = model.dataset_meta['classes']
    if tuple(classes) != tuple(CityscapesDataset.METAINFO['classes']):
        raise SystemExit(
            '--label-format labelid needs a model of the 19 Cityscapes '
            f'classes; {checkpoint} predicts {len(classes)} other classes: '
            'use --label-format trainid')
    return trainid_to_labelid_lut()


if __name__ == '__main__':
    main()
