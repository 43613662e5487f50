"""mmseg_contrafusion.visualization.training_curves: reading and smoothing."""
import json

import numpy as np

from mmseg_contrafusion.visualization.training_curves import (find_scalars,
                                                              is_loss_key,
                                                              read_scalars,
                                                              smooth,
                                                              split_series)


def test_smoothing_is_bias_corrected():
    values = [4.0, 4.0, 4.0]
    assert np.allclose(smooth(values, 0.9), values)
    assert np.allclose(smooth([1.0, 3.0], 0.0), [1.0, 3.0])
    # Weight 0.5: the second point is (0.5 * 1 + 3) / 1.5 after correction.
    assert np.allclose(smooth([1.0, 3.0], 0.5), [1.0, (0.5 + 3.0) / 1.5])


def test_loss_terms_and_metric_are_split(tmp_path):
    vis = tmp_path / 'run' / '20250101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [
        dict(
            loss=2.0,
            **{
                'decode.loss_ce': 1.5,
                'decode.acc_seg': 40.0
            },
            lr=0.01,
            iter=1,
            step=1),
        dict(
            loss=1.0,
            **{
                'decode.loss_ce': 0.5,
                'decode.acc_seg': 50.0
            },
            lr=0.01,
            iter=2,
            step=2),
        dict(aAcc=60.0, mIoU=12.5, step=2),
    ]
    (vis / 'scalars.json').write_text('\n'.join(map(json.dumps, lines)))
    path = find_scalars(str(tmp_path / 'run'))
    losses, (steps, values) = split_series(read_scalars(path), 'mIoU')
    assert set(losses) == {'loss', 'decode.loss_ce'}
    assert losses['loss'] == ([1, 2], [2.0, 1.0])
    assert steps == [2] and values == [12.5]
    assert is_loss_key('decode.loss_contrast')
    assert not is_loss_key('decode.acc_seg') and not is_loss_key('lr')
