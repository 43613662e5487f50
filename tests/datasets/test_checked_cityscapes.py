"""CheckedCityscapesDataset: mmseg's Cityscapes data with clear errors."""
import os
import shutil

import pytest
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules

import mmseg_contrafusion  # noqa: F401
from mmseg_contrafusion.datasets.checked_cityscapes import DatasetError

register_all_modules(init_default_scope=True)

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def build(root, split='train', **kwargs):
    return DATASETS.build(
        dict(
            type='CheckedCityscapesDataset',
            data_root=root,
            data_prefix=dict(
                img_path=f'leftImg8bit/{split}',
                seg_map_path=f'gtFine/{split}'),
            pipeline=PIPELINE,
            **kwargs))


def test_loads_like_mmseg_cityscapes(synthetic_cityscapes):
    dataset = build(synthetic_cityscapes)
    assert len(dataset) == 4
    assert dataset.metainfo['classes'][0] == 'road'
    sample = dataset[0]
    seg = sample['data_samples'].gt_sem_seg.data
    assert sample['inputs'].shape[1:] == seg.shape[1:]
    assert set(seg.unique().tolist()) <= set(range(19)) | {255}


def test_split_list_from_converter(synthetic_cityscapes):
    dataset = build(synthetic_cityscapes, split='val', ann_file='val.txt')
    assert len(dataset) == 2


def test_missing_data_root_names_path_and_fix(tmp_path):
    root = str(tmp_path / 'cityscapes')
    with pytest.raises(DatasetError, match='does not exist') as info:
        build(root)
    assert root in str(info.value)
    assert 'tools/dataset_converters/cityscapes.py' in str(info.value)


def test_not_a_cityscapes_folder(tmp_path):
    (tmp_path / 'images').mkdir()
    with pytest.raises(DatasetError, match='not a Cityscapes tree') as info:
        build(str(tmp_path))
    assert 'leftImg8bit/train' in str(info.value)


def test_image_without_label_names_both(tmp_path, synthetic_cityscapes):
    root = str(tmp_path / 'copy')
    shutil.copytree(synthetic_cityscapes, root)
    labels = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, 'gtFine'))
        for f in fs if f.endswith('_labelTrainIds.png'))
    os.remove(labels[0])
    with pytest.raises(DatasetError, match='labelTrainIds') as info:
        build(root, split=labels[0].split(os.sep)[-3])
    assert labels[0] in str(info.value)


def test_unreadable_image_names_the_file(tmp_path, synthetic_cityscapes):
    root = str(tmp_path / 'copy')
    shutil.copytree(synthetic_cityscapes, root)
    dataset = build(root)
    img_path = dataset.get_data_info(0)['img_path']
    with open(img_path, 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(DatasetError) as info:
        dataset.prepare_data(0)
    assert img_path in str(info.value)
