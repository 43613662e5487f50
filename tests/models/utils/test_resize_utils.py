"""models/utils/resize_utils.py: resize_to."""
import torch
import torch.nn.functional as F

from mmseg_contrafusion.models.utils import resize_to


def test_same_size_is_the_tensor_itself():
    x = torch.randn(2, 3, 5, 7)
    assert resize_to(x, (5, 7)) is x
    assert resize_to(x, torch.Size([5, 7]), align_corners=True) is x


def test_other_size_interpolates_as_torch():
    x = torch.randn(1, 2, 4, 4)
    for mode, corners in (('bilinear', False), ('bilinear', True), ('nearest',
                                                                    None)):
        expected = F.interpolate(
            x, size=(8, 6), mode=mode, align_corners=corners)
        assert torch.allclose(resize_to(x, (8, 6), mode, corners), expected)
