"""Prepare a Cityscapes tree for training with mmseg.

Same interface as mmseg's ``tools/dataset_converters/cityscapes.py``:

1. Renders ``*_gtFine_labelTrainIds.png`` (the 19 training classes as
   0..18, everything else 255) next to every ``*_gtFine_polygons.json``
   under ``CITYSCAPES_ROOT/gtFine``, with cityscapesscripts' own
   ``json2labelImg``.
2. Writes ``train.txt``, ``val.txt`` and ``test.txt`` (for the splits
   present) into ``OUT_DIR`` (default: the root), one sample a line as
   ``<city>/<city>_<seq>_<frame>``: the path relative to the split folder
   without suffix, as mmseg's ``BaseSegDataset`` expects in ``ann_file``.

Example::

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8

The root must hold the unzipped ``leftImg8bit_trainvaltest.zip`` and
``gtFine_trainvaltest.zip``::

    data/cityscapes/
    ├── leftImg8bit/{train,val,test}/<city>/*_leftImg8bit.png
    └── gtFine/{train,val,test}/<city>/*_gtFine_polygons.json
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys
import types
from typing import Dict, List, Optional, Sequence

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


def _make_importable() -> None:
    """Let worker processes find :func:`_convert_one` by module name.

    When this file is loaded with ``importlib.util.spec_from_file_location``
    and not added to ``sys.modules``, pickling the task function for the
    worker pool fails; register the module's namespace under its name.
    """
    module = sys.modules.get(__name__)
    if getattr(module, '_convert_one', None) is not _convert_one:
        shim = types.ModuleType(__name__)
        shim.__dict__.update(globals())
        sys.modules[__name__] = shim


def _run(tasks: List[str], nproc: int, verbose: bool) -> List[Optional[str]]:
    """Convert all files, in parallel if ``nproc > 1``, with a progress
    bar if ``verbose``."""
    try:
        from mmengine.utils import track_parallel_progress, track_progress
    except ImportError:  # pragma: no cover - mmengine is a dependency
        track_parallel_progress = track_progress = None
    out = sys.stdout if verbose else open(os.devnull, 'w')
    try:
        if nproc > 1 and len(tasks) > 1:
            nproc = min(nproc, len(tasks))
            _make_importable()
            if track_parallel_progress is not None:
                return track_parallel_progress(
                    _convert_one, tasks, nproc, chunksize=4, file=out)
            with multiprocessing.Pool(nproc) as pool:
                return pool.map(_convert_one, tasks, chunksize=4)
        if track_progress is not None:
            return track_progress(_convert_one, tasks, file=out)
        return [_convert_one(t) for t in tasks]
    finally:
        if out is not sys.stdout:
            out.close()


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
    errors = [e for e in _run(tasks, nproc, verbose) if e is not None]
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


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert Cityscapes annotations to TrainIds and write '
        'the split lists train.txt, val.txt and test.txt.')
    parser.add_argument(
        'cityscapes_path',
        help='Cityscapes root, holding leftImg8bit/ and gtFine/')
    parser.add_argument(
        '--gt-dir',
        default='gtFine',
        type=str,
        help='annotation folder relative to the root')
    parser.add_argument(
        '-o',
        '--out-dir',
        type=str,
        help='output folder for the split lists (default: the root)')
    parser.add_argument(
        '--nproc', default=1, type=int, help='number of processes')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    result = convert_cityscapes(
        args.cityscapes_path,
        gt_dir=args.gt_dir,
        out_dir=args.out_dir,
        nproc=args.nproc,
        verbose=True)
    print(f'wrote {result["num_converted"]} *{TRAIN_ID_SUFFIX} files under '
          f'{osp.join(args.cityscapes_path, args.gt_dir)}')
    for split, path in result['split_files'].items():
        print(f'wrote {path}: {len(result["splits"][split])} samples')
    missing = result['missing_images']
    if missing:
        print(f'warning: {len(missing)} samples have no image under '
              f'{osp.join(args.cityscapes_path, IMG_DIR)}, e.g. '
              f'{missing[0]}_leftImg8bit.png; unzip '
              'leftImg8bit_trainvaltest.zip there.')


if __name__ == '__main__':
    main()
