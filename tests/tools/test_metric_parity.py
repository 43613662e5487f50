"""Our metrics equal the official Cityscapes evaluator's.

``tools/test.py`` runs a small model over the generated Cityscapes-format
validation split and keeps its predictions (``--out``). They are written as
Cityscapes labelId PNGs and scored by cityscapesscripts'
``evalPixelLevelSemanticLabeling`` against the official ``*_labelIds.png``
ground truth. Its 19 class IoUs and their mean must equal what the project's
``IoUMetric`` computes for the same predictions against the converted
``*_labelTrainIds.png`` (to 1e-4), and the mIoU that tools/test.py reported.
"""
import copy
import glob
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')
TOLERANCE = 1e-4


def _fit_checkpoint(root, path, steps=8):
    """A tiny model fitted for a few steps, so that it predicts several
    classes (a random one predicts one or two)."""
    from mmengine.structures import PixelData

    from mmseg.structures import SegDataSample
    from mmseg_contrafusion.analysis.configs import load_config
    from mmseg_contrafusion.analysis.model_builders import build_model
    torch.manual_seed(0)
    cfg = load_config(TINY_CONFIG)
    model = build_model(cfg)
    images, samples = [], []
    for img_path in sorted(glob.glob(osp.join(root, 'leftImg8bit/train/*/*'))):
        label_path = img_path.replace('leftImg8bit/', 'gtFine/').replace(
            '_leftImg8bit.png', '_gtFine_labelTrainIds.png')
        img = np.asarray(Image.open(img_path).convert('RGB'), np.float32)
        label = np.asarray(Image.open(label_path), np.int64)
        img = (img - np.array([123.675, 116.28, 103.53])) / np.array(
            [58.395, 57.12, 57.375])
        images.append(torch.from_numpy(img).permute(2, 0, 1).float())
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        sample.set_metainfo(
            dict(
                img_shape=label.shape,
                pad_shape=label.shape,
                ori_shape=label.shape))
        samples.append(sample)
    inputs = torch.stack(images)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        losses = model.loss(inputs, samples)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def test_run(synthetic_cityscapes, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('parity')
    ckpt = _fit_checkpoint(synthetic_cityscapes, str(tmp / 'tiny.pth'))
    pred_dir, work_dir = tmp / 'pred_trainIds', tmp / 'work_dir'
    env = dict(
        __import__('os').environ,
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        PYTHONWARNINGS='ignore')
    run = subprocess.run([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt, '--eval', 'mIoU',
        'mDice', '--out',
        str(pred_dir), '--work-dir',
        str(work_dir)
    ],
                         cwd=REPO_ROOT,
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    metrics_json = glob.glob(str(work_dir / '*' / '*.json'))
    assert len(metrics_json) == 1
    with open(metrics_json[0]) as f:
        metrics = json.load(f)
    return dict(
        root=synthetic_cityscapes,
        pred_dir=str(pred_dir),
        labelid_dir=str(tmp / 'pred_labelIds'),
        metrics=metrics,
        log=run.stdout + run.stderr)


def _pairs(run):
    """(prediction trainId PNG, GT labelIds PNG, GT labelTrainIds PNG)."""
    gts = sorted(
        glob.glob(osp.join(run['root'], 'gtFine/val/*/*_gtFine_labelIds.png')))
    assert gts, 'no validation ground truth'
    pairs = []
    for gt in gts:
        base = osp.basename(gt).replace('_gtFine_labelIds.png', '')
        pred = osp.join(run['pred_dir'], base + '_leftImg8bit.png')
        assert osp.isfile(pred), f'tools/test.py --out did not keep {pred}'
        pairs.append(
            (pred, gt, gt.replace('_labelIds.png', '_labelTrainIds.png')))
    return pairs


def _official_scores(run):
    """cityscapesscripts' evaluator on labelId PNGs of the predictions."""
    from cityscapesscripts.evaluation import \
        evalPixelLevelSemanticLabeling as cs_eval
    from cityscapesscripts.helpers.labels import trainId2label

    import mmseg_contrafusion  # noqa: F401  (np.in1d for numpy >= 2.4)
    lut = np.zeros(256, np.uint8)
    for train_id, label in trainId2label.items():
        if 0 <= train_id < 255:
            lut[train_id] = label.id
    import os
    os.makedirs(run['labelid_dir'], exist_ok=True)
    preds, gts = [], []
    for pred, gt, _ in _pairs(run):
        train_ids = np.asarray(Image.open(pred))
        assert train_ids.max() < 19
        out = osp.join(run['labelid_dir'],
                       osp.basename(pred).replace('.png', '_labelIds.png'))
        Image.fromarray(lut[train_ids]).save(out)
        preds.append(out)
        gts.append(gt)
    args = copy.copy(cs_eval.args)
    args.evalInstLevelScore = False
    args.evalPixelAccuracy = False
    args.JSONOutput = False
    args.quiet = True
    args.colorized = False
    args.evalLabels = []
    args.predictionPath = run['labelid_dir']
    return cs_eval.evaluateImgLists(preds, gts, args)


def _iou_metric_scores(run):
    """The project's IoUMetric on the same predictions (unrounded)."""
    from mmseg.datasets import CityscapesDataset
    from mmseg.evaluation import IoUMetric
    intersect = union = pred_area = label_area = 0
    for pred, _, train_ids in _pairs(run):
        pred_t = torch.from_numpy(
            np.asarray(Image.open(pred)).astype(np.int64))
        label_t = torch.from_numpy(
            np.asarray(Image.open(train_ids)).astype(np.int64))
        i, u, p, lab = IoUMetric.intersect_and_union(pred_t, label_t, 19, 255)
        intersect, union = intersect + i, union + u
        pred_area, label_area = pred_area + p, label_area + lab
    per_class = IoUMetric.total_area_to_metrics(intersect, union, pred_area,
                                                label_area, ['mIoU'])
    classes = CityscapesDataset.METAINFO['classes']
    return dict(zip(classes,
                    per_class['IoU'].tolist())), float(per_class['aAcc'])


def test_class_ious_match_official_evaluator(test_run):
    official = _official_scores(test_run)
    ours, _ = _iou_metric_scores(test_run)
    assert len(ours) == 19
    # The official list also holds the labels ignored in evaluation (NaN).
    assert set(ours) <= set(official['classScores'])
    for name, value in official['classScores'].items():
        if name not in ours:
            assert np.isnan(value), name
    present = 0
    for name, value in ours.items():
        theirs = official['classScores'][name]
        if np.isnan(value):
            assert np.isnan(theirs), name
            continue
        present += 1
        assert abs(value - theirs) <= TOLERANCE, (name, value, theirs)
    assert present >= 3, 'too few classes to compare'
    # Several classes predicted, not all perfectly.
    nonzero = [v for v in ours.values() if not np.isnan(v) and v > 0]
    assert len(nonzero) >= 2
    our_mean = np.nanmean(list(ours.values()))
    assert abs(our_mean - official['averageScoreClasses']) <= TOLERANCE


def test_tools_test_reports_the_official_miou(test_run):
    """tools/test.py's printed/JSON numbers (rounded to 0.01 %) agree."""
    official = _official_scores(test_run)
    ours, aacc = _iou_metric_scores(test_run)
    reported = test_run['metrics']
    assert abs(reported['mIoU'] -
               100 * official['averageScoreClasses']) <= 0.005 + 1e-6
    # Pixel accuracy from the official confusion matrix (labelIds), over
    # pixels whose ground truth is one of the 19 evaluated classes.
    from cityscapesscripts.helpers.labels import id2label
    conf = np.array(official['confMatrix'], dtype=np.float64)
    evaluated = [
        i for i in range(conf.shape[0])
        if i in id2label and not id2label[i].ignoreInEval
    ]
    official_acc = conf[evaluated, evaluated].sum() / conf[evaluated].sum()
    assert abs(official_acc - aacc) <= TOLERANCE
    assert abs(reported['aAcc'] - 100 * official_acc) <= 0.005 + 1e-6
    # The per-class table in the log matches class by class.
    for name, value in ours.items():
        if np.isnan(value):
            continue
        row = re.search(rf'\|\s*{re.escape(name)}\s*\|\s*([0-9.]+)\s*\|',
                        test_run['log'])
        assert row, f'{name} missing from the per-class table'
        assert abs(float(row.group(1)) -
                   100 * official['classScores'][name]) <= 0.005 + 1e-6
