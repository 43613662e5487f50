"""mmseg_contrafusion.analysis.dataloader_benchmark: the training loader."""
import pytest

from mmseg_contrafusion.analysis.configs import load_config
from mmseg_contrafusion.analysis.dataloader_benchmark import (
    compare_with_step, has_cityscapes_split, loader_config, run_benchmark)


def test_dataloader_rejects_a_root_without_data(tiny_configs, tmp_path):
    assert not has_cityscapes_split(str(tmp_path))
    with pytest.raises(SystemExit, match='--data-root'):
        run_benchmark(
            tiny_configs['cac'], data_root=str(tmp_path), log=lambda msg: None)


def test_loader_on_a_root(tiny_configs, synthetic_cityscapes):
    assert has_cityscapes_split(synthetic_cityscapes)
    cfg = load_config(tiny_configs['cac'])
    loader = loader_config(
        cfg, synthetic_cityscapes, num_workers=0, batch_size=3)
    assert loader['dataset']['data_root'] == synthetic_cityscapes
    assert loader['batch_size'] == 3 and not loader['persistent_workers']
    result = run_benchmark(
        tiny_configs['cac'],
        data_root=synthetic_cityscapes,
        num_workers=0,
        batches=2,
        warmup=0,
        log=lambda msg: None)
    assert result['data_source'] == 'argument'
    assert result['images'] == 2 * result['batch_size']
    assert len(result['batch_times_s']) == 2
    assert 'loader_over_step' not in result


def test_compare_with_step():
    compared = compare_with_step(images_per_s=8.0, step_s=0.5, batch_size=2)
    assert compared == dict(
        step_s=0.5, step_images_per_s=4.0, loader_over_step=2.0)
