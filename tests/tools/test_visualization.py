"""tools/visualization: predictions grid, training curves, per-class IoU."""
import glob
import json
import math
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmseg_contrafusion.visualization.training_curves import (find_scalars,
                                                              read_scalars,
                                                              split_series)
from tool_loader import load_tool, run_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')

grid_tool = load_tool('tools/visualization/predictions_grid.py')
curves_tool = load_tool('tools/visualization/training_curves.py')
iou_tool = load_tool('tools/visualization/per_class_iou.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_cityscapes):
    """Train the tiny SegFormer 2 iterations (validating at 2), then test it
    with ``--out``: checkpoint, work dir, predictions and metrics JSON."""
    env = dict(os.environ)
    env['SYNTHETIC_CITYSCAPES_ROOT'] = synthetic_cityscapes + '/'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env['PYTHONWARNINGS'] = 'ignore'
    base = tmp_path_factory.mktemp('vis')
    work_dir = str(base / 'work_dir')
    result = run_tool([
        'tools/train.py', TINY_CONFIG, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2'
    ], env)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    pred_dir, test_dir = str(base / 'pred'), str(base / 'test')
    result = run_tool([
        'tools/test.py', TINY_CONFIG, checkpoint, '--eval', 'mIoU', 'mDice',
        '--out', pred_dir, '--work-dir', test_dir
    ], env)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    metrics_files = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    with open(metrics_files[-1]) as f:
        metrics = json.load(f)
    return dict(
        root=synthetic_cityscapes,
        env=env,
        work_dir=work_dir,
        checkpoint=checkpoint,
        pred_dir=pred_dir,
        metrics=metrics)


@pytest.fixture
def in_process(trained, monkeypatch):
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT', trained['root'] + '/')
    return trained


def check_png(path: str, min_width: int, min_height: int) -> np.ndarray:
    """A PNG of at least this size that is not blank."""
    assert osp.isfile(path) and osp.getsize(path) > 1000
    image = Image.open(path)
    assert image.format == 'PNG'
    width, height = image.size
    assert width >= min_width and height >= min_height, image.size
    assert width <= 6000 and height <= 6000, image.size
    pixels = np.array(image.convert('RGB'))
    assert pixels.std() > 5
    return pixels


# ------------------------------------------------------- per_class_iou --


def test_per_class_iou_agrees_with_test_tool(in_process, tmp_path):
    other = str(tmp_path / 'other_pred')
    shutil.copytree(in_process['pred_dir'], other)
    out = str(tmp_path / 'charts' / 'iou.png')
    iou_tool.main([
        in_process['root'], '--split', 'val', '--pred', 'tiny',
        in_process['pred_dir'], '--pred', 'copy', other, '--out', out
    ])
    check_png(out, 600, 300)
    with open(osp.join(tmp_path, 'charts', 'iou.json')) as f:
        report = json.load(f)
    assert len(report['classes']) == 19 and report['classes'][0] == 'road'
    expected = in_process['metrics']
    for name in ('tiny', 'copy'):
        result = report['models'][name]
        assert result['num_images'] == 2
        for key in ('mIoU', 'aAcc', 'mDice'):
            assert math.isclose(
                result[key], expected[key],
                abs_tol=1e-2), (key, result[key], expected[key])
        ious = [v for v in result['IoU'].values() if v is not None]
        assert ious and all(0.0 <= v <= 100.0 for v in ious)
        assert math.isclose(np.mean(ious), result['mIoU'], abs_tol=1e-3)
    assert report['models']['tiny'] == report['models']['copy']


def test_per_class_iou_missing_predictions(in_process, tmp_path):
    empty = tmp_path / 'empty_pred'
    empty.mkdir()
    with pytest.raises(SystemExit) as info:
        iou_tool.main([
            in_process['root'], '--pred', 'none',
            str(empty), '--out',
            str(tmp_path / 'iou.png')
        ])
    message = str(info.value.code)
    assert message.startswith('2 of 2 predictions missing in')
    assert 'tools/test.py' in message


# ----------------------------------------------------- training_curves --


def fake_contrast_run(folder) -> str:
    """A work dir whose scalars.json has nested contrastive loss terms."""
    vis = folder / '20250101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for it in range(1, 31):
        lines.append(
            dict(
                lr=0.01,
                loss=3.0 / it + 0.5,
                **{
                    'decode.loss_ce': 2.0 / it + 0.3,
                    'decode.loss_contrast': 1.0 / it + 0.2,
                    'decode.acc_seg': 40.0 + it
                },
                iter=it,
                step=it))
        if it % 10 == 0:
            lines.append(dict(aAcc=60.0 + it, mIoU=10.0 + it, step=it))
    (vis /
     'scalars.json').write_text('\n'.join(json.dumps(line)
                                          for line in lines) + '\n')
    return str(folder)


def test_training_curves_reads_losses_and_miou(trained, tmp_path):
    path = find_scalars(trained['work_dir'])
    losses, (steps, values) = split_series(read_scalars(path), 'mIoU')
    assert {'loss', 'decode.loss_ce'} <= set(losses)
    assert 'decode.acc_seg' not in losses
    assert losses['loss'][0] == [1, 2]
    assert steps == [2] and len(values) == 1

    fake = fake_contrast_run(tmp_path / 'contrast_run')
    losses, (steps, _) = split_series(read_scalars(find_scalars(fake)), 'mIoU')
    assert {'loss', 'decode.loss_ce', 'decode.loss_contrast'} == set(losses)
    assert steps == [10, 20, 30]


def test_training_curves_cli_writes_one_figure(trained, tmp_path):
    fake = fake_contrast_run(tmp_path / 'contrast_run')
    out = str(tmp_path / 'curves.png')
    result = run_tool([
        'tools/visualization/training_curves.py', trained['work_dir'], fake,
        '--label', 'segformer', '--label', 'contrafusion', '--out', out
    ], trained['env'])
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    # 3 loss panels + mIoU: a 3x2 grid of 4.6x3.4 inch panels at 100 dpi.
    check_png(out, 900, 500)


def test_training_curves_errors(tmp_path):
    with pytest.raises(SystemExit) as info:
        curves_tool.main([str(tmp_path), '--out', str(tmp_path / 'c.png')])
    assert 'no */vis_data/scalars.json in' in str(info.value.code)
    with pytest.raises(SystemExit) as info:
        curves_tool.main([str(tmp_path), str(tmp_path), '--label', 'one'])
    assert info.value.code == 2  # usage error: one --label per run


# ---------------------------------------------------- predictions_grid --


def test_predictions_grid_from_dataset(in_process, tmp_path):
    out = str(tmp_path / 'grid.png')
    grid_tool.main([
        '--data-root', in_process['root'], '--split', 'val', '--num-images',
        '2', '--model', 'model A', TINY_CONFIG, in_process['checkpoint'],
        '--model', 'model B', TINY_CONFIG, in_process['checkpoint'],
        '--device', 'cpu', '--out', out
    ])
    # 2 rows x 4 columns (image | ground truth | A | B) of 3 x 1.5 inches.
    pixels = check_png(out, 1000, 300)
    assert pixels.shape[1] > pixels.shape[0]


def test_predictions_grid_from_image_files(in_process, tmp_path):
    image = osp.join(in_process['root'], 'leftImg8bit', 'val', 'lindau',
                     'lindau_000000_000019_leftImg8bit.png')
    label = osp.join(in_process['root'], 'gtFine', 'val', 'lindau',
                     'lindau_000000_000019_gtFine_labelTrainIds.png')
    out = str(tmp_path / 'grid.png')
    grid_tool.main([
        '--images', image, '--labels', label, '--model', 'tiny', TINY_CONFIG,
        in_process['checkpoint'], '--device', 'cpu', '--opacity', '0.6',
        '--out', out
    ])
    check_png(out, 700, 150)
    with pytest.raises(SystemExit) as info:
        grid_tool.main([
            '--images', image, image, '--labels', label, '--model', 'tiny',
            TINY_CONFIG, in_process['checkpoint']
        ])
    assert info.value.code == 2  # usage error: one label per image
