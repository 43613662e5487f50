"""mmseg_contrafusion.analysis.train_step: configs, batch, one model."""
from mmengine.config import Config

from mmseg_contrafusion.analysis.train_step import (measure, random_batch,
                                                    strip_contrast)


def test_strip_contrast(tiny_configs):
    cfg = Config.fromfile(tiny_configs['cac']).model
    removed = strip_contrast(cfg)
    assert sorted(removed) == ['decode_head.cac', 'decode_head.loss_contrast']
    assert cfg.decode_head.loss_contrast is None
    assert 'cac' not in cfg.decode_head
    # Same model as the parent config stripped: measured once.
    parent = Config.fromfile(tiny_configs['cfn']).model
    strip_contrast(parent)
    assert cfg == parent
    fcn = Config.fromfile(tiny_configs['cac_fcn']).model
    removed = strip_contrast(fcn)
    assert fcn.decode_head.type == 'FCNHead' and 'cac' not in fcn.decode_head
    assert removed == ['decode_head.type=CACFCNHead', 'decode_head.cac']


def test_random_batch_labels_are_blocks():
    data = random_batch(None, 2, (64, 96), 19)
    assert [tuple(x.shape) for x in data['inputs']] == [(3, 64, 96)] * 2
    label = data['data_samples'][0].gt_sem_seg.data
    assert label.shape == (1, 64, 96)
    assert label.max() < 19
    # Constant over each 32x32 block.
    assert (label[:, :32, :32] == label[0, 0, 0]).all()


def test_measure_reports_errors_as_rows(tmp_path):
    bad = tmp_path / 'bad_config.py'
    bad.write_text("model = dict(type='NoSuchSegmentor')\n")
    row = measure(str(bad), shape=(32, 32), batch=1, warmup=0, runs=1)
    assert row['name'] == 'bad_config' and 'NoSuchSegmentor' in row['error']
