"""make_synthetic_cityscapes: the generated Cityscapes-layout dataset."""
import filecmp
import glob
import hashlib
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import id2label, name2label
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from PIL import Image

from mmseg_contrafusion.datasets.synthetic import (TRAIN_CITIES, VAL_CITIES,
                                                   make_synthetic_cityscapes)

WIDTH, HEIGHT = 128, 64
NUM_TRAIN, NUM_VAL = 3, 2
STEM = re.compile(r'^([a-z]+)_(\d{6})_(\d{6})$')
GT_SUFFIXES = ('_gtFine_polygons.json', '_gtFine_labelIds.png',
               '_gtFine_instanceIds.png', '_gtFine_color.png')
# sha256 of the dataset of ``_generate(root)`` (see ``_tree_sha256``),
# recorded from the generator before it was split into modules: the same
# seed and arguments must keep giving the same bytes (with the pinned
# opencv / Pillow / cityscapesscripts, whose PNG encoders write them).
PINNED_SHA256 = \
    'f182177973b362d82448900530c96b31f5c3d56449d608b867ca683d065cbab3'


def _generate(out_dir, seed=0, **kwargs) -> dict:
    args = dict(
        num_train=NUM_TRAIN,
        num_val=NUM_VAL,
        width=WIDTH,
        height=HEIGHT,
        seed=seed)
    args.update(kwargs)
    return make_synthetic_cityscapes(str(out_dir), **args)


def _files(root) -> list:
    """All files below ``root``, relative, sorted."""
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, names in os.walk(root)
        for f in names)


def _tree_sha256(root) -> str:
    """sha256 over the sorted relative paths and contents of all files."""
    digest = hashlib.sha256()
    for rel in _files(root):
        digest.update(rel.encode() + b'\0')
        with open(osp.join(root, rel), 'rb') as f:
            digest.update(f.read())
        digest.update(b'\0')
    return digest.hexdigest()


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path))


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


def test_generator_writes_the_cityscapes_layout(dataset):
    root, result = dataset
    expected = {'synthetic_cityscapes.json'}
    for split, num, cities in (('train', NUM_TRAIN, TRAIN_CITIES),
                               ('val', NUM_VAL, VAL_CITIES)):
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


def test_generator_output_is_pinned(dataset):
    """Same seed and arguments, same bytes as before the split into
    modules."""
    root, _ = dataset
    assert _tree_sha256(root) == PINNED_SHA256


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
