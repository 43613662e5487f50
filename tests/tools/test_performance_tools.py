"""tools/analysis/performance_report.py and benchmark_dataloader.py.

The front ends: what they measure, print and write, on tiny configs. The
whole report (every section) is tested in tests/analysis/report/.
"""
import json
import os.path as osp

import pytest
import torch

from mmseg_contrafusion.analysis.report import NOTES_BEGIN, NOTES_END, SCHEMA
from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAC_TINY = osp.join(
    REPO_ROOT,
    'configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py')

pr = load_tool('tools/analysis/performance_report.py')
bdl = load_tool('tools/analysis/benchmark_dataloader.py')


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_report_cli_writes_json_markdown_and_renders_again(tmp_path, capsys):
    out, md = tmp_path / 'report.json', tmp_path / 'performance.md'
    # Hand-written notes of an earlier report survive the rewrite.
    md.write_text(f'old\n{NOTES_BEGIN}\nkeep me\n{NOTES_END}\nold\n')
    report = pr.main([
        '--quick', '--sections', 'inference', '--runs', '1', '--warmup', '0',
        '--threads', '1', '--out',
        str(out), '--md',
        str(md), '--figure',
        str(tmp_path / 'latency.png')
    ])
    printed = capsys.readouterr().out
    assert '| Target |' in printed and 'PASS' in printed
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report['schema'] == SCHEMA
    assert report['settings']['quick'] and report['settings']['runs'] == 1
    assert 'inference' in report and 'training' not in report
    text = md.read_text()
    assert text.startswith('# Performance')
    assert '\nkeep me\n' in text and not text.startswith('old')
    assert '## Inference, 64x64' in text
    assert 'python tools/analysis/performance_report.py --quick' in text
    # The figure goes where --figure says (not over docs/images/).
    assert (tmp_path / 'latency.png').read_bytes()[:4] == b'\x89PNG'

    # --render writes the Markdown of the JSON again, measuring nothing.
    again = tmp_path / 'again.md'
    rendered = pr.main([
        '--render',
        str(out), '--md',
        str(again), '--figure',
        str(tmp_path / 'latency.png')
    ])
    assert rendered['checks'] == report['checks']
    assert again.read_text().split(NOTES_BEGIN)[0] == \
        text.split(NOTES_BEGIN)[0]


def test_report_cli_rejects_bad_counts():
    with pytest.raises(SystemExit):
        pr.main(['--runs', '0'])
    with pytest.raises(SystemExit):
        pr.main(['--config', 'no-equals-sign'])


def test_dataloader_cli(synthetic_cityscapes, tmp_path, capsys):
    out = tmp_path / 'loader.json'
    result = bdl.main([
        CAC_TINY, '--data-root', synthetic_cityscapes, '--num-workers', '0',
        '--batches', '2', '--warmup', '0', '--step-time', '0.5', '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result['num_workers'] == 0 and result['default_num_workers'] == 2
    assert result['images'] == 2 * result['batch_size']
    assert result['step_images_per_s'] == pytest.approx(result['batch_size'] /
                                                        0.5)
    assert result['loader_over_step'] == pytest.approx(
        result['images_per_s'] / result['step_images_per_s'])
    assert result['crop_size'] == [256, 256]
    printed = capsys.readouterr().out
    assert 'images/s' in printed and 'loader / step' in printed
