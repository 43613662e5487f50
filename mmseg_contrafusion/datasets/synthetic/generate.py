"""The synthetic dataset: tasks per image, the output folder and the run."""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence

from cityscapesscripts.helpers.labels import id2label

from ..cityscapes_conversion import run_tasks
from .export import generate_sample

TRAIN_CITIES = ('aachen', 'bochum', 'bremen')
VAL_CITIES = ('frankfurt', 'lindau', 'munster')
SPLIT_CITIES = {'train': TRAIN_CITIES, 'val': VAL_CITIES}
# Cityscapes annotates the 20th frame of each 30-frame snippet.
FRAME_ID = 19
# Written into the output folder; marks it as ours, so that a later run may
# replace it without ``--overwrite``.
MARKER_FILE = 'synthetic_cityscapes.json'
GENERATOR_VERSION = 1
# Recorded in MARKER_FILE (the front end that wrote the first version).
GENERATOR = 'tools/dataset_converters/make_synthetic_cityscapes.py'
# What a previous run wrote, and what is replaced by the next one.
GENERATED_ITEMS = ('leftImg8bit', 'gtFine', MARKER_FILE, 'train.txt',
                   'val.txt', 'test.txt')


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    """Create ``out_dir``, or clear what a previous run wrote there."""
    # 'new/..' must be checked as the existing folder it resolves to
    out_dir = osp.abspath(out_dir)
    if osp.isfile(out_dir):
        raise FileExistsError(f'{out_dir} is a file, not a folder: choose '
                              'another output folder.')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        ours = osp.isfile(osp.join(out_dir, MARKER_FILE))
        if not (ours or overwrite):
            raise FileExistsError(
                f'{out_dir} is not empty and is not a synthetic Cityscapes '
                f'folder (no {MARKER_FILE}): choose an empty or new folder, '
                'or pass --overwrite to replace its leftImg8bit/ and gtFine/.')
        for name in GENERATED_ITEMS:
            path = osp.join(out_dir, name)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.exists(path):
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)


def _city_of(index: int, num: int, cities: Sequence[str]) -> str:
    """Split ``num`` images into consecutive blocks, one per city."""
    used = min(len(cities), num)
    return cities[index * used // num]


def make_synthetic_cityscapes(out_dir: str,
                              num_train: int = 24,
                              num_val: int = 8,
                              width: int = 512,
                              height: int = 256,
                              seed: int = 0,
                              nproc: int = 1,
                              overwrite: bool = False,
                              verbose: bool = False) -> Dict:
    """Generate a synthetic dataset in the official Cityscapes layout.

    Args:
        out_dir (str): Output folder. It must be empty, new, or the output of
            a previous run (which is replaced), unless ``overwrite``.
        num_train (int): Number of training images. Defaults to 24.
        num_val (int): Number of validation images. Defaults to 8.
        width (int): Image width. Defaults to 512.
        height (int): Image height. Defaults to 256.
        seed (int): Random seed; the same arguments give identical files.
            Defaults to 0.
        nproc (int): Number of worker processes. Defaults to 1.
        overwrite (bool): Replace ``leftImg8bit/`` and ``gtFine/`` of a
            non-empty folder that is not a previous output. Defaults to False.
        verbose (bool): Print a progress bar. Defaults to False.

    Returns:
        dict: ``out_dir``; ``samples``, ``{split: [city/stem, ...]}``;
        ``num_files``; ``label_ids``, ``{split: {stem: [label ids]}}`` present
        in each label image; ``train_id_images``, ``{trainId: number of
        images containing it}``.

    Raises:
        ValueError: If a size or count is out of range.
        FileExistsError: If ``out_dir`` holds other data.
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError('num_train and num_val must be >= 0 and not both 0, '
                         f'got {num_train} and {num_val}.')
    if width < 32 or height < 16:
        raise ValueError(
            f'the image size must be at least 32x16, got {width}x{height}.')
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}.')
    _prepare_out_dir(out_dir, overwrite)

    tasks = []
    splits = (('train', num_train), ('val', num_val))
    for split_idx, (split, num) in enumerate(splits):
        counters: Dict[str, int] = {}
        for i in range(num):
            city = _city_of(i, num, SPLIT_CITIES[split])
            seq = counters.get(city, 0)
            counters[city] = seq + 1
            tasks.append(
                dict(
                    out_dir=out_dir,
                    split=split,
                    city=city,
                    stem=f'{city}_{seq:06d}_{FRAME_ID:06d}',
                    width=width,
                    height=height,
                    seed=[seed, split_idx, i]))

    results = run_tasks(generate_sample, tasks, nproc, verbose)

    samples: Dict[str, List[str]] = {'train': [], 'val': []}
    label_ids: Dict[str, Dict[str, List[int]]] = {'train': {}, 'val': {}}
    train_id_images: Dict[int, int] = {}
    for res in results:
        samples[res['split']].append(res['stem'])
        label_ids[res['split']][res['stem']] = res['label_ids']
        for train_id in {id2label[i].trainId for i in res['label_ids']}:
            if 0 <= train_id < 255:
                train_id_images[train_id] = train_id_images.get(train_id,
                                                                0) + 1
    meta = dict(
        generator=GENERATOR,
        version=GENERATOR_VERSION,
        num_train=num_train,
        num_val=num_val,
        width=width,
        height=height,
        seed=seed)
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(meta, f, indent=4)
        f.write('\n')
    return dict(
        out_dir=out_dir,
        samples=samples,
        num_files=5 * len(results) + 1,
        label_ids=label_ids,
        train_id_images=dict(sorted(train_id_images.items())))
