"""load_checkpoint_file: weights only, an allow-list, clear refusals."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

import mmseg_contrafusion  # noqa: F401  (registers the loader with mmengine)
from mmseg_contrafusion.utils import (TRUST_CHECKPOINT_ENV,
                                      CorruptCheckpointError,
                                      UntrustedCheckpointError,
                                      load_checkpoint_file)


class RunsCode:
    """Unpickling this calls ``os.system`` with a command of our choice."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.fixture
def payload(tmp_path):
    """A checkpoint whose unpickling would create ``marker``."""
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'iter_1.pth')
    torch.save(
        dict(state_dict={'w': torch.ones(2)}, meta=RunsCode(marker)), path)
    return path, marker


@pytest.fixture
def legacy(tmp_path):
    """A legacy full pickle holding an object outside the allow-list."""
    path = str(tmp_path / 'legacy.pth')
    torch.save(
        dict(
            state_dict={'w': torch.ones(3)},
            meta=dict(extra=pickle.PickleBuffer)), path)
    return path


def test_payload_is_refused_and_does_not_run(payload, monkeypatch):
    monkeypatch.delenv(TRUST_CHECKPOINT_ENV, raising=False)
    path, marker = payload
    with pytest.raises(UntrustedCheckpointError) as info:
        load_checkpoint_file(path, map_location='cpu')
    assert not osp.exists(marker), 'the payload ran'
    message = info.value.one_line()
    assert path in message and "'posix.system'" in message
    assert '--trust-checkpoint' in message and TRUST_CHECKPOINT_ENV in message


def test_mmengine_loader_refuses_the_payload(payload, monkeypatch):
    """``load_from``, ``--resume``, ``init_model`` all load through it."""
    from mmengine.runner.checkpoint import _load_checkpoint
    monkeypatch.delenv(TRUST_CHECKPOINT_ENV, raising=False)
    path, marker = payload
    with pytest.raises(UntrustedCheckpointError):
        _load_checkpoint(path, map_location='cpu')
    assert not osp.exists(marker)


def test_opt_in_loads_a_legacy_full_pickle(legacy, monkeypatch):
    monkeypatch.delenv(TRUST_CHECKPOINT_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError, match='PickleBuffer'):
        load_checkpoint_file(legacy)
    assert load_checkpoint_file(
        legacy, trust=True)['state_dict']['w'].sum() == 3
    monkeypatch.setenv(TRUST_CHECKPOINT_ENV, '1')
    assert load_checkpoint_file(legacy)['state_dict']['w'].sum() == 3


def test_runner_style_numpy_values_load():
    """numpy arrays and scalars of each dtype a MessageHub may hold, under
    numpy 2 names; files of numpy 1 carry ``numpy.core.multiarray``."""
    import io

    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    buffer.update(np.float64(1.5))
    values = dict(
        history=buffer,
        seed=np.int64(7),
        lr=np.float32(0.1),
        flag=np.bool_(True),
        array=np.arange(4, dtype=np.int32))
    data = io.BytesIO()
    torch.save(values, data)
    raw = data.getvalue()
    path = osp.join(
        os.environ.get('TMPDIR', '/tmp'), f'numpy_values_{os.getpid()}.pth')
    with open(path, 'wb') as f:
        f.write(raw)
    try:
        loaded = load_checkpoint_file(path, trust=False)
    finally:
        os.remove(path)
    assert loaded['history'].current() == 1.5 and loaded['seed'] == 7
    assert loaded['array'].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize('damage', ['truncated', 'empty', 'text'])
def test_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path, damage):
    path = str(tmp_path / 'iter_4.pth')
    torch.save(dict(state_dict={'w': torch.ones(1000)}), path)
    content = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write({
            'truncated': content[:len(content) // 2],
            'empty': b'',
            'text': b'not a checkpoint'
        }[damage])
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint_file(path)
    message = info.value.one_line()
    assert path in message and 'not a readable checkpoint' in message
    assert '\n' not in message
