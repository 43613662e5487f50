"""tools/infer.py: overlays and label maps for files and folders; errors."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tool_loader import load_tool, run_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')
PYTHON = sys.executable
MISMATCH = re.compile(r'was not trained with .*: (\d+) of (\d+) weights do '
                      r'not match \(e\.g\. key ')

infer = load_tool('tools/infer.py')


def tool_environment(data_root: str) -> dict:
    env = dict(os.environ)
    env['SYNTHETIC_CITYSCAPES_ROOT'] = data_root + '/'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env['PYTHONWARNINGS'] = 'ignore'
    return env


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_cityscapes):
    """The tiny SegFormer trained for 2 iterations, once for this module."""
    env = tool_environment(synthetic_cityscapes)
    work_dir = str(tmp_path_factory.mktemp('infer_work_dir'))
    result = run_tool([
        'tools/train.py', TINY_CONFIG, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2'
    ], env)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(checkpoint)
    return dict(checkpoint=checkpoint, env=env, root=synthetic_cityscapes)


@pytest.fixture
def in_process(trained, monkeypatch):
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT', trained['root'] + '/')
    return trained


def exit_message(argv) -> str:
    """Run infer.main in this process; return its SystemExit message."""
    with pytest.raises(SystemExit) as info:
        infer.main(argv)
    assert isinstance(info.value.code, str), info.value.code
    assert '\n' not in info.value.code
    return info.value.code


def test_folder_and_file_give_overlays_and_train_ids(trained, tmp_path):
    # A folder (searched recursively: city subfolders) plus a JPEG of
    # another size given as a file.
    val_dir = osp.join(trained['root'], 'leftImg8bit', 'val')
    jpeg = str(tmp_path / 'small_street.jpg')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (80, 96, 3),
                                 dtype=np.uint8)).save(jpeg)
    out = str(tmp_path / 'out')
    result = run_tool([
        'tools/infer.py', TINY_CONFIG, trained['checkpoint'], val_dir, jpeg,
        '--out', out, '--device', 'cpu', '--opacity', '0.5'
    ], trained['env'])
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    assert '3/3' in result.stdout  # mmengine's ProgressBar

    inputs = sorted(
        osp.join(d, f) for d, _, files in os.walk(val_dir)
        for f in files if f.endswith('.png')) + [jpeg]
    assert len(inputs) == 3
    for path in inputs:
        stem = osp.splitext(osp.basename(path))[0]
        width, height = Image.open(path).size
        overlay = Image.open(osp.join(out, 'overlays', f'{stem}_overlay.png'))
        assert overlay.mode == 'RGB' and overlay.size == (width, height)
        label = np.array(
            Image.open(osp.join(out, 'labels', f'{stem}_trainIds.png')))
        assert label.shape == (height, width) and label.dtype == np.uint8
        assert set(np.unique(label)) <= set(range(19))
        # Painted, not a copy of the image.
        image = np.array(Image.open(path).convert('RGB'), dtype=np.int16)
        assert np.abs(np.array(overlay, dtype=np.int16) - image).mean() > 1


def test_label_ids_use_cityscapes_mapping(in_process, tmp_path):
    from cityscapesscripts.helpers.labels import trainId2label

    image = osp.join(in_process['root'], 'leftImg8bit', 'val', 'lindau',
                     'lindau_000000_000019_leftImg8bit.png')
    out = str(tmp_path / 'out')
    infer.main([
        TINY_CONFIG, in_process['checkpoint'], image, '--out', out, '--device',
        'cpu', '--label-format', 'labelid'
    ])
    stem = 'lindau_000000_000019_leftImg8bit'
    assert os.listdir(osp.join(out, 'labels')) == [f'{stem}_labelIds.png']
    label_ids = np.array(
        Image.open(osp.join(out, 'labels', f'{stem}_labelIds.png')))
    assert label_ids.shape == (128, 256)
    allowed = {trainId2label[t].id for t in range(19)}
    assert set(np.unique(label_ids)) <= allowed
    assert 'road' in {
        trainId2label[t].name
        for t in range(19) if trainId2label[t].id == 7
    }


@pytest.mark.parametrize('which', ['config', 'checkpoint', 'image'])
def test_missing_file_is_named(in_process, tmp_path, which):
    image = osp.join(in_process['root'], 'leftImg8bit', 'val')
    args = dict(
        config=TINY_CONFIG, checkpoint=in_process['checkpoint'], image=image)
    missing = str(tmp_path / f'missing_{which}.xyz')
    args[which] = missing
    message = exit_message([
        args['config'], args['checkpoint'], args['image'], '--out',
        str(tmp_path / 'out')
    ])
    assert missing in message and 'does not exist' in message
    assert which in message


def test_folder_without_images(in_process, tmp_path):
    empty = tmp_path / 'no_images'
    empty.mkdir()
    (empty / 'notes.txt').write_text('not an image')
    message = exit_message([
        TINY_CONFIG, in_process['checkpoint'],
        str(empty), '--out',
        str(tmp_path / 'out')
    ])
    assert message.startswith('no images found in folder')
    assert str(empty) in message


@pytest.mark.parametrize('content', [b'this is not a png', b''])
def test_unreadable_images_are_listed_after_the_rest(in_process, tmp_path,
                                                     content, capsys):
    folder = tmp_path / 'images'
    folder.mkdir()
    good = osp.join(in_process['root'], 'leftImg8bit', 'val', 'lindau',
                    'lindau_000000_000019_leftImg8bit.png')
    # Sorted order: a broken file first, then two good ones, another broken.
    bad = [folder / 'a_broken.png', folder / 'd_broken.png']
    for path in bad:
        path.write_bytes(content)
    shutil.copy(good, folder / 'b_good.png')
    shutil.copy(good, folder / 'c_good.png')
    out = tmp_path / 'out'
    message = exit_message([
        TINY_CONFIG, in_process['checkpoint'],
        str(folder), '--out',
        str(out)
    ])
    assert message.startswith('2 of 4 image(s) could not be read')
    assert sorted(os.listdir(
        out / 'labels')) == ['b_good_trainIds.png', 'c_good_trainIds.png']
    listed = capsys.readouterr().err.strip().splitlines()
    assert len(listed) == 2
    for line, path in zip(listed, bad):
        assert str(path) in line and 'unreadable' in line


def test_checkpoint_of_another_model_is_one_line(trained, tmp_path):
    other = str(tmp_path / 'other_model.pth')
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, other)
    image = osp.join(trained['root'], 'leftImg8bit', 'val')
    result = run_tool([
        'tools/infer.py', TINY_CONFIG, other, image, '--out',
        str(tmp_path / 'out')
    ], trained['env'])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'{other} was not trained with {TINY_CONFIG}')
    match = MISMATCH.search(last)
    assert match, last
    mismatched, total = map(int, match.groups())
    assert mismatched == total > 100  # every weight, plus foo.weight
    assert not osp.exists(str(tmp_path / 'out'))


def test_checkpoint_with_other_shapes(in_process, tmp_path):
    # The same architecture with 10 classes: the classifier does not fit.
    image = osp.join(in_process['root'], 'leftImg8bit', 'val')
    message = exit_message([
        TINY_CONFIG, in_process['checkpoint'], image, '--out',
        str(tmp_path / 'out'), '--device', 'cpu', '--cfg-options',
        'model.decode_head.num_classes=10'
    ])
    match = MISMATCH.search(message)
    assert match, message
    mismatched, total = map(int, match.groups())
    assert mismatched == 2 and total > 100  # conv_seg weight and bias
    assert 'decode_head.conv_seg' in message and 'shape' in message


def test_official_evaluator_reads_infer_output_as_is(trained, tmp_path):
    """cityscapesscripts' own CLI, as a user calls it, on ``--label-format
    labelid`` output gives the mIoU of ``tools/test.py --eval mIoU``."""
    import glob
    import json

    out = str(tmp_path / 'out')
    val_dir = osp.join(trained['root'], 'leftImg8bit', 'val')
    result = run_tool([
        'tools/infer.py', TINY_CONFIG, trained['checkpoint'], val_dir, '--out',
        out, '--label-format', 'labelid'
    ], trained['env'])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert len(os.listdir(osp.join(out, 'labels'))) == 2

    export = tmp_path / 'export'
    export.mkdir()
    evaluator = osp.join(
        osp.dirname(PYTHON), 'csEvalPixelLevelSemanticLabeling')
    env = dict(
        trained['env'],
        CITYSCAPES_DATASET=trained['root'],
        CITYSCAPES_RESULTS=osp.join(out, 'labels'),
        CITYSCAPES_EXPORT_DIR=str(export))
    official = subprocess.run([evaluator],
                              cwd=str(tmp_path),
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=300)
    assert official.returncode == 0, official.stdout[-2000:] + official.stderr
    with open(export / 'resultPixelLevelSemanticLabeling.json') as f:
        official_miou = 100 * json.load(f)['averageScoreClasses']

    work_dir = str(tmp_path / 'test')
    tested = run_tool([
        'tools/test.py', TINY_CONFIG, trained['checkpoint'], '--eval', 'mIoU',
        '--work-dir', work_dir
    ], trained['env'])
    assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr
    with open(sorted(glob.glob(osp.join(work_dir, '*', '*.json')))[-1]) as f:
        test_miou = json.load(f)['mIoU']
    assert official_miou == pytest.approx(test_miou, abs=0.01)
