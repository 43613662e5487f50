"""Export a segmentor config to ONNX (mmseg 0.x's ``pytorch2onnx.py``).

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT] \
        --shape H W --output-file OUT.onnx [--verify] [--image FILE] \
        [--dynamic-export] [--opset 18] [--cfg-options ...]

Input of the exported model: a normalised float32 batch (N, 3, H, W), as
the config's data preprocessor gives; output: per-class logits at the
input's resolution (``encode_decode``). ``OUT.json`` beside it holds mean,
std, channel order, classes, palette, shape and opset. Without
``--checkpoint`` the config's random init is exported (for benchmarking).
``--verify`` runs ONNX Runtime and PyTorch on a real image (the first of
the config's test set, or ``--image``) and exits non-zero above a relative
error of 1e-4 or below 99.99% argmax agreement. The work is done by
:mod:`mmseg_contrafusion.deployment.onnx_export`.
"""
import argparse
import os
from typing import Optional, Sequence

from mmseg_contrafusion.analysis.cli import parse_shape
from mmseg_contrafusion.utils import ActionableError, cli_args


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmseg_contrafusion.deployment.onnx_export import DEFAULT_OPSET

    parser = argparse.ArgumentParser(
        description='Export a segmentor to ONNX (logits at input size)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--checkpoint', help='checkpoint (default: the random init)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[512, 512],
        help='input size H W (or one number for a square)')
    parser.add_argument(
        '--output-file', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare ONNX Runtime with PyTorch on a real image')
    parser.add_argument(
        '--image', help='image for --verify (default: the first test image)')
    parser.add_argument(
        '--dynamic-export',
        action='store_true',
        help='dynamic batch, height and width')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    cli_args.add_trust_checkpoint(parser)
    cli_args.add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmcv import imread

    from mmseg_contrafusion.deployment import onnx_export as ox

    cli_args.apply_trust_checkpoint(args)
    shape = parse_shape(args.shape)
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if path is not None and not os.path.isfile(path):
            raise SystemExit(f'{what} file {path} does not exist')
    try:
        model = ox.build_segmentor(args.config, args.checkpoint,
                                   args.cfg_options)
        meta = ox.export_onnx(model, shape, args.output_file, args.opset,
                              args.dynamic_export)
        print(f'wrote {args.output_file} (input 1x3x{shape[0]}x{shape[1]}'
              f'{", dynamic" if args.dynamic_export else ""}, opset '
              f'{args.opset}) and its JSON')
        if args.verify:
            image = ox.image_for(model.cfg, args.image)
            inputs = ox.preprocess_image(
                imread(image), shape,
                model.cfg.model.get('data_preprocessor') or {})
            meta['verify'] = dict(
                image=image, **ox.verify_onnx(args.output_file, model, inputs))
            print(f'verified on {image}: max relative error '
                  f'{meta["verify"]["relative_error"]:.2e}, argmax agreement '
                  f'{meta["verify"]["argmax_agreement"]:.4%}')
    except ActionableError as error:
        raise SystemExit(error.one_line())
    return meta


if __name__ == '__main__':
    main()
