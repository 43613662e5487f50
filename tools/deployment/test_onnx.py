"""Evaluate an ONNX export on the config's test set (ONNX Runtime, CPU).

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx \
        [--eval mIoU mDice] [--threads N] [--out metrics.json] \
        [--cfg-options ...]

The test dataloader and evaluator are the config's (``--eval`` sets an
``IoUMetric``, as in ``tools/test.py``); the model is the exported graph,
run with the config's test pipeline and ``test_cfg`` (whole image, or
sliding windows of the exported shape). The work is done by
:func:`mmseg_contrafusion.deployment.onnx_inference.evaluate_onnx`.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from mmseg_contrafusion.utils import ActionableError, cli_args


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmseg_contrafusion.apis.runner_config import IOU_METRICS

    parser = argparse.ArgumentParser(
        description='Evaluate an ONNX export with ONNX Runtime')
    parser.add_argument('config', help='config the model was exported from')
    parser.add_argument('model', help='the .onnx file')
    parser.add_argument(
        '--eval',
        nargs='+',
        choices=IOU_METRICS,
        help='IoUMetric metrics (default: the config\'s test_evaluator)')
    parser.add_argument(
        '--threads', type=int, help='ONNX Runtime intra-op threads')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    cli_args.add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmseg_contrafusion.analysis.cli import write_json
    from mmseg_contrafusion.apis import read_inference_config
    from mmseg_contrafusion.apis.runner_config import set_iou_metrics
    from mmseg_contrafusion.deployment.onnx_inference import evaluate_onnx

    for path, what in ((args.config, 'config'), (args.model, 'model')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file {path} does not exist')
    try:
        cfg = read_inference_config(args.config, args.cfg_options)
        if args.eval:
            set_iou_metrics(cfg, args.eval)
        metrics = evaluate_onnx(cfg, args.model, args.threads)
    except ActionableError as error:
        raise SystemExit(error.one_line())
    print(' '.join(f'{k}: {v:.2f}' for k, v in metrics.items()))
    write_json(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
