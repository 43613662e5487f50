"""Tests of the Cityscapes data tools in ``tools/dataset_converters``."""
import filecmp
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import id2label, name2label
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools', 'dataset_converters')
MAKER_PATH = osp.join(TOOLS, 'make_synthetic_cityscapes.py')
CONVERTER_PATH = osp.join(TOOLS, 'cityscapes.py')

WIDTH, HEIGHT = 128, 64
NUM_TRAIN, NUM_VAL = 3, 2
STEM = re.compile(r'^([a-z]+)_(\d{6})_(\d{6})$')
GT_SUFFIXES = ('_gtFine_polygons.json', '_gtFine_labelIds.png',
               '_gtFine_instanceIds.png', '_gtFine_color.png')


def _load(path: str, name: str):
    """Import a tool script from its file (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


maker = _load(MAKER_PATH, '_test_make_synthetic_cityscapes')
converter = _load(CONVERTER_PATH, '_test_cityscapes_converter')


def _generate(out_dir, seed=0, **kwargs) -> dict:
    args = dict(
        num_train=NUM_TRAIN,
        num_val=NUM_VAL,
        width=WIDTH,
        height=HEIGHT,
        seed=seed)
    args.update(kwargs)
    return maker.make_synthetic_cityscapes(str(out_dir), **args)


def _files(root) -> list:
    """All files below ``root``, relative, sorted."""
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, names in os.walk(root)
        for f in names)


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _run_tool(path: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, path, *map(str, args)],
                          capture_output=True,
                          text=True,
                          timeout=120)


def _gt_prefix(img_path: str) -> str:
    """``.../leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png`` ->
    ``.../gtFine/<split>/<city>/<stem>``."""
    stem = img_path[:-len('_leftImg8bit.png')]
    return stem.replace('leftImg8bit', 'gtFine', 1)


def _image_of(label_path: str) -> str:
    """The image of a ``*_gtFine_labelIds.png``."""
    stem = label_path[:-len('_gtFine_labelIds.png')]
    return stem.replace('gtFine', 'leftImg8bit', 1) + '_leftImg8bit.png'


def _label_maps(root) -> list:
    return sorted(
        glob.glob(osp.join(root, 'gtFine', '*', '*', '*_labelIds.png')))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """A tiny generated dataset that the tests only read."""
    root = tmp_path_factory.mktemp('synthetic')
    result = _generate(root)
    return str(root), result


# --------------------------------------------------------------------------
# make_synthetic_cityscapes.py
# --------------------------------------------------------------------------
def test_generator_writes_the_cityscapes_layout(dataset):
    root, result = dataset
    expected = {'synthetic_cityscapes.json'}
    for split, num, cities in (('train', NUM_TRAIN, maker.TRAIN_CITIES),
                               ('val', NUM_VAL, maker.VAL_CITIES)):
        samples = result['samples'][split]
        assert len(samples) == num
        for sample in samples:
            city, stem = sample.split('/')
            match = STEM.match(stem)
            assert match and match.group(1) == city, sample
            assert city in cities
            expected.add(f'leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png')
            expected.update(f'gtFine/{split}/{city}/{stem}{suffix}'
                            for suffix in GT_SUFFIXES)
    assert _files(root) == sorted(expected)
    # different cities in train and val, as in Cityscapes
    train_cities = {s.split('/')[0] for s in result['samples']['train']}
    val_cities = {s.split('/')[0] for s in result['samples']['val']}
    assert train_cities and val_cities and not train_cities & val_cities

    for img_path in glob.glob(osp.join(root, 'leftImg8bit', '*', '*', '*')):
        img = Image.open(img_path)
        assert img.mode == 'RGB' and img.size == (WIDTH, HEIGHT)
        gt = _gt_prefix(img_path)
        assert Image.open(gt + '_gtFine_labelIds.png').mode == 'L'
        assert _read(gt + '_gtFine_instanceIds.png').dtype == np.uint16
        assert Image.open(gt + '_gtFine_color.png').mode == 'RGBA'
        with open(gt + '_gtFine_polygons.json') as f:
            ann = json.load(f)
        assert list(ann) == ['imgHeight', 'imgWidth', 'objects']
        assert (ann['imgHeight'], ann['imgWidth']) == (HEIGHT, WIDTH)
        assert len(ann['objects']) > 10
        for obj in ann['objects']:
            assert set(obj) == {'label', 'polygon'}
            assert obj['label'] in name2label
            poly = np.asarray(obj['polygon'])
            assert poly.ndim == 2 and poly.shape[0] >= 3 and poly.shape[1] == 2
            assert poly.dtype.kind == 'i'
            assert poly.min() >= 0 and poly[:, 0].max() < WIDTH and \
                poly[:, 1].max() < HEIGHT


def test_generator_is_deterministic(tmp_path, dataset):
    root, _ = dataset
    again = tmp_path / 'again'
    _generate(again, seed=0, nproc=2)  # the worker pool gives the same bytes
    files = _files(root)
    assert _files(again) == files
    _, mismatch, errors = filecmp.cmpfiles(
        root, str(again), files, shallow=False)
    assert not mismatch and not errors

    other = tmp_path / 'other'
    _generate(other, seed=1)
    for split in ('train', 'val'):
        a = sorted(glob.glob(osp.join(root, 'leftImg8bit', split, '*', '*')))
        b = sorted(glob.glob(osp.join(other, 'leftImg8bit', split, '*', '*')))
        assert [osp.basename(p) for p in a] == [osp.basename(p) for p in b]
        for pa, pb in zip(a, b):
            assert not np.array_equal(_read(pa), _read(pb))


def test_label_images_are_cityscapesscripts_renderings(dataset, tmp_path):
    root, _ = dataset
    for label_path in _label_maps(root):
        gt = label_path[:-len('_labelIds.png')]
        json_path = gt + '_polygons.json'
        fresh = str(tmp_path / 'ids.png')
        json2labelImg(json_path, fresh, 'ids')
        np.testing.assert_array_equal(_read(label_path), _read(fresh))
        json2labelImg(json_path, fresh, 'color')
        np.testing.assert_array_equal(_read(gt + '_color.png'), _read(fresh))

        ann = Annotation()
        ann.fromJsonFile(json_path)
        instances = np.asarray(createInstanceImage(ann, 'ids'))
        written = _read(gt + '_instanceIds.png')
        np.testing.assert_array_equal(written, instances)
        # "things" are id * 1000 + k, "stuff" is the plain label id
        ids = np.unique(written)
        for value in ids:
            label_id = value // 1000 if value >= 1000 else value
            label = id2label[int(label_id)]
            assert label.hasInstances == (value >= 1000), value
        np.testing.assert_array_equal(
            np.where(written >= 1000, written // 1000, written),
            _read(label_path))


def test_scenes_are_street_like(dataset):
    root, result = dataset
    present = set()
    top_counts = np.zeros(34)
    rgb_sky, rgb_road, rgb_veg = [], [], []
    for label_path in _label_maps(root):
        ids = _read(label_path)
        present |= {id2label[int(i)].trainId for i in np.unique(ids)}
        h, w = ids.shape
        # the top centre is mostly sky
        top = ids[:int(0.15 * h), int(0.3 * w):int(0.7 * w)]
        top_counts += np.bincount(top.ravel(), minlength=34)
        # the road dominates the bottom centre
        bottom = ids[int(0.75 * h):int(0.9 * h), int(0.35 * w):int(0.65 * w)]
        assert (bottom == name2label['road'].id).mean() > 0.5, label_path

        img_path = _image_of(label_path)
        img = _read(img_path).astype(np.float64)
        rgb_sky.append(img[ids == name2label['sky'].id].mean(0))
        rgb_road.append(img[ids == name2label['road'].id].mean(0))
        if (ids == name2label['vegetation'].id).any():
            rgb_veg.append(img[ids == name2label['vegetation'].id].mean(0))
        # not noise: neighbouring pixels are much more alike than random ones
        gray = img.mean(2)
        neighbour = np.abs(np.diff(gray, axis=1)).mean()
        shuffled = np.random.default_rng(0).permutation(gray.ravel())
        assert neighbour < 0.6 * np.abs(np.diff(shuffled)).mean()
    train_classes = present - {255}
    assert len(train_classes) >= 12, sorted(train_classes)
    assert {0, 1, 2, 5, 8, 10, 13} <= train_classes  # road ... sky, car
    assert np.argmax(top_counts) == name2label['sky'].id
    assert top_counts[name2label['sky'].id] / top_counts.sum() > 0.4
    # the pixels look like their class: bright sky, grey road, green trees
    assert np.mean([s.mean() - r.mean()
                    for s, r in zip(rgb_sky, rgb_road)]) > 30
    assert all(v[1] > v[2] for v in rgb_veg)
    assert result['train_id_images'].keys() == train_classes


def test_generator_refuses_other_folders(tmp_path):
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'keep.txt').write_text('data')
    with pytest.raises(FileExistsError, match=re.escape(str(other))):
        _generate(other, num_train=1, num_val=0)
    assert _files(other) == ['keep.txt']
    # --overwrite replaces leftImg8bit/ and gtFine/ and keeps the rest
    _generate(other, num_train=1, num_val=0, overwrite=True)
    assert 'keep.txt' in _files(other)

    # a previous output is replaced without --overwrite, stale files go
    previous = tmp_path / 'previous'
    _generate(previous, num_train=2, num_val=1)
    _generate(previous, num_train=1, num_val=1)
    assert len(glob.glob(str(previous / 'leftImg8bit' / '*' / '*' / '*'))) \
        == 2


def test_generator_cli(tmp_path):
    out = tmp_path / 'cli'
    proc = _run_tool(MAKER_PATH, out, '--num-train', 1, '--num-val', 1,
                     '--width', 64, '--height', 32, '--seed', 3)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout
    assert len(glob.glob(str(out / 'leftImg8bit' / '*' / '*' / '*.png'))) == 2
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'x').write_text('x')
    proc = _run_tool(MAKER_PATH, tmp_path / 'busy')
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert str(tmp_path / 'busy') in proc.stderr


# --------------------------------------------------------------------------
# cityscapes.py
# --------------------------------------------------------------------------
@pytest.mark.parametrize('nproc', [1, 2])
def test_converter_writes_train_ids_and_split_lists(tmp_path, nproc):
    root = tmp_path / 'cityscapes'
    generated = _generate(root)
    lists = tmp_path / 'lists'
    result = converter.convert_cityscapes(
        str(root), out_dir=str(lists), nproc=nproc)

    label_maps = _label_maps(str(root))
    assert result['num_converted'] == len(label_maps) == NUM_TRAIN + NUM_VAL
    lut = np.full(256, 255, np.uint8)
    for label in id2label.values():
        if label.id >= 0:  # not the license plate, which is never drawn
            lut[label.id] = label.trainId
    for label_path in label_maps:
        train_ids = _read(
            label_path.replace('_labelIds.png', '_labelTrainIds.png'))
        assert train_ids.dtype == np.uint8
        assert set(np.unique(train_ids)) <= set(range(19)) | {255}
        np.testing.assert_array_equal(train_ids, lut[_read(label_path)])

    assert sorted(os.listdir(lists)) == ['train.txt', 'val.txt']
    for split in ('train', 'val'):
        with open(lists / f'{split}.txt') as f:
            lines = f.read().splitlines()
        assert lines == sorted(generated['samples'][split])
        assert result['splits'][split] == lines
        # what mmseg's BaseSegDataset builds from ann_file
        for line in lines:
            assert osp.isfile(
                osp.join(root, 'leftImg8bit', split,
                         line + '_leftImg8bit.png'))
            assert osp.isfile(
                osp.join(root, 'gtFine', split,
                         line + '_gtFine_labelTrainIds.png'))
    assert result['missing_images'] == []


def test_converter_defaults_to_the_root(tmp_path):
    root = tmp_path / 'cityscapes'
    _generate(root, num_train=1, num_val=1, width=64, height=32)
    proc = _run_tool(CONVERTER_PATH, root, '--nproc', 2)
    assert proc.returncode == 0, proc.stderr
    assert (root / 'train.txt').read_text().count('\n') == 1
    assert (root / 'val.txt').read_text().count('\n') == 1
    assert not (root / 'test.txt').exists()
    assert len(
        glob.glob(str(root / 'gtFine' / '*' / '*' /
                      '*_labelTrainIds.png'))) == 2


def test_converter_reports_bad_annotations(tmp_path):
    root = tmp_path / 'cityscapes'
    _generate(root, num_train=2, num_val=0, width=64, height=32)
    bad = glob.glob(str(root / 'gtFine' / 'train' / '*' / '*.json'))[0]
    with open(bad) as f:
        ann = json.load(f)
    ann['objects'][0]['label'] = 'unicorn'
    with open(bad, 'w') as f:
        json.dump(ann, f)
    # cityscapesscripts sys.exit()s on unknown labels: this must neither
    # kill a worker silently nor hang the pool
    with pytest.raises(SystemExit) as info:
        converter.convert_cityscapes(str(root), nproc=2)
    assert bad in str(info.value.code)
    assert '\n' not in str(info.value.code)


def _expect_error(root) -> str:
    with pytest.raises(SystemExit) as info:
        converter.convert_cityscapes(str(root))
    message = str(info.value.code)
    assert '\n' not in message
    assert str(root) in message
    return message


def test_converter_errors_name_the_path_and_the_fix(tmp_path):
    missing = tmp_path / 'no_such_root'
    message = _expect_error(missing)
    assert 'does not exist' in message
    assert 'leftImg8bit_trainvaltest.zip' in message
    assert 'gtFine_trainvaltest.zip' in message

    empty = tmp_path / 'empty'
    empty.mkdir()
    message = _expect_error(empty)
    assert 'not a Cityscapes tree' in message
    assert 'leftImg8bit' in message

    (empty / 'leftImg8bit').mkdir()
    message = _expect_error(empty)
    assert 'gtFine' in message and 'gtFine_trainvaltest.zip' in message

    (empty / 'gtFine' / 'train' / 'aachen').mkdir(parents=True)
    message = _expect_error(empty)
    assert '_polygons.json' in message
    assert str(empty / 'gtFine') in message


def test_converter_cli_error_is_one_line(tmp_path):
    missing = tmp_path / 'no_such_root'
    proc = _run_tool(CONVERTER_PATH, missing)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(missing) in proc.stderr


def test_make_data_generates_and_converts(tmp_path):
    """``make data`` (named in README) runs both steps into the given root."""
    root = tmp_path / 'synthetic'
    result = subprocess.run(
        ['make', 'data', f'SYNTHETIC_CITYSCAPES_ROOT={root}',
         'DATA_ARGS=--num-train 2 --num-val 1 --width 64 --height 32'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert len((root / 'train.txt').read_text().split()) == 2
    assert len((root / 'val.txt').read_text().split()) == 1
    train_ids = glob.glob(str(root / 'gtFine' / 'train' / '*' /
                              '*_gtFine_labelTrainIds.png'))
    assert len(train_ids) == 2
