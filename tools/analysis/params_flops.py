"""Parameters and FLOPs of segmentors, from their configs.

    python tools/analysis/params_flops.py CONFIG [CONFIG ...] [--shape 512 512]

For each config it builds the model (random init by default, so no weights
are downloaded; ``SyncBN`` reverted to ``BN``) and reports:

* ``params total``: every parameter of the built segmentor.
* ``params inference``: the parameters that the inference forward
  (``model.encode_decode``) depends on: those that receive a gradient from
  its output on a probe image. Parameters that only training uses
  (auxiliary heads, contrastive projection heads) are listed as
  training-only.
* ``FLOPs``: of that inference forward at ``--shape``, counted by
  mmengine's ``FlopAnalyzer`` (one multiply-add = one FLOP, as mmseg's
  ``get_flops.py``). Ops without a counter are named in the output.

``--json OUT`` writes the figures. The code is in
``mmseg_contrafusion.analysis`` (``params``, ``flops``).
"""
import argparse
import sys

from mmseg_contrafusion.analysis import cli
from mmseg_contrafusion.analysis.configs import expand_configs
from mmseg_contrafusion.analysis.flops import (analyse_config,
                                               format_params_flops)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters (total and inference-time) and FLOPs of '
        'segmentors')
    cli.add_configs(parser)
    cli.add_shape(parser, cli.SHAPE_HELP + ' for FLOPs')
    parser.add_argument(
        '--no-flops', action='store_true', help='only count parameters')
    cli.add_random_init(parser)
    cli.add_device(parser, 'cpu or cuda')
    parser.add_argument('--json', help='write the figures to this JSON file')
    cli.add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shape = cli.parse_shape(args.shape)
    results = [
        analyse_config(path, shape, not args.no_flops, args.random_init,
                       args.cfg_options, args.device)
        for path in expand_configs(args.configs)
    ]
    print(format_params_flops(results, shape, not args.no_flops))
    cli.write_json(dict(shape=list(shape), results=results), args.json)
    return results


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
