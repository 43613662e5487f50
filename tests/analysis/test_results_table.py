"""mmseg_contrafusion.analysis.results_table: names and rows."""
import csv
import json

from mmengine.config import Config

from mmseg_contrafusion.analysis import results_table
from mmseg_contrafusion.analysis.configs import load_config


def test_names_from_configs(tiny_configs):
    cfg = load_config(tiny_configs['cfn'])
    assert ' + ' in results_table.backbone_name(cfg)
    assert results_table.describe_backbone(
        dict(
            type='MixVisionTransformer',
            embed_dims=64,
            num_heads=[1, 2, 5, 8],
            num_layers=[3, 4, 6, 3])) == 'MiT-B2'
    assert results_table.describe_backbone(
        dict(type='ResNetV1c', depth=50, strides=(1, 2, 1, 1))) == \
        'ResNetV1c-50 (D8)'
    stem = 'pspnet_r50-d8_4xb2-40k_cityscapes-512x512'
    assert results_table.schedule_name(stem) == '4xb2-40k'
    assert results_table.backbone_name(Config(
        dict(model=dict(type='X')))) == '-'


def test_rows_from_a_benchmark_and_work_dirs(tiny_configs, tmp_path):
    params = dict(total=2000000, inference=1500000)
    bench = dict(
        env=dict(
            device='cpu', cpu='CPU', threads=1, torch='2', load_average=[0.5]),
        settings=dict(shape=[64, 64], warmup=1, runs=3),
        results=[
            dict(
                config=tiny_configs['tiny'],
                name='segformer_tiny_synthetic',
                part='model',
                median_s=0.0123,
                std_s=0.001,
                cpu_median_s=0.02,
                params=params)
        ])
    root = tmp_path / 'work_dirs'
    (root / 'segformer_tiny_synthetic' / 'run').mkdir(parents=True)
    (root / 'segformer_tiny_synthetic' / 'run' / 'run.json').write_text(
        json.dumps({
            'mIoU': 12.345,
            'mDice': 20.0,
            'aAcc': 50.0
        }))
    (row, ) = results_table.build_rows([tiny_configs['tiny']], bench, {},
                                       str(root))
    cells = dict(zip(results_table.HEADER, row['cells']))
    assert cells['Model'] == 'SegFormer' and cells['Params'] == '1.50M'
    assert cells['Crop Size'] == '64x64' and cells['mIoU'] == '12.35'
    assert cells['Testing Time (per image)'] == '0.012 s ± 0.001'
    (cpu, ) = results_table.build_rows([tiny_configs['tiny']],
                                       bench,
                                       time_kind='cpu')
    assert cpu['cells'][4] == 'not trained'
    assert cpu['cells'][7] == '0.020 s (CPU)'
    text = results_table.to_markdown([row], bench, 'cpu')
    assert 'median process CPU time' in text
    assert 'load average 0.50 at its end' in text
    md, table_csv = tmp_path / 't.md', tmp_path / 't.csv'
    results_table.write_table([row], text, str(md), str(table_csv))
    assert md.read_text() == text + '\n'
    with open(table_csv) as f:
        assert list(csv.reader(f)) == [results_table.HEADER, row['cells']]
