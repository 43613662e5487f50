"""The command lines of ``tools/dataset_converters``, end to end.

The library code they call is tested in ``tests/datasets/``
(``test_synthetic_*.py``, ``test_cityscapes_conversion.py``).
"""
import glob
import os.path as osp
import subprocess
import sys

from mmseg_contrafusion.datasets.synthetic import make_synthetic_cityscapes

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools', 'dataset_converters')
MAKER_PATH = osp.join(TOOLS, 'make_synthetic_cityscapes.py')
CONVERTER_PATH = osp.join(TOOLS, 'cityscapes.py')


def _run_tool(path: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, path, *map(str, args)],
                          capture_output=True,
                          text=True,
                          timeout=120)


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


def test_converter_defaults_to_the_root(tmp_path):
    root = tmp_path / 'cityscapes'
    make_synthetic_cityscapes(
        str(root), num_train=1, num_val=1, width=64, height=32)
    proc = _run_tool(CONVERTER_PATH, root, '--nproc', 2)
    assert proc.returncode == 0, proc.stderr
    assert (root / 'train.txt').read_text().count('\n') == 1
    assert (root / 'val.txt').read_text().count('\n') == 1
    assert not (root / 'test.txt').exists()
    assert len(
        glob.glob(str(root / 'gtFine' / '*' / '*' /
                      '*_labelTrainIds.png'))) == 2


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
    result = subprocess.run([
        'make', 'data', f'SYNTHETIC_CITYSCAPES_ROOT={root}',
        'DATA_ARGS=--num-train 2 --num-val 1 --width 64 --height 32'
    ],
                            cwd=REPO_ROOT,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert len((root / 'train.txt').read_text().split()) == 2
    assert len((root / 'val.txt').read_text().split()) == 1
    train_ids = glob.glob(
        str(root / 'gtFine' / 'train' / '*' / '*_gtFine_labelTrainIds.png'))
    assert len(train_ids) == 2
