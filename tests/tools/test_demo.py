"""`make demo` in a shortened form: every step runs and writes its output."""
import os
import os.path as osp
import subprocess

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_demo_runs_end_to_end(tmp_path, synthetic_cityscapes):
    demo_dir = tmp_path / 'demo'
    env = dict(
        os.environ,
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        DEMO_DIR=str(demo_dir),
        DEMO_ITERS='2',
        DEMO_BENCH_RUNS='1',
        PYTHONWARNINGS='ignore')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    result = subprocess.run(['bash', 'tools/demo.sh'],
                            cwd=REPO_ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    for name in ('predictions', 'training_curves', 'feature_alignment',
                 'per_class_iou'):
        png = demo_dir / f'{name}.png'
        assert png.is_file() and png.stat().st_size > 10_000, name
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    table = (demo_dir / 'results.md').read_text()
    assert table.count('| ContraFusionNet') + table.count('| Transformer') >= 2
    assert '| not trained |' not in table  # both models were evaluated
    # The last lines say where the results and the pictures are.
    tail = result.stdout.strip().splitlines()[-6:]
    assert any(str(demo_dir / 'results.md') in line for line in tail)
    assert any('feature_alignment.png' in line for line in tail)
