"""Run a trained segmentor on image files or folders.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_FOLDER [...] --out DIR \
        [--opacity 0.5] [--device cpu] [--label-format trainid|labelid] \
        [--backend pytorch|onnxruntime] [--trust-checkpoint] \
        [--cfg-options KEY=VALUE ...]

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

The work is done by :func:`mmseg_contrafusion.apis.segment_images`.
"""
import argparse
import sys
from typing import Optional, Sequence

from mmseg_contrafusion.apis import (BACKENDS, IMAGE_EXTENSIONS, LABEL_FORMATS,
                                     InferenceInputError, resolve_device,
                                     segment_images)
from mmseg_contrafusion.utils import ActionableError, cli_args
from mmseg_contrafusion.utils.checkpoint_utils import CheckpointMismatchError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``: without the program name)."""
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
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='pytorch (CHECKPOINT is a .pth) or onnxruntime (CHECKPOINT is '
        'the .onnx of tools/deployment/pytorch2onnx.py; slides windows of '
        'its shape over larger images)')
    cli_args.add_trust_checkpoint(parser)
    cli_args.add_cfg_options(parser)
    args = parser.parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    try:
        args.device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Segment the images and write overlays and label maps."""
    try:
        args = parse_args(argv)
        cli_args.apply_trust_checkpoint(args)
        result = segment_images(
            args.config,
            args.checkpoint,
            args.images,
            args.out,
            args.opacity,
            args.device,
            args.label_format,
            args.cfg_options,
            backend=args.backend)
    except (InferenceInputError, CheckpointMismatchError) as error:
        raise SystemExit(str(error))
    except ActionableError as error:  # a refused or corrupt checkpoint
        raise SystemExit(error.one_line())
    if result.written:
        print(f'{len(result.written)} image(s): {args.label_format} label '
              f'maps in {result.label_dir}, overlays in {result.overlay_dir}')
    if result.unreadable:
        sys.stdout.flush()
        for reason in result.unreadable.values():
            print(reason, file=sys.stderr)
        raise SystemExit(f'{len(result.unreadable)} of {len(result.images)} '
                         'image(s) could not be read (listed above); the '
                         'others were written')


if __name__ == '__main__':
    main()
