"""ECFDHead against a reference written from the original ECFD's layout.

``OriginalECFD`` below is written from the description of the original
decode head (songyang-xiaobai/ECFD-main, ``mmseg/models/decode_heads/
ECFD.py``; ``reference/contrastive-losses-and-ecfd.md`` section 3): plain
``torch.nn`` layers named as there, its own multi-scale deformable
attention (``grid_sample``, as Deformable DETR's PyTorch reference), C1
projected by a plain 1x1 conv with bias, C2'..C4' by 1x1 convs with bias
before their BN, the C4 reduction of the context embedding a 1x1
``ConvTranspose2d``, the position embedding stored as tokens with an unused
class-token slot, and the FPN (FastFCN's ``FCFPNHead``) resizing with
``align_corners=True``. The head's weights are copied in (perturbed away from
their init first, so that layer scales, attention weights and position
embedding are not zero); the outputs must agree.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

WIDTHS = [8, 16, 32, 64]
CH, D, HEADS, POINTS, GATE = 16, 16, 2, 4, 4
POS_GRID = (8, 8)  # the stored grid; resized bicubically to the 1/16 grid


def build_head(**kwargs):
    cfg = dict(
        type='ECFDHead',
        in_channels=WIDTHS,
        channels=CH,
        embed_dims=D,
        num_heads=HEADS,
        num_points=POINTS,
        gate_channels=GATE,
        pos_shape=POS_GRID,
        num_classes=5,
        norm_cfg=dict(type='BN', requires_grad=True))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def feats(size=(72, 88), batch=2):
    h, w = size
    g = torch.Generator().manual_seed(1)
    return [
        torch.randn(batch, c, -(-h // s), -(-w // s), generator=g)
        for c, s in zip(WIDTHS, (4, 8, 16, 32))
    ]


def perturb_(module, seed=0):
    """Move every parameter and BN statistic away from its init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(
                    0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(
                    0.5 + torch.rand(m.running_var.shape, generator=g))


# --------------------------------------------------------------------------
# The reference, in the original's layout.
# --------------------------------------------------------------------------
def original_reference_points(shapes):
    points = []
    for h, w in shapes:
        ys, xs = torch.meshgrid(
            torch.linspace(0.5, h - 0.5, h),
            torch.linspace(0.5, w - 0.5, w),
            indexing='ij')
        points.append(
            torch.stack(
                [xs.reshape(-1) / w, ys.reshape(-1) / h], -1))
    return torch.cat(points, 0)[None, :, None]  # (1, N, 1, 2)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention (Zhu et al., ICLR 2021)."""

    def __init__(self, dim, levels, heads, points):
        super().__init__()
        self.heads, self.levels, self.points = heads, levels, points
        self.sampling_offsets = nn.Linear(dim, heads * levels * points * 2)
        self.attention_weights = nn.Linear(dim, heads * levels * points)
        self.value_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)

    def forward(self, query, ref, value, shapes):
        n, lq, _ = query.shape
        h_, l_, p_ = self.heads, self.levels, self.points
        v = self.value_proj(value).view(n, value.shape[1], h_, -1)
        dh = v.shape[-1]
        offsets = self.sampling_offsets(query).view(n, lq, h_, l_, p_, 2)
        weights = self.attention_weights(query).view(n, lq, h_, l_ * p_)
        weights = weights.softmax(-1).view(n, lq, h_, l_, p_)
        normaliser = torch.tensor([[w, h] for h, w in shapes],
                                  dtype=query.dtype)
        loc = ref[:, :, None, :, None, :] + \
            offsets / normaliser[None, None, None, :, None, :]
        out = query.new_zeros(n * h_, dh, lq)
        start = 0
        for lvl, (h, w) in enumerate(shapes):
            v_l = v[:,
                    start:start + h * w].permute(0, 2, 3,
                                                 1).reshape(n * h_, dh, h, w)
            start += h * w
            grid = (2 * loc[:, :, :, lvl] - 1).permute(0, 2, 1, 3, 4)
            sampled = F.grid_sample(
                v_l,
                grid.reshape(n * h_, lq, p_, 2),
                mode='bilinear',
                padding_mode='zeros',
                align_corners=False)
            w_l = weights[:, :, :, lvl].permute(0, 2, 1,
                                                3).reshape(n * h_, 1, lq, p_)
            out = out + (sampled * w_l).sum(-1)
        out = out.view(n, h_ * dh, lq).transpose(1, 2)
        return self.output_proj(out)


def layer_norm():
    return nn.LayerNorm(D, eps=1e-6)


class CICM(nn.Module):

    def __init__(self):
        super().__init__()
        self.query_norm, self.feat_norm = layer_norm(), layer_norm()
        self.attn = MSDeformAttn(D, 3, HEADS, POINTS)
        self.gamma = nn.Parameter(torch.zeros(D))

    def forward(self, x, ref, feat, shapes):
        return x + self.gamma * self.attn(
            self.query_norm(x), ref, self.feat_norm(feat), shapes)


class Mlp(nn.Module):

    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(D, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = nn.Linear(hidden, D)

    def forward(self, x, shapes):
        x = self.fc1(x)
        chunks, start = [], 0
        for h, w in shapes:
            m = x[:, start:start + h * w].transpose(1, 2).reshape(
                x.shape[0], -1, h, w)
            chunks.append(self.dwconv(m).flatten(2).transpose(1, 2))
            start += h * w
        return self.fc2(F.gelu(torch.cat(chunks, 1)))


class SICM(nn.Module):

    def __init__(self):
        super().__init__()
        self.query_norm, self.feat_norm = layer_norm(), layer_norm()
        self.attn = MSDeformAttn(D, 1, HEADS, POINTS)
        self.mlp_norm = layer_norm()
        self.Mlp = Mlp(D // 2)

    def forward(self, query, ref, feat, value_shapes, space_shape):
        query = query + self.attn(
            self.query_norm(query), ref, self.feat_norm(feat), value_shapes)
        return query + self.Mlp(self.mlp_norm(query), space_shape)


def conv_bn_relu(cin, cout, k):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU())


class CLGD(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv_low = conv_bn_relu(CH, GATE, 3)
        self.conv_cat = conv_bn_relu(CH + GATE, CH, 3)
        self.conv_att = nn.Sequential(nn.Conv2d(CH + GATE, 1, 1), nn.Sigmoid())
        self.conv_out = conv_bn_relu(CH, CH, 3)
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, x, y, align_corners):
        low = self.conv_low(x)
        high = F.interpolate(
            y, low.shape[2:], mode='bilinear', align_corners=align_corners)
        cat = torch.cat([low, high], 1)
        low = self.gamma * self.conv_att(cat) * low
        return self.conv_out(self.conv_cat(torch.cat([low, high], 1)))


class FCFPNHead(nn.Module):

    def __init__(self, align_corners=True):
        super().__init__()
        self.up_kwargs = dict(mode='bilinear', align_corners=align_corners)
        self.fpn_lateral = nn.ModuleList(
            conv_bn_relu(CH, CH, 1) for _ in range(3))
        self.fpn_out = nn.ModuleList(conv_bn_relu(CH, CH, 3) for _ in range(3))
        self.c4conv = conv_bn_relu(CH, CH, 3)
        self.conv5 = conv_bn_relu(4 * CH, CH, 3)

    def forward(self, multix):
        feat = self.c4conv(multix[-1])
        c1_size = multix[0].shape[2:]
        outs = [F.interpolate(feat, c1_size, **self.up_kwargs)]
        for i in reversed(range(3)):
            feat_i = self.fpn_lateral[i](multix[i])
            feat = F.interpolate(feat, feat_i.shape[2:], **self.up_kwargs)
            feat = feat + feat_i
            outs.append(
                F.interpolate(self.fpn_out[i](feat), c1_size,
                              **self.up_kwargs))
        return self.conv5(torch.cat(outs, 1))


class OriginalECFD(nn.Module):
    """The original head's forward (eval mode: no dropout).

    ``c1`` and ``fpn_align_corners`` / ``deconv_bias`` select the variants
    the port offers, to check that each does what its name says.
    """

    def __init__(self,
                 c1='conv',
                 fpn_align_corners=True,
                 deconv_bias=True,
                 add_context=False,
                 align_corners=False):
        super().__init__()
        c0 = WIDTHS[0]
        self.add_context, self.align_corners = add_context, align_corners
        if c1 == 'conv':
            self.c1_conv1x1 = nn.Conv2d(c0, CH, 1, bias=True)
        else:
            self.c1_conv1x1 = conv_bn_relu(c0, CH, 1)
        for lvl in (2, 3, 4):
            setattr(self, f'c{lvl}_conv1x1',
                    nn.Conv2d(WIDTHS[lvl - 1], D, 1, bias=True))
            setattr(self, f'c{lvl}_deconv1x1',
                    nn.Conv2d(D, CH, 1, bias=deconv_bias))
            setattr(self, f'norm{lvl}', nn.BatchNorm2d(CH))
        # Reinforced context embedding.
        self.layer2_embedding = nn.Conv2d(WIDTHS[1], c0, 1)
        self.layer3_embedding = nn.Conv2d(WIDTHS[2], c0, 1)
        self.layer4_embedding = nn.ConvTranspose2d(WIDTHS[3], c0, 1)
        self.fuse_layer = nn.Conv2d(3 * c0, D, 1)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, POS_GRID[0] * POS_GRID[1] + 1, D))
        self.cicm = nn.ModuleList(CICM() for _ in range(3))
        self.sicm = nn.ModuleList(SICM() for _ in range(3))
        self.up = nn.ConvTranspose2d(D, CH, 2, 2)
        self.clgd = CLGD()
        self.fpn = FCFPNHead(fpn_align_corners)
        self.conv_seg = nn.Conv2d(CH, 5, 1)

    def forward(self, inputs):
        ac = self.align_corners
        shapes = [tuple(x.shape[2:]) for x in inputs[1:]]
        bs = inputs[0].shape[0]
        c = torch.cat([
            getattr(self, f'c{lvl}_conv1x1')(inputs[lvl - 1]).flatten(2)
            for lvl in (2, 3, 4)
        ], 2).transpose(1, 2)
        emb = [
            self.layer2_embedding(inputs[1]),
            self.layer3_embedding(inputs[2]),
            self.layer4_embedding(inputs[3])
        ]
        size = emb[1].shape[2:]
        x = self.fuse_layer(
            torch.cat([
                F.interpolate(e, size, mode='bilinear', align_corners=ac)
                for e in emb
            ], 1))
        h, w = x.shape[2:]
        x = x.flatten(2).transpose(1, 2)
        pos = self.pos_embed[:, 1:].reshape(1, *POS_GRID,
                                            D).permute(0, 3, 1, 2)
        pos = F.interpolate(pos, (h, w), mode='bicubic', align_corners=ac)
        x = x + pos.reshape(1, D, h * w).permute(0, 2, 1)
        ref_context = original_reference_points([(h, w)])
        ref_spatial = original_reference_points(shapes)
        outs = []
        for cicm, sicm in zip(self.cicm, self.sicm):
            x = cicm(x, ref_context, c, shapes)
            c = sicm(c, ref_spatial, x, [(h, w)], shapes)
            outs.append(x.transpose(1, 2).reshape(bs, D, h, w))
        maps, start = [], 0
        for hl, wl in shapes:
            maps.append(c[:, start:start + hl * wl].transpose(1, 2).reshape(
                bs, D, hl, wl))
            start += hl * wl
        r_c = self.up(x.transpose(1, 2).reshape(bs, D, h, w))
        c1 = self.clgd(self.c1_conv1x1(inputs[0]), r_c, ac)
        if self.add_context:
            maps = [
                m + F.interpolate(
                    o, m.shape[2:], mode='bilinear', align_corners=ac)
                for m, o in zip(maps, outs)
            ]
        levels = [c1] + [
            getattr(self, f'norm{lvl}')(getattr(self, f'c{lvl}_deconv1x1')(m))
            for lvl, m in zip((2, 3, 4), maps)
        ]
        return self.conv_seg(self.fpn(levels))


def copy_(dst, src):
    """Copy the tensors ``dst`` has (a bias-free ``dst`` drops the bias)."""
    state = src.state_dict()
    assert set(dst.state_dict()) <= set(state), (dst, src)
    dst.load_state_dict({
        k: v
        for k, v in state.items() if k in dst.state_dict()
    })


def copy_conv_module_(dst_seq, conv_module):
    """ConvModule (conv, norm[, act]) -> Sequential(conv, BN[, ReLU])."""
    copy_(dst_seq[0], conv_module.conv)
    copy_(dst_seq[1], conv_module.norm)


def reference_from(head, **kwargs):
    """An ``OriginalECFD`` holding the head's weights."""
    ref = OriginalECFD(
        add_context=head.add_context,
        align_corners=head.align_corners,
        **kwargs).eval()
    with torch.no_grad():
        if isinstance(ref.c1_conv1x1, nn.Conv2d):
            copy_(ref.c1_conv1x1, head.gating.low_proj.conv)
        else:
            copy_conv_module_(ref.c1_conv1x1, head.gating.low_proj)
        for i, lvl in enumerate((2, 3, 4)):
            copy_(getattr(ref, f'c{lvl}_conv1x1'), head.spatial_embeds[i].conv)
            copy_(getattr(ref, f'c{lvl}_deconv1x1'), head.spatial_outs[i].conv)
            copy_(getattr(ref, f'norm{lvl}'), head.spatial_outs[i].norm)
        rce = head.context_embed
        copy_(ref.layer2_embedding, rce.reduce[0].conv)
        copy_(ref.layer3_embedding, rce.reduce[1].conv)
        # ConvTranspose2d weight: (in, out, 1, 1).
        ref.layer4_embedding.weight.copy_(rce.reduce[2].conv.weight.transpose(
            0, 1))
        ref.layer4_embedding.bias.copy_(rce.reduce[2].conv.bias)
        copy_(ref.fuse_layer, rce.embed.conv)
        ref.pos_embed[:, 0].normal_()  # the unused class-token slot
        ref.pos_embed[:, 1:].copy_(rce.pos_embed.flatten(2).transpose(1, 2))
        for block, cicm, sicm in zip(head.blocks, ref.cicm, ref.sicm):
            copy_(cicm.query_norm, block.context_norm)
            copy_(cicm.feat_norm, block.spatial_value_norm)
            cicm.gamma.copy_(block.gamma)
            copy_(sicm.query_norm, block.spatial_norm)
            copy_(sicm.feat_norm, block.context_value_norm)
            copy_(sicm.mlp_norm, block.ffn_norm)
            for dst, src in ((cicm.attn, block.context_attn),
                             (sicm.attn, block.spatial_attn)):
                for name in ('sampling_offsets', 'attention_weights',
                             'value_proj', 'output_proj'):
                    copy_(getattr(dst, name), getattr(src, name))
            for name in ('fc1', 'dwconv', 'fc2'):
                copy_(getattr(sicm.Mlp, name), getattr(block.ffn, name))
        copy_(ref.up, head.context_up)
        gating = head.gating
        copy_conv_module_(ref.clgd.conv_low, gating.low_conv)
        copy_conv_module_(ref.clgd.conv_cat, gating.fuse)
        copy_(ref.clgd.conv_att[0], gating.attention)
        copy_conv_module_(ref.clgd.conv_out, gating.out_conv)
        ref.clgd.gamma.copy_(gating.gamma)
        copy_conv_module_(ref.fpn.c4conv, head.top_conv)
        for i in range(3):
            copy_conv_module_(ref.fpn.fpn_lateral[i], head.laterals[i])
            copy_conv_module_(ref.fpn.fpn_out[i], head.fpn_convs[i])
        copy_conv_module_(ref.fpn.conv5, head.fpn_bottleneck)
        copy_(ref.conv_seg, head.conv_seg)
    return ref


def perturbed_head(**kwargs):
    torch.manual_seed(0)
    head = build_head(**kwargs)
    perturb_(head)
    return head.eval()


# --------------------------------------------------------------------------
# Tests.
# --------------------------------------------------------------------------
@pytest.mark.parametrize('add_context', [False, True])
@pytest.mark.parametrize('size', [(72, 88), (64, 64)])
def test_defaults_compute_the_original(add_context, size):
    head = perturbed_head(add_context=add_context)
    assert (head.c1_projection, head.fpn_align_corners, head.spatial_out_bias,
            head.init) == ('conv', True, True, 'pytorch')
    ref = reference_from(head)
    x = feats(size)
    with torch.no_grad():
        ours, theirs = head(x), ref(x)
    assert ours.shape == theirs.shape == (2, 5, -(-size[0] // 4),
                                          -(-size[1] // 4))
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-4), \
        (ours - theirs).abs().max()


def test_reference_is_sensitive_to_the_fixed_differences():
    """The comparison above would catch a wrong FPN ``align_corners`` or a
    missing C2'..C4' bias (the reference then drops the head's bias)."""
    head = perturbed_head()
    x = feats()
    with torch.no_grad():
        ours = head(x)
        for kwargs in (dict(fpn_align_corners=False), dict(deconv_bias=False)):
            ref = reference_from(head, **kwargs)
            assert not torch.allclose(ours, ref(x), atol=1e-3), kwargs


@pytest.mark.parametrize('variant, reference', [
    (dict(c1_projection='conv_bn_relu'), dict(c1='conv_bn_relu')),
    (dict(fpn_align_corners=False), dict(fpn_align_corners=False)),
    (dict(spatial_out_bias=False), dict(deconv_bias=False)),
])
def test_named_variants_do_what_they_say(variant, reference):
    head = perturbed_head(**variant)
    x = feats()
    with torch.no_grad():
        ours = head(x)
        assert torch.allclose(
            ours, reference_from(head, **reference)(x), atol=1e-5, rtol=1e-4)
    if 'c1_projection' in variant:
        low = head.gating.low_proj
        assert low.with_norm and low.with_activation and low.conv.bias is None
    if 'spatial_out_bias' in variant:
        assert all(m.conv.bias is None for m in head.spatial_outs)


def test_parameter_counts_of_the_variants():
    """Only the layout options change the parameters: C1 projection bias
    (C) instead of BN (2C), and a bias on each of C2'..C4' (3C)."""

    def count(head):
        return sum(p.numel() for p in head.parameters())

    def shapes(head):
        return {k: tuple(v.shape) for k, v in head.state_dict().items()}

    original = build_head()
    assert shapes(build_head(init='kaiming')) == shapes(original)
    assert shapes(build_head(fpn_align_corners=False)) == shapes(original)
    mmcv_style = build_head(
        c1_projection='conv_bn_relu', spatial_out_bias=False)
    assert count(original) - count(mmcv_style) == 3 * CH - CH
    # The reference holds exactly the head's parameters, plus the unused
    # class-token slot of the original position embedding.
    ref = OriginalECFD()
    assert count(ref) == count(original) + D


def test_dual_stream_mode_is_unchanged_by_the_options():
    """The options act on the ECFD part; the stream projections and
    fusions of the two-encoder mode keep mmcv's init either way."""
    for init in ('pytorch', 'kaiming'):
        head = build_head(
            init=init,
            in_channels=None,
            transformer_in_channels=WIDTHS,
            cnn_in_channels=[12, 24, 48, 96],
            fusion='concat',
            fusion_channels=8)
        for conv in head.front_end.cnn_convs:
            # Kaiming (fan-out 8): std 0.5, far outside PyTorch's default
            # bound 1/sqrt(fan-in) <= 0.29.
            assert conv.conv.bias is None
            bound = conv.conv.in_channels**-0.5
            assert conv.conv.weight.abs().max() > 1.5 * bound
