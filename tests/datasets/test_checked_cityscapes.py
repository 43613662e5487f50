"""CheckedCityscapesDataset: mmseg's Cityscapes data with clear errors."""
import os
import shutil

import pytest

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
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
        os.path.join(d, f)
        for d, _, fs in os.walk(os.path.join(root, 'gtFine')) for f in fs
        if f.endswith('_labelTrainIds.png'))
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


def copy_of(tmp_path, synthetic_cityscapes):
    root = str(tmp_path / 'copy')
    shutil.copytree(synthetic_cityscapes, root)
    return root


def test_empty_split_is_named(tmp_path, synthetic_cityscapes):
    root = copy_of(tmp_path, synthetic_cityscapes)
    (tmp_path / 'copy' / 'leftImg8bit' / 'empty').mkdir()
    with pytest.raises(DatasetError, match='the split is empty') as info:
        build(root, split='empty')
    assert 'leftImg8bit/empty' in str(info.value)


def test_label_values_outside_classes_are_named(tmp_path,
                                                synthetic_cityscapes):
    import cv2
    import numpy as np
    root = copy_of(tmp_path, synthetic_cityscapes)
    dataset = build(root)
    seg_path = dataset.get_data_info(1)['seg_map_path']
    label = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    label[:2, :2] = 33  # a labelId (bicycle), not a trainId
    cv2.imwrite(seg_path, label)
    with pytest.raises(DatasetError) as info:
        dataset.prepare_data(1)
    message = str(info.value)
    assert seg_path in message and '[33]' in message
    assert 'labelTrainIds' in message
    dataset.prepare_data(0)  # the other samples are fine
    assert np.all(cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)[:2, :2] == 33)


@pytest.mark.parametrize('mode', ['gray', 'rgba'])
def test_grayscale_and_rgba_images_load_as_3_channels(tmp_path,
                                                      synthetic_cityscapes,
                                                      mode):
    import cv2
    root = copy_of(tmp_path, synthetic_cityscapes)
    dataset = build(root)
    img_path = dataset.get_data_info(0)['img_path']
    img = cv2.imread(img_path)
    if mode == 'gray':
        cv2.imwrite(img_path, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    else:
        cv2.imwrite(img_path, cv2.cvtColor(img, cv2.COLOR_BGR2BGRA))
    sample = dataset.prepare_data(0)
    assert sample['inputs'].shape == (3, ) + img.shape[:2]


def test_image_smaller_than_crop_is_padded(synthetic_cityscapes):
    """256x128 images with a 256x256 crop: padded, ignore in the padding."""
    from mmseg.models import SegDataPreProcessor
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=(256, 256), cat_max_ratio=0.75),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(
        dict(
            type='CheckedCityscapesDataset',
            data_root=synthetic_cityscapes,
            data_prefix=dict(
                img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=pipeline))
    sample = dataset[0]
    assert sample['inputs'].shape[1:] == (128, 256)
    preprocessor = SegDataPreProcessor(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        size=(256, 256),
        pad_val=0,
        seg_pad_val=255)
    batch = preprocessor(
        dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']]),
        training=True)
    assert batch['inputs'].shape == (1, 3, 256, 256)
    seg = batch['data_samples'][0].gt_sem_seg.data
    assert seg.shape[-2:] == (256, 256)
    assert (seg[:, 128:] == 255).all()
