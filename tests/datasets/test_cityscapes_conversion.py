"""convert_cityscapes: labelTrainIds images and split lists."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from mmseg_contrafusion.datasets.cityscapes_conversion import \
    convert_cityscapes
from mmseg_contrafusion.datasets.synthetic import make_synthetic_cityscapes

NUM_TRAIN, NUM_VAL = 3, 2


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize('nproc', [1, 2])
def test_converter_writes_train_ids_and_split_lists(tmp_path, nproc):
    root = tmp_path / 'cityscapes'
    generated = make_synthetic_cityscapes(
        str(root), num_train=NUM_TRAIN, num_val=NUM_VAL, width=128, height=64)
    lists = tmp_path / 'lists'
    result = convert_cityscapes(str(root), out_dir=str(lists), nproc=nproc)

    label_maps = sorted(
        glob.glob(str(root / 'gtFine' / '*' / '*' / '*_labelIds.png')))
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


def test_converter_reports_bad_annotations(tmp_path):
    root = tmp_path / 'cityscapes'
    make_synthetic_cityscapes(
        str(root), num_train=2, num_val=0, width=64, height=32)
    bad = glob.glob(str(root / 'gtFine' / 'train' / '*' / '*.json'))[0]
    with open(bad) as f:
        ann = json.load(f)
    ann['objects'][0]['label'] = 'unicorn'
    with open(bad, 'w') as f:
        json.dump(ann, f)
    # cityscapesscripts sys.exit()s on unknown labels: this must neither
    # kill a worker silently nor hang the pool
    with pytest.raises(SystemExit) as info:
        convert_cityscapes(str(root), nproc=2)
    assert bad in str(info.value.code)
    assert '\n' not in str(info.value.code)


def _expect_error(root) -> str:
    with pytest.raises(SystemExit) as info:
        convert_cityscapes(str(root))
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
