"""Cross fusion block of ECFD: deformable attention between two token sets.

The block of ECFD ("Efficient Cross-Information Fusion Decoder", see
:class:`ECFDHead`) lets a single-scale set of *context* tokens (the 1/16
grid) and a multi-scale set of *spatial* tokens (1/8, 1/16, 1/32 grids)
attend to each other through multi-scale deformable attention (Deformable
DETR, Zhu et al., ICLR 2021), the injector / extractor pattern of
ViT-Adapter (Chen et al., ICLR 2023). The attention itself is mmcv's
:class:`mmcv.ops.MultiScaleDeformableAttention`: on CUDA tensors it runs the
compiled kernel, otherwise ``multi_scale_deformable_attn_pytorch``
(``grid_sample``), so the block also runs, and trains, on CPU.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

Shapes = Sequence[Tuple[int, int]]


def reference_points(shapes: Shapes, device: torch.device) -> Tensor:
    """Normalised centres of the cells of one or more token grids.

    Args:
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each grid, in the
            order the tokens are concatenated.
        device (torch.device): Device of the result.

    Returns:
        Tensor: ``(x, y)`` in [0, 1] of every token, shape (1, N, 1, 2) with
        N = sum of h * w, the layout that
        :class:`~mmcv.ops.MultiScaleDeformableAttention` broadcasts over the
        batch and the value levels.
    """
    points = []
    for h, w in shapes:
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        points.append(
            torch.stack(
                [grid_x.reshape(-1), grid_y.reshape(-1)], -1))
    return torch.cat(points, 0)[None, :, None, :]


def level_layout(shapes: Shapes,
                 device: torch.device) -> Tuple[Tensor, Tensor]:
    """``spatial_shapes`` and ``level_start_index`` of concatenated grids.

    Args:
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each value level.
        device (torch.device): Device of the results.

    Returns:
        tuple[Tensor, Tensor]: Shapes, (L, 2) long; start index of each
        level in the flattened tokens, (L,) long.
    """
    spatial_shapes = torch.as_tensor([tuple(s) for s in shapes],
                                     dtype=torch.long,
                                     device=device)
    sizes = spatial_shapes.prod(1)
    start = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
    return spatial_shapes, start


def split_levels(tokens: Tensor, shapes: Shapes) -> List[Tensor]:
    """Turn concatenated tokens back into per-level maps.

    Args:
        tokens (Tensor): Tokens, shape (B, N, C), N = sum of h * w.
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each level.

    Returns:
        list[Tensor]: Maps of shape (B, C, h, w), one per level, contiguous
        (a channels-last view would give convs channels-last weight
        gradients, which DDP's gradient buckets warn about).
    """
    sizes = [h * w for h, w in shapes]
    return [
        chunk.transpose(1, 2).reshape(tokens.shape[0], -1, h, w).contiguous()
        for chunk, (h, w) in zip(tokens.split(sizes, dim=1), shapes)
    ]


class DeformableCrossAttention(MultiScaleDeformableAttention):
    """mmcv's multi-scale deformable attention, residual-free.

    :class:`mmcv.ops.MultiScaleDeformableAttention` (four linears:
    ``sampling_offsets``, ``attention_weights``, ``value_proj``,
    ``output_proj``; Deformable-DETR initialisation; CUDA kernel or PyTorch
    path) returns ``dropout(attn) + identity``. The ECFD blocks add their own
    (layer-scaled) residual, so :meth:`attend` passes a zero identity and
    batch-first tokens and returns the attention output alone.

    Args:
        embed_dims (int): Width D of queries and values.
        num_heads (int): Attention heads.
        num_levels (int): Value levels.
        num_points (int): Sampling points per head and level. Defaults to 4.
        value_proj_ratio (float): Width of the value projection relative to
            D. Defaults to 1.0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_levels: int,
                 num_points: int = 4,
                 value_proj_ratio: float = 1.0) -> None:
        super().__init__(
            embed_dims=embed_dims,
            num_heads=num_heads,
            num_levels=num_levels,
            num_points=num_points,
            dropout=0.,
            batch_first=True,
            value_proj_ratio=value_proj_ratio)

    def attend(self, query: Tensor, value: Tensor, ref_points: Tensor,
               value_shapes: Shapes) -> Tensor:
        """Deformable attention of ``query`` over multi-level ``value``.

        Args:
            query (Tensor): Queries, shape (B, Nq, D).
            value (Tensor): Values, shape (B, Nv, D), the levels of
                ``value_shapes`` concatenated.
            ref_points (Tensor): Reference point of every query, shape
                (1 or B, Nq, 1, 2) (see :func:`reference_points`).
            value_shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each
                value level.

        Returns:
            Tensor: The attention output, shape (B, Nq, D).
        """
        spatial_shapes, start = level_layout(value_shapes, query.device)
        return self(
            query,
            value=value,
            identity=query.new_zeros(1),
            reference_points=ref_points,
            spatial_shapes=spatial_shapes,
            level_start_index=start)


FFN_INITS = ('pytorch', 'trunc_normal')


class MultiLevelConvFFN(BaseModule):
    r"""Feed-forward network with a depthwise 3x3 conv on each token level.

    ``Linear(D -> H) -> DWConv3x3 -> GELU -> Linear(H -> D)``: the
    depthwise conv (shared by the levels, as in ViT-Adapter's ConvFFN) is
    applied to each level's token map separately.

    Args:
        embed_dims (int): Width D of the tokens.
        hidden_dims (int): Hidden width H.
        init (str): Init of the two linears done by :meth:`init_weights`:
            ``'pytorch'``, PyTorch's default (uniform in
            :math:`\pm 1/\sqrt{fan_{in}}`, as the original ECFD leaves
            them), or ``'trunc_normal'``, truncated normal with std 0.02 and
            zero biases (ViT-Adapter's backbone init). Defaults to
            ``'pytorch'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 init: str = 'pytorch',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if init not in FFN_INITS:
            raise ValueError(f'init must be one of {FFN_INITS}, got {init!r}')
        self.init = init
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.dwconv = nn.Conv2d(
            hidden_dims, hidden_dims, 3, padding=1, groups=hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)

    def init_weights(self) -> None:
        """Initialise the linears as ``init`` says."""
        super().init_weights()
        for fc in (self.fc1, self.fc2):
            if self.init == 'trunc_normal':
                trunc_normal_(fc.weight, std=.02)
                nn.init.zeros_(fc.bias)
            else:
                fc.reset_parameters()

    def extra_repr(self) -> str:
        return f'init={self.init!r}'

    def forward(self, x: Tensor, shapes: Shapes) -> Tensor:
        """(B, N, D) tokens of the levels ``shapes`` -> (B, N, D)."""
        x = self.fc1(x)
        maps = [self.dwconv(m) for m in split_levels(x, shapes)]
        x = torch.cat([m.flatten(2) for m in maps], dim=2).transpose(1, 2)
        return self.fc2(self.act(x))


class CrossFusionBlock(BaseModule):
    r"""One cross fusion block (CFB) of ECFD.

    With context tokens :math:`F_c` (one 1/16 grid) and spatial tokens
    :math:`F_{sp}` (the 1/8, 1/16 and 1/32 grids concatenated):

    1. context-information correction (CICM), the context tokens sample the
       spatial levels around their own position:
       :math:`F_c \leftarrow F_c + \gamma \odot
       \text{MSDA}(LN(F_c), LN(F_{sp}))`, :math:`\gamma` a per-channel
       layer scale (initialised to ``init_values``, 0: the block starts as
       the identity on :math:`F_c`);
    2. spatial-information correction (SICM), the spatial tokens sample the
       context grid:
       :math:`F_{sp} \leftarrow F_{sp} + \text{MSDA}(LN(F_{sp}), LN(F_c))`,
       then :math:`F_{sp} \leftarrow F_{sp} +
       \text{ConvFFN}(LN(F_{sp}))`.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Heads of both attentions. Defaults to 6.
        num_points (int): Sampling points per head and level. Defaults to 4.
        num_spatial_levels (int): Levels of the spatial tokens. Defaults to
            3.
        ffn_ratio (float): Hidden width of the ConvFFN relative to D.
            Defaults to 0.5.
        init_values (float): Initial CICM layer scale. Defaults to 0.
        value_proj_ratio (float): Value-projection width ratio of the
            attentions. Defaults to 1.0.
        ffn_init (str): Init of the ConvFFN's linears (see
            :class:`MultiLevelConvFFN`): ``'pytorch'`` (the original) or
            ``'trunc_normal'``. Defaults to ``'pytorch'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int = 6,
                 num_points: int = 4,
                 num_spatial_levels: int = 3,
                 ffn_ratio: float = 0.5,
                 init_values: float = 0.,
                 value_proj_ratio: float = 1.0,
                 ffn_init: str = 'pytorch',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)

        def norm():
            return nn.LayerNorm(embed_dims, eps=1e-6)

        # CICM: context queries, multi-level spatial values.
        self.context_norm = norm()
        self.spatial_value_norm = norm()
        self.context_attn = DeformableCrossAttention(embed_dims, num_heads,
                                                     num_spatial_levels,
                                                     num_points,
                                                     value_proj_ratio)
        self.gamma = nn.Parameter(torch.full((embed_dims, ), init_values))
        # SICM: spatial queries, context values, then the ConvFFN.
        self.spatial_norm = norm()
        self.context_value_norm = norm()
        self.spatial_attn = DeformableCrossAttention(embed_dims, num_heads, 1,
                                                     num_points,
                                                     value_proj_ratio)
        self.ffn_norm = norm()
        self.ffn = MultiLevelConvFFN(
            embed_dims, int(embed_dims * ffn_ratio), init=ffn_init)

    def forward(self, context: Tensor, spatial: Tensor,
                context_shape: Tuple[int, int],
                spatial_shapes: Shapes) -> Tuple[Tensor, Tensor]:
        """Update both token sets.

        Args:
            context (Tensor): Context tokens, shape (B, h*w, D).
            spatial (Tensor): Spatial tokens, shape (B, sum h_l*w_l, D).
            context_shape (tuple[int, int]): ``(h, w)`` of the context grid.
            spatial_shapes (Sequence[tuple[int, int]]): ``(h_l, w_l)`` of
                each spatial level.

        Returns:
            tuple[Tensor, Tensor]: The updated ``(context, spatial)``, same
            shapes.
        """
        context_ref = reference_points([context_shape], context.device)
        spatial_ref = reference_points(spatial_shapes, spatial.device)
        context = context + self.gamma * self.context_attn.attend(
            self.context_norm(context), self.spatial_value_norm(spatial),
            context_ref, spatial_shapes)
        spatial = spatial + self.spatial_attn.attend(
            self.spatial_norm(spatial), self.context_value_norm(context),
            spatial_ref, [context_shape])
        spatial = spatial + self.ffn(self.ffn_norm(spatial), spatial_shapes)
        return context, spatial
