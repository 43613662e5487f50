"""mmseg_contrafusion.analysis.eval_metrics: metrics of tools/test.py runs."""
import json
import os
import time

import pytest

from mmseg_contrafusion.analysis.eval_metrics import (load_test_metrics,
                                                      metrics_for,
                                                      parse_metric_pairs)


def test_newest_metrics_json_of_a_work_dir(tmp_path):
    run = tmp_path / 'tiny' / '20260101_000000'
    run.mkdir(parents=True)
    (run / 'vis_data.json').write_text('not json')
    old = run / 'old.json'
    old.write_text(json.dumps({'mIoU': 1.0}))
    past = time.time() - 100
    os.utime(old, (past, past))
    (run / 'new.json').write_text(json.dumps({'val/mIoU': 2.0, 'aAcc': 3}))
    metrics = load_test_metrics(str(tmp_path / 'tiny'))
    assert metrics['mIoU'] == 2.0 and metrics['aAcc'] == 3
    assert metrics['source'].endswith('new.json')
    assert metrics_for('configs/x/tiny.py', {}, str(tmp_path)) == metrics
    assert metrics_for('configs/x/other.py', {}, str(tmp_path)) is None
    assert metrics_for('configs/x/tiny.py', {'tiny.py': str(old)},
                       None)['mIoU'] == 1.0
    with pytest.raises(ValueError, match='no mIoU'):
        load_test_metrics(str(run / 'vis_data.json'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='tools/test.py'):
        load_test_metrics(str(empty))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_test_metrics(str(tmp_path / 'missing'))


def test_parse_metric_pairs():
    assert parse_metric_pairs(['a=b=c', 'd=e']) == {'a': 'b=c', 'd': 'e'}
    with pytest.raises(SystemExit, match='CONFIG=PATH'):
        parse_metric_pairs(['nothing'])
