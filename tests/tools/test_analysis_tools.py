"""tools/analysis: params_flops.py, benchmark.py and results_table.py."""
import csv
import glob
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')
CFN_TINY = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')


def _tool(name):
    """Import tools/analysis/<name>.py once (the tools import each other)."""
    if name not in sys.modules:
        path = osp.join(REPO_ROOT, 'tools', 'analysis', name + '.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


pf = _tool('params_flops')
bm = _tool('benchmark')
rt = _tool('results_table')

AUX_HEAD = """
_base_ = '{base}'
model = dict(
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=32,
        in_index=3,
        channels=8,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))
"""


@pytest.fixture(scope='module')
def tiny_configs(tmp_path_factory):
    """The tiny config, a copy of it, and a variant with an auxiliary head."""
    folder = tmp_path_factory.mktemp('configs')
    copy = folder / 'segformer_tiny-copy_1xb2-4it_synthetic-64x64.py'
    copy.write_text(f"_base_ = '{TINY_CONFIG}'\n")
    aux = folder / 'segformer-aux_tiny_1xb2-4it_synthetic-64x64.py'
    aux.write_text(AUX_HEAD.format(base=TINY_CONFIG))
    return dict(tiny=TINY_CONFIG, copy=str(copy), aux=str(aux))


def test_strip_pretrained_removes_only_weight_loading():
    cfg = dict(
        pretrained='open-mmlab://resnet50_v1c',
        backbone=dict(
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'),
            layers=[dict(init_cfg=[
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Pretrained', checkpoint='y.pth', prefix='b.')
            ])]),
        decode_head=dict(init_cfg=dict(type='Normal', std=0.01)))
    assert pf.strip_pretrained(cfg) == 3
    assert cfg['pretrained'] is None
    assert cfg['backbone']['init_cfg'] is None
    assert cfg['backbone']['layers'][0]['init_cfg'] == [
        dict(type='Kaiming', layer='Conv2d')
    ]
    assert cfg['decode_head']['init_cfg'] == dict(type='Normal', std=0.01)


def test_inference_params_exclude_auxiliary_head(tiny_configs):
    model = pf.build_model(pf.load_config(tiny_configs['aux']))
    counts = pf.count_params(model, (64, 64))
    aux = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert counts['total'] == sum(p.numel() for p in model.parameters())
    assert counts['training_only_modules'] == ['auxiliary_head']
    assert counts['inference'] == counts['total'] - aux
    # Counting leaves the model as it was.
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_params_flops_cli(tiny_configs, tmp_path, capsys):
    out = tmp_path / 'pf.json'
    results = pf.main([
        tiny_configs['tiny'], tiny_configs['aux'], '--shape', '64', '64',
        '--json', str(out)
    ])
    printed = capsys.readouterr().out
    assert 'Params (inference)' in printed and 'auxiliary_head' in printed
    data = json.loads(out.read_text())
    assert data['shape'] == [64, 64] and len(data['results']) == 2
    tiny, aux = results
    assert tiny['flops']['flops'] > 0
    # The auxiliary head does not run at inference: same FLOPs.
    assert aux['flops']['flops'] == tiny['flops']['flops']
    assert aux['params']['inference'] == tiny['params']['inference']
    # FLOPs grow with the pixel count (4x pixels, about 4x FLOPs).
    bigger = pf.count_flops(
        pf.build_model(pf.load_config(tiny_configs['tiny'])), (128, 128))
    assert 3.5 < bigger['flops'] / tiny['flops']['flops'] < 4.5


def test_benchmark_several_configs_one_run(tiny_configs, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    result = bm.main([
        tiny_configs['tiny'], tiny_configs['copy'], tiny_configs['aux'],
        '--shape', '64', '64', '--runs', '3', '--warmup', '1', '--parts',
        'model', 'encoder', 'backbone', '--baseline',
        'segformer_tiny_synthetic', '--threads', '1', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'x baseline' in printed and 'Median (ms)' in printed
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(result))
    assert data['settings']['shape'] == [64, 64]
    assert data['env']['threads'] == 1
    rows = data['results']
    parts = [(r['name'], r['part']) for r in rows]
    assert parts[:3] == [('segformer_tiny_synthetic', 'model'),
                         ('segformer_tiny_synthetic', 'encoder'),
                         ('segformer_tiny_synthetic', 'backbone:backbone')]
    for row in rows:
        assert len(row['times_s']) == 3
        assert row['min_s'] <= row['median_s'] <= row['max_s']
        assert row['peak_mem_mb'] > 0
    base = rows[0]
    assert base['ratio_to_baseline'] == 1.0
    assert data['baseline']['median_s'] == base['median_s']
    # The copy builds the same model: measured once, figures shared.
    copies = [r for r in rows if r['name'].startswith('segformer_tiny-copy')]
    assert len(copies) == 3
    assert all(r['same_model_as'] == tiny_configs['tiny'] for r in copies)
    assert copies[0]['median_s'] == base['median_s']
    # The auxiliary-head variant is a different model, measured on its own.
    aux = [r for r in rows if r['name'].startswith('segformer-aux')]
    assert aux and 'same_model_as' not in aux[0]
    assert aux[0]['params']['inference'] == base['params']['inference']
    assert data['settings']['schedule'] == 'interleaved'
    # One model at a time, without parameter counting or memory.
    single = bm.run_benchmark([tiny_configs['tiny']], (32, 32),
                              runs=1,
                              warmup=0,
                              with_params=False,
                              with_memory=False,
                              sequential=True,
                              log=lambda msg: None)
    assert single['settings']['schedule'] == 'sequential'
    assert len(single['results'][0]['times_s']) == 1
    assert 'params' not in single['results'][0]


@pytest.mark.skipif(
    not osp.isfile(CFN_TINY), reason='ContraFusionNet tiny config missing')
def test_tools_on_dual_encoder(tmp_path):
    """encoder = both encoders; one backbone row per encoder; contrastive
    modules count as training-only."""
    result = bm.run_benchmark([CFN_TINY], (64, 64),
                              parts=['model', 'encoder', 'backbone'],
                              runs=1,
                              warmup=0,
                              log=lambda msg: None)
    rows = {r['part']: r for r in result['results']}
    assert 'error' not in rows['model'], rows['model']
    backbones = sorted(p for p in rows if p.startswith('backbone:'))
    assert backbones == ['backbone:backbone', 'backbone:cnn_backbone']
    params = rows['model']['params']
    assert params['inference'] < params['total']
    assert params['training_only_modules']
    cfg = pf.load_config(CFN_TINY)
    assert ' + ' in rt.backbone_name(cfg)


def _checkpoint(config, path):
    torch.manual_seed(0)
    model = pf.build_model(pf.load_config(config))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_results_table_from_real_test_run(tiny_configs, tool_env, tmp_path):
    """A real tools/test.py run gives the metrics, benchmark.py the time."""
    ckpt = _checkpoint(TINY_CONFIG, str(tmp_path / 'tiny.pth'))
    work_dir = tmp_path / 'test_work_dir'
    run = subprocess.run([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt, '--eval', 'mIoU',
        'mDice', '--work-dir',
        str(work_dir)
    ],
                         cwd=REPO_ROOT,
                         env=tool_env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    test_json = glob.glob(str(work_dir / '*' / '*.json'))
    assert len(test_json) == 1
    metrics = json.loads(open(test_json[0]).read())
    for key in ('mIoU', 'mDice', 'aAcc'):
        assert key in metrics

    bench = tmp_path / 'bench.json'
    bm.main([
        TINY_CONFIG, tiny_configs['aux'], '--shape', '64', '64', '--runs',
        '2', '--warmup', '0', '--no-memory', '--out',
        str(bench)
    ])
    md, table_csv = tmp_path / 'table.md', tmp_path / 'table.csv'
    rows = rt.main([
        TINY_CONFIG, tiny_configs['aux'], '--metrics',
        f'segformer_tiny_synthetic={work_dir}', '--bench',
        str(bench), '--md',
        str(md), '--csv',
        str(table_csv)
    ])
    header = rt.HEADER
    assert header[:8] == [
        'Model', 'Backbone', 'Params', 'Crop Size', 'mIoU', 'Dice',
        'Pixel Accuracy', 'Testing Time (per image)'
    ]
    trained, untrained = (dict(zip(header, r['cells'])) for r in rows)
    assert trained['Model'] == 'SegFormer'
    assert trained['Crop Size'] == '64x64'
    assert trained['mIoU'] == f"{metrics['mIoU']:.2f}"
    assert trained['Dice'] == f"{metrics['mDice']:.2f}"
    assert trained['Pixel Accuracy'] == f"{metrics['aAcc']:.2f}"
    bench_rows = json.loads(bench.read_text())['results']
    assert trained['Testing Time (per image)'].startswith(
        f"{bench_rows[0]['median_s']:.3f} s")
    params = bench_rows[0]['params']['inference']
    assert trained['Params'] == f'{params / 1e6:.2f}M'
    for key in ('mIoU', 'Dice', 'Pixel Accuracy'):
        assert untrained[key] == 'not trained'
    assert untrained['Testing Time (per image)'].endswith(
        f"± {bench_rows[1]['std_s']:.3f}")
    assert untrained['Params'] == trained['Params']
    text = md.read_text()
    assert '| Model | Backbone | Params |' in text and 'not trained' in text
    with open(table_csv) as f:
        csv_rows = list(csv.reader(f))
    assert csv_rows[0] == header
    assert csv_rows[1] == rows[0]['cells']
    # The same metrics found through --work-dirs ROOT/<config stem>/.
    root = tmp_path / 'work_dirs'
    (root / 'segformer_tiny_synthetic').mkdir(parents=True)
    target = root / 'segformer_tiny_synthetic' / 'run'
    target.mkdir()
    (target / 'run.json').write_text(json.dumps(metrics))
    again = rt.build_rows([TINY_CONFIG], json.loads(bench.read_text()), {},
                          str(root))
    assert again[0]['cells'] == rows[0]['cells']
