"""ProjectionHead and FusionBlock."""
import pytest
import torch

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS


def test_projection_head_unit_norm():
    head = MODELS.build(
        dict(type='ProjectionHead', in_channels=6, embed_dim=4))
    out = head(torch.randn(2, 6, 5, 7))
    assert out.shape == (2, 4, 5, 7)
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 5, 7), atol=1e-5)
    raw = MODELS.build(
        dict(
            type='ProjectionHead',
            in_channels=6,
            embed_dim=4,
            hidden_channels=3,
            normalize=False))
    assert raw.hidden.conv.out_channels == 3


@pytest.mark.parametrize('fusion', ['gated', 'sum', 'concat'])
def test_fusion_block_shapes(fusion):
    block = MODELS.build(
        dict(
            type='FusionBlock',
            channels=4,
            fusion=fusion,
            norm_cfg=dict(type='BN')))
    block.init_weights()
    t, c = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    out = block(t, c)
    assert out.shape == (2, 4, 3, 3)
    if fusion == 'sum':
        assert torch.allclose(out, t + c)
    if fusion == 'gated':
        # The gate starts at 0.5: the mean of both streams.
        assert torch.allclose(out, (t + c) / 2, atol=1e-6)


def test_fusion_block_rejects_unknown_type():
    with pytest.raises(ValueError):
        MODELS.build(dict(type='FusionBlock', channels=4, fusion='max'))
