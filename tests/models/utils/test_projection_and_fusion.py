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


def test_projection_head_residual_output():
    """residual=True: z = normalize(h + out(h)) (the CAC reference's)."""
    torch.manual_seed(0)
    cfg = dict(
        type='ProjectionHead',
        in_channels=6,
        embed_dim=4,
        hidden_channels=4,
        normalize=False)
    plain = MODELS.build(cfg).eval()
    residual = MODELS.build(dict(cfg, residual=True)).eval()
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 6, 5, 7)
    h = plain.hidden(x)
    assert torch.allclose(residual(x), h + plain(x), atol=1e-6)
    assert not torch.allclose(residual(x), plain(x), atol=1e-3)
    with pytest.raises(ValueError, match='hidden_channels == embed_dim'):
        MODELS.build(dict(cfg, hidden_channels=3, residual=True))


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


def test_checkpointed_projection_gives_the_same_loss_gradients_and_stats():
    """with_cp: the same embeddings and gradients, and the BN running
    statistics move once per step, not again in the recomputation."""
    from mmseg_contrafusion.models.utils import ProjectionHead

    torch.manual_seed(0)
    plain = ProjectionHead(8, embed_dim=4, hidden_channels=6)
    checkpointed = ProjectionHead(
        8, embed_dim=4, hidden_channels=6, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    plain.train()
    checkpointed.train()
    x = torch.randn(2, 8, 5, 7)
    grads = []
    for head in (plain, checkpointed):
        inputs = x.clone().requires_grad_()
        out = head(inputs)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() \
            .backward()
        grads.append((out.detach(), inputs.grad, head.hidden.conv.weight.grad))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)
    bn_plain, bn_cp = plain.hidden.bn, checkpointed.hidden.bn
    assert torch.allclose(bn_plain.running_mean, bn_cp.running_mean)
    assert torch.allclose(bn_plain.running_var, bn_cp.running_var)
    assert bn_plain.num_batches_tracked == bn_cp.num_batches_tracked == 1
    assert bn_cp.momentum == bn_plain.momentum
