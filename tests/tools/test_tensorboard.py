"""TensorBoard through mmengine's ``TensorboardVisBackend``, the two ways
README's "Train and test" gives: a config that lists it next to the local
backend, and ``--cfg-options`` on the command line."""
import argparse
import glob
import os.path as osp

from tensorboard.backend.event_processing import event_accumulator

from mmseg_contrafusion.apis.runner_config import read_runner_config
from mmseg_contrafusion.utils import cli_args
from tool_loader import REPO_ROOT, run_tool

TINY = osp.join(
    REPO_ROOT, 'tests/data/configs/contrafusionnet_tiny-gn_synthetic-64x64.py')
# What README says to add to a config.
BOTH_BACKENDS = """\
visualizer = dict(vis_backends=[
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
])
"""
# What README says to pass on the command line (DictAction cannot parse a
# list of dicts, so the local backend's entry is switched).
CFG_OPTION = 'visualizer.vis_backends.0.type=TensorboardVisBackend'


def scalar_tags(work_dir: str) -> dict:
    """Scalar tag -> logged steps, from the TensorBoard event files."""
    files = glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert files, f'no TensorBoard event file under {work_dir}'
    tags = {}
    for path in files:
        acc = event_accumulator.EventAccumulator(path)
        acc.Reload()
        for tag in acc.Tags()['scalars']:
            tags[tag] = [event.step for event in acc.Scalars(tag)]
    return tags


def test_two_iterations_write_loss_contrast_events(tmp_path, tool_env):
    config = tmp_path / 'tiny_tensorboard.py'
    config.write_text(f"_base_ = ['{TINY}']\n" + BOTH_BACKENDS)
    work_dir = str(tmp_path / 'work')
    result = run_tool([
        'tools/train.py',
        str(config), '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2'
    ], tool_env)
    assert result.returncode == 0, result.stderr[-3000:]
    tags = scalar_tags(work_dir)
    contrast = [tag for tag in tags if tag.endswith('loss_contrast')]
    assert contrast == ['decode.loss_contrast'], sorted(tags)
    assert tags['decode.loss_contrast'] == [1, 2]
    assert 'loss' in tags and 'lr' in tags
    # The local backend still writes what tools/visualization reads.
    assert glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))


def parse_cfg_options(*options: str) -> dict:
    """``--cfg-options`` as tools/train.py parses them."""
    parser = argparse.ArgumentParser()
    cli_args.add_cfg_options(parser)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def test_cfg_options_switch_on_tensorboard():
    cfg = read_runner_config(TINY, 'none', parse_cfg_options(CFG_OPTION))
    assert [b['type']
            for b in cfg.visualizer.vis_backends] == ['TensorboardVisBackend']


def test_a_list_of_dicts_does_not_survive_cfg_options():
    """Why README gives the indexed form: DictAction turns ``[dict(...)]``
    into strings, which the visualizer cannot build."""
    options = parse_cfg_options(
        "visualizer.vis_backends=[dict(type='LocalVisBackend'),"
        "dict(type='TensorboardVisBackend')]")
    assert all(isinstance(b, str) for b in options['visualizer.vis_backends'])
