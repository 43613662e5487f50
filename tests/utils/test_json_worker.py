"""mmseg_contrafusion.utils.json_worker: a worker process per measurement."""
import json

import pytest

from mmseg_contrafusion.utils.json_worker import (WorkerError, run_json_worker,
                                                  serve_json_worker)


def test_worker_result_is_read_back(tmp_path):
    # `python -m json.tool IN OUT` copies a JSON file: a worker with the
    # SPEC OUT interface.
    spec = dict(config='a.py', shape=[64, 64], threads=None)
    assert run_json_worker('json.tool', spec, str(tmp_path), 'copy') == spec
    assert (tmp_path / 'copy_spec.json').is_file()


def test_failed_worker_raises_with_its_last_lines(tmp_path):
    with pytest.raises(WorkerError) as info:
        run_json_worker('no_such_worker_module', {}, str(tmp_path), 'x')
    assert info.value.returncode != 0
    assert 'no_such_worker_module' in info.value.lines[-1]
    assert 'no_such_worker_module worker exited with' in str(info.value)


def test_worker_side_writes_the_result_of_its_spec(tmp_path):
    spec_file, out_file = tmp_path / 'spec.json', tmp_path / 'out.json'
    spec_file.write_text(json.dumps(dict(shape=[2, 3])))
    serve_json_worker(
        [str(spec_file), str(out_file)],
        lambda spec: dict(pixels=spec['shape'][0] * spec['shape'][1]))
    assert json.loads(out_file.read_text()) == dict(pixels=6)
