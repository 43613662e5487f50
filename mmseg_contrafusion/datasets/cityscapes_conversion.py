"""Prepare a Cityscapes tree for training with mmseg.

The library part of ``tools/dataset_converters/cityscapes.py`` (same
interface as mmseg's converter of that name):

1. Renders ``*_gtFine_labelTrainIds.png`` (the 19 training classes as
   0..18, everything else 255) next to every ``*_gtFine_polygons.json``
   under ``CITYSCAPES_ROOT/gtFine``, with cityscapesscripts' own
   ``json2labelImg``.
2. Writes ``train.txt``, ``val.txt`` and ``test.txt`` (for the splits
   present) into ``OUT_DIR`` (default: the root), one sample a line as
   ``<city>/<city>_<seq>_<frame>``: the path relative to the split folder
   without suffix, as mmseg's ``BaseSegDataset`` expects in ``ann_file``.

The root must hold the unzipped ``leftImg8bit_trainvaltest.zip`` and
``gtFine_trainvaltest.zip``::

    data/cityscapes/
    ├── leftImg8bit/{train,val,test}/<city>/*_leftImg8bit.png
    └── gtFine/{train,val,test}/<city>/*_gtFine_polygons.json

Not imported by :mod:`mmseg_contrafusion.datasets`: import it by name.
"""
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

try:
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError('cityscapes.py needs cityscapesscripts: run '
                      '`pip install cityscapesscripts==2.3.0`.') from err

IMG_DIR = 'leftImg8bit'
POLYGON_SUFFIX = '_polygons.json'
TRAIN_ID_SUFFIX = '_labelTrainIds.png'
DOWNLOAD_HINT = ('download Cityscapes (leftImg8bit_trainvaltest.zip, '
                 'gtFine_trainvaltest.zip) and unzip both into it')

Task = TypeVar('Task')
Result = TypeVar('Result')


def run_tasks(func: Callable[[Task], Result],
              tasks: Sequence[Task],
              nproc: int = 1,
              verbose: bool = False,
              chunksize: int = 1) -> List[Result]:
    """Apply ``func`` to every task, in order.

    Args:
        func (callable): A module-level function (worker processes import it
            by name).
        tasks (Sequence): Its arguments, one a call.
        nproc (int): Worker processes; more than one runs them in parallel.
            Defaults to 1.
        verbose (bool): Print mmengine's progress bar to stdout. Defaults to
            False.
        chunksize (int): Tasks sent to a worker at a time. Defaults to 1.

    Returns:
        list: ``func(task)`` for each task, in the order of ``tasks``.
    """
    from mmengine.utils import track_parallel_progress, track_progress
    if nproc > 1 and len(tasks) > 1:
        with open(os.devnull, 'w') as devnull:
            return track_parallel_progress(
                func,
                tasks,
                min(nproc, len(tasks)),
                chunksize=chunksize,
                file=sys.stdout if verbose else devnull)
    if verbose:
        return track_progress(func, tasks)
    return [func(t) for t in tasks]


def _scan_polygons(folder: str) -> List[str]:
    """All ``*_polygons.json`` below ``folder``, as sorted relative paths."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            if name.endswith(POLYGON_SUFFIX):
                found.append(osp.relpath(osp.join(dirpath, name), folder))
    return sorted(found)


def _sample_name(rel_path: str) -> str:
    """``aachen/aachen_000000_000019_gtFine_polygons.json`` ->
    ``aachen/aachen_000000_000019``."""
    folder, name = osp.split(rel_path)
    stem = name.rsplit('_', 2)[0]  # drop '<gtType>_polygons.json'
    return '/'.join(folder.split(os.sep) + [stem]) if folder else stem


def _convert_one(json_path: str) -> Optional[str]:
    """Render the train id label image of one polygon file.

    Returns:
        str | None: None on success, else an error message naming the file.
    """
    out_path = json_path[:-len(POLYGON_SUFFIX)] + TRAIN_ID_SUFFIX
    try:
        json2labelImg(json_path, out_path, 'trainIds')
    except SystemExit:
        # cityscapesscripts prints an ERROR and calls sys.exit() on unknown
        # labels, which would kill a worker process silently
        return f'{json_path} (cityscapesscripts rejected it, see its ERROR)'
    except Exception as err:
        return f'{json_path} ({type(err).__name__}: {err})'
    return None


def convert_cityscapes(root: str,
                       gt_dir: str = 'gtFine',
                       out_dir: Optional[str] = None,
                       nproc: int = 1,
                       verbose: bool = False) -> Dict:
    """Write ``*_labelTrainIds.png`` and the split lists of a Cityscapes tree.

    Args:
        root (str): Cityscapes root holding ``leftImg8bit/`` and ``gt_dir``.
        gt_dir (str): Annotation folder, relative to ``root`` (or absolute).
            Defaults to 'gtFine'.
        out_dir (str, optional): Where to write the split lists. Defaults to
            ``root``.
        nproc (int): Number of worker processes. Defaults to 1.
        verbose (bool): Show a progress bar. Defaults to False.

    Returns:
        dict: ``num_converted`` (label images written), ``splits``
        (``{split: [sample names]}``), ``split_files`` (``{split: path}``)
        and ``missing_images`` (samples without a ``leftImg8bit`` image).

    Raises:
        SystemExit: With a one-line message naming the path and the fix, if
            ``root`` is not a Cityscapes tree or a file fails to convert.
    """
    if nproc < 1:
        raise SystemExit(f'cityscapes.py: error: --nproc must be >= 1, got '
                         f'{nproc}.')
    if not osp.isdir(root):
        what = 'is not a folder' if osp.exists(root) else 'does not exist'
        raise SystemExit(f'cityscapes.py: error: Cityscapes root {root} '
                         f'{what}: {DOWNLOAD_HINT}.')
    img_dir = osp.join(root, IMG_DIR)
    gt_path = osp.join(root, gt_dir)
    for folder, archive in ((img_dir, 'leftImg8bit_trainvaltest.zip'),
                            (gt_path, 'gtFine_trainvaltest.zip')):
        if not osp.isdir(folder):
            raise SystemExit(
                f'cityscapes.py: error: {root} is not a Cityscapes tree: '
                f'{folder} does not exist; unzip {archive} into {root} (it '
                f'holds {osp.basename(folder)}/{{train,val,test}}/<city>/).')
    polygons = _scan_polygons(gt_path)
    if not polygons:
        raise SystemExit(
            f'cityscapes.py: error: no *{POLYGON_SUFFIX} files under '
            f'{gt_path}: unzip gtFine_trainvaltest.zip into {root} (it holds '
            f'{gt_dir}/{{train,val,test}}/<city>/*_gtFine_polygons.json).')

    tasks = [osp.join(gt_path, p) for p in polygons]
    results = run_tasks(_convert_one, tasks, nproc, verbose, chunksize=4)
    errors = [e for e in results if e is not None]
    if errors:
        more = f' (and {len(errors) - 1} more)' if len(errors) > 1 else ''
        raise SystemExit(
            f'cityscapes.py: error: could not convert {errors[0]}{more}; '
            'check that the polygon files are intact Cityscapes annotations.')

    out_dir = root if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    splits: Dict[str, List[str]] = {}
    for rel in polygons:
        parts = rel.split(os.sep)
        if len(parts) < 2:
            continue  # not inside a split folder
        names = splits.setdefault(parts[0], [])
        names.append(_sample_name(os.sep.join(parts[1:])))
    split_files = {}
    missing = []
    for split, names in sorted(splits.items()):
        path = osp.join(out_dir, f'{split}.txt')
        with open(path, 'w') as f:
            f.writelines(name + '\n' for name in names)
        split_files[split] = path
        missing += [
            f'{split}/{name}' for name in names if not osp.isfile(
                osp.join(img_dir, split, name + '_leftImg8bit.png'))
        ]
    return dict(
        num_converted=len(tasks),
        splits=splits,
        split_files=split_files,
        missing_images=missing)
