"""CheckpointMatchHook: a checkpoint of another model is refused."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.runner import IterBasedTrainLoop

from mmseg_contrafusion.engine.hooks import (CheckpointMatchHook,
                                             CheckpointMismatchError)


def model():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 19, 1))


def runner(training=False, resume=False):
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop) if training else {}
    return SimpleNamespace(
        model=model(),
        _train_loop=loop,
        _resume=resume,
        _load_from='other.pth',
        cfg=SimpleNamespace(filename='this.py'))


def test_matching_checkpoint_passes():
    state = {'module.' + k: v for k, v in model().state_dict().items()}
    CheckpointMatchHook().after_load_checkpoint(runner(),
                                                dict(state_dict=state))


def test_other_model_is_refused_when_testing():
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 10, 1))
    with pytest.raises(CheckpointMismatchError) as info:
        CheckpointMatchHook().after_load_checkpoint(
            runner(), dict(state_dict=other.state_dict()))
    message = str(info.value)
    assert 'other.pth was not trained with this config (this.py)' in message
    assert 'weights do not match' in message and "key '0.weight'" in message


def test_fine_tuning_with_another_head_is_allowed():
    state = model().state_dict()
    state['2.weight'] = state['2.weight'][:10]  # 10 classes instead of 19
    state['2.bias'] = state['2.bias'][:10]
    CheckpointMatchHook().after_load_checkpoint(
        runner(training=True), dict(state_dict=state))
    with pytest.raises(CheckpointMismatchError):  # but not for --resume
        CheckpointMatchHook().after_load_checkpoint(
            runner(training=True, resume=True), dict(state_dict=state))


def test_checkpoint_matches_the_model_inside_a_tta_wrapper():
    """``--tta`` wraps the segmentor in SegTTAModel (keys ``module.*``);
    the checkpoint is compared with the wrapped model, as mmengine loads it
    into that model."""
    from mmseg.models import SegTTAModel

    class Segmentor(nn.Sequential):

        def test_step(self, data):  # what BaseTTAModel asks of a model
            return self(data)

    inner = Segmentor(*model())
    tta_runner = runner()
    tta_runner.model = SegTTAModel(module=inner)
    assert all(k.startswith('module.') for k in tta_runner.model.state_dict())
    CheckpointMatchHook().after_load_checkpoint(
        tta_runner, dict(state_dict=inner.state_dict()))
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 10, 1))
    with pytest.raises(CheckpointMismatchError):
        CheckpointMatchHook().after_load_checkpoint(
            tta_runner, dict(state_dict=other.state_dict()))


# ------------------------------------------- the check the hook shares --


def test_shared_check_names_source_config_and_first_mismatch():
    """``check_checkpoint_matches`` is the one check behind the hook and
    ``mmseg_contrafusion.apis.load_checked_model``."""
    from mmseg_contrafusion.utils.checkpoint_utils import \
        check_checkpoint_matches

    state = {'module.' + k: v for k, v in model().state_dict().items()}
    check_checkpoint_matches(model(), state, 'a.pth', 'a.py')
    del state['module.2.bias']
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_matches(model(), state, 'a.pth', 'a.py')
    message = str(info.value)
    assert message.startswith('a.pth was not trained with a.py: 1 of ')
    assert "(e.g. key '2.bias' is missing from the checkpoint)" in message
    assert '\n' not in message
    # A partial match passes where the caller allows it.
    check_checkpoint_matches(model(), state, 'a.pth', 'a.py', min_match=0.5)
