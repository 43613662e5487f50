"""mmseg_contrafusion.apis: a checked model, and segmenting files."""
import numpy as np
import pytest
import torch

from mmseg.apis import init_model
from mmseg_contrafusion.apis import (load_checked_model, predict,
                                     read_inference_config, save_png,
                                     segment_images)
from mmseg_contrafusion.utils.checkpoint_utils import CheckpointMismatchError


def test_checked_model_loads_its_own_checkpoint(tiny):
    model = load_checked_model(tiny['config'], tiny['checkpoint'])
    saved = torch.load(tiny['checkpoint'], weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert not model.training
    assert len(model.dataset_meta['classes']) == 19
    label = predict(model, np.zeros((32, 48, 3), np.uint8))
    assert label.shape == (32, 48) and label.dtype == np.uint8


def test_checkpoint_of_another_width_is_refused(tiny, tmp_path):
    cfg = read_inference_config(tiny['config'])
    cfg.model.decode_head.channels = 8  # another decoder width
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': init_model(cfg, None, 'cpu').state_dict()},
               other)
    with pytest.raises(CheckpointMismatchError) as info:
        load_checked_model(tiny['config'], other)
    message = str(info.value)
    assert message.startswith(f'{other} was not trained with '
                              f'{tiny["config"]}: ')
    assert 'weights do not match (e.g. key ' in message


def test_segment_images_writes_labels_and_overlays(tiny, tmp_path):
    image = str(tmp_path / 'in' / 'street.png')
    (tmp_path / 'in').mkdir()
    save_png(np.full((24, 40, 3), 90, np.uint8), image)
    (tmp_path / 'in' / 'broken.png').write_bytes(b'')
    result = segment_images(
        tiny['config'],
        tiny['checkpoint'], [str(tmp_path / 'in')],
        str(tmp_path / 'out'),
        show_progress=False)
    assert result.written == [image]
    assert list(result.unreadable) == [str(tmp_path / 'in' / 'broken.png')]
    from PIL import Image
    label = np.asarray(Image.open(f'{result.label_dir}/street_trainIds.png'))
    overlay = np.asarray(
        Image.open(f'{result.overlay_dir}/street_overlay.png'))
    assert label.shape == (24, 40) and label.max() < 19
    assert overlay.shape == (24, 40, 3)
