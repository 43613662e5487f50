"""Base of the decode heads that read both encoder streams."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.utils import ConfigType, OptConfigType, SampleList
from ..segmentors.dual_feats import STREAMS, DualFeats
from ..utils.two_stream_fusion import FusedFeats, TwoStreamFusion
from .cross_encoder_contrast_branch import CrossEncoderContrastBranch


class TwoStreamDecodeHead(BaseDecodeHead):
    """A decode head over the :class:`DualFeats` of a :class:`DualEncoder`.

    The contract between :class:`DualEncoder` and its decode head: the
    segmentor checks at build time that its head is one of these and that
    ``streams`` names exactly the encoders it builds. The head

    1. selects ``in_index`` of each present stream and passes them through
       the shared front-end :class:`TwoStreamFusion` (per-stream laterals,
       resize, per-level :class:`FusionBlock`), which returns the pre-fusion
       laterals and the fused levels (:class:`FusedFeats`);
    2. decodes the fused levels (:meth:`decode`, the subclass's own part);
    3. in training, with ``loss_contrast``, aligns the laterals of the two
       streams with a :class:`CrossEncoderContrastBranch`.

    A subclass implements :meth:`decode` and may override :meth:`loss` to
    add terms (e.g. CAC). A head that can also sit on a single ordinary
    backbone (``EncoderDecoder``) takes ``in_channels`` instead of stream
    widths: it then has no front-end and decodes the selected levels as
    they are.

    Args:
        transformer_in_channels (Sequence[int], optional): Widths of the
            selected transformer levels. Defaults to None (no transformer
            stream).
        cnn_in_channels (Sequence[int], optional): Widths of the selected
            CNN levels. Defaults to None (no CNN stream).
        channels (int): Width of the head (see the subclass).
        fusion (str): ``'gated'``, ``'sum'`` or ``'concat'``. Defaults to
            ``'gated'``.
        fusion_channels (int | Sequence[int], optional): Width of each
            lateral and fused level; None means ``channels``. Defaults to
            None.
        pool_scales (Sequence[int], optional): Pyramid pooling on the
            deepest CNN level (the PSP variant). Defaults to None.
        ppm_channels (int, optional): Channels of each pooled branch.
            Defaults to None.
        contrast_levels (Sequence[int]): Levels (positions in ``in_index``)
            whose laterals are contrasted. Defaults to ``(2, 3)``.
        embed_dim (int): Width of the contrastive embeddings. Defaults to
            128.
        proj_channels (int, optional): Hidden width of the projection heads.
            Defaults to None (the level's width).
        loss_contrast (dict, optional): Config of the contrastive loss; None
            builds no contrast branch. Defaults to None.
        in_channels (Sequence[int], optional): Widths of a single ordinary
            backbone's levels, for heads that also work without
            :class:`DualEncoder`. Defaults to None.
        in_index (Sequence[int]): Selected levels of each stream. Defaults
            to ``(0, 1, 2, 3)``.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``norm_cfg``, ``align_corners``, ``loss_decode``, ...).
    """

    def __init__(self,
                 transformer_in_channels: Optional[Sequence[int]] = None,
                 cnn_in_channels: Optional[Sequence[int]] = None,
                 *,
                 channels: int,
                 fusion: str = 'gated',
                 fusion_channels: Optional[Union[int, Sequence[int]]] = None,
                 pool_scales: Optional[Sequence[int]] = None,
                 ppm_channels: Optional[int] = None,
                 contrast_levels: Sequence[int] = (2, 3),
                 embed_dim: int = 128,
                 proj_channels: Optional[int] = None,
                 loss_contrast: OptConfigType = None,
                 in_channels: Optional[Sequence[int]] = None,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 **kwargs) -> None:
        name = self.__class__.__name__
        streams = (transformer_in_channels, cnn_in_channels)
        if in_channels is not None and any(w is not None for w in streams):
            raise ValueError(
                f'{name}: give in_channels (one ordinary backbone) or '
                'transformer_in_channels / cnn_in_channels (DualEncoder), '
                'not both')
        if in_channels is None and all(w is None for w in streams):
            raise ValueError(f'{name} needs at least one stream: set '
                             'transformer_in_channels and/or cnn_in_channels')
        for key, value in (('in_channels', in_channels),
                           ('transformer_in_channels',
                            transformer_in_channels), ('cnn_in_channels',
                                                       cnn_in_channels)):
            if value is not None and len(value) != len(in_index):
                raise ValueError(f'{name}: {key} has {len(value)} levels but '
                                 f'in_index selects {len(in_index)}')
        first = next(w for w in (in_channels, *streams) if w is not None)
        super().__init__(
            in_channels=list(first),
            channels=channels,
            input_transform='multiple_select',
            in_index=list(in_index),
            **kwargs)
        self.transformer_in_channels = (None if transformer_in_channels is None
                                        else list(transformer_in_channels))
        self.cnn_in_channels = (None if cnn_in_channels is None else
                                list(cnn_in_channels))
        self.num_levels = len(in_index)
        self.fusion = fusion
        self.front_end = None
        if self.streams:
            self.front_end = TwoStreamFusion(
                self.transformer_in_channels,
                self.cnn_in_channels,
                channels if fusion_channels is None else fusion_channels,
                fusion=fusion,
                pool_scales=pool_scales,
                ppm_channels=ppm_channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
                align_corners=self.align_corners)
        elif pool_scales is not None:
            raise ValueError(f'{name}: pool_scales needs a CNN stream '
                             '(cnn_in_channels)')
        self.contrast = None
        if loss_contrast is not None:
            if not self.is_dual:
                raise ValueError(
                    f'{name}: loss_contrast needs both streams; set '
                    'loss_contrast=None for a single-encoder model')
            self.contrast = CrossEncoderContrastBranch(
                self.front_end.channels,
                contrast_levels,
                embed_dim=embed_dim,
                proj_channels=proj_channels,
                loss_contrast=loss_contrast,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)

    @property
    def streams(self) -> Tuple[str, ...]:
        """tuple[str]: The streams this head reads, in :data:`STREAMS`
        order; empty for a head on a single ordinary backbone."""
        widths = dict(
            transformer=self.transformer_in_channels, cnn=self.cnn_in_channels)
        return tuple(s for s in STREAMS if widths[s] is not None)

    @property
    def is_dual(self) -> bool:
        """bool: Whether both streams are fused."""
        return len(self.streams) == 2

    @property
    def with_contrast(self) -> bool:
        """bool: Whether the training loss has the cross-encoder term."""
        return self.contrast is not None

    def fuse(self, inputs: Union[DualFeats, Sequence[Tensor]]) -> FusedFeats:
        """Select ``in_index`` of each stream and run the front-end.

        Args:
            inputs (DualFeats | list[Tensor]): The segmentor's features;
                a plain list of levels for a head on one ordinary backbone.

        Returns:
            FusedFeats: Pre-fusion laterals and fused levels (without a
            front-end: no laterals, and the selected levels as they are).
        """
        name = self.__class__.__name__
        if self.front_end is None:
            if isinstance(inputs, DualFeats):
                raise TypeError(
                    f'{name} got the two streams of a DualEncoder but was '
                    'built with in_channels: set transformer_in_channels '
                    'and/or cnn_in_channels instead')
            return FusedFeats(
                DualFeats(None, None), self._transform_inputs(inputs))
        if not isinstance(inputs, DualFeats):
            raise TypeError(
                f'{name} reads DualFeats(transformer=..., cnn=...) from '
                f'DualEncoder.extract_feat, got {type(inputs).__name__}')
        selected = {}
        for stream in STREAMS:
            feats = inputs.stream(stream)
            if stream in self.streams:
                if feats is None:
                    raise ValueError(f'{name} reads the {stream} stream but '
                                     'the segmentor gave None')
                feats = [feats[i] for i in self.in_index]
            selected[stream] = feats if stream in self.streams else None
        return self.front_end(DualFeats(**selected))

    def decode(self, fused: List[Tensor]) -> Tensor:
        """Decode the fused levels into segmentation logits.

        Args:
            fused (list[Tensor]): ``num_levels`` maps (B, C_l, H_l, W_l).

        Returns:
            Tensor: Logits, shape (B, out_channels, h, w).
        """
        raise NotImplementedError

    def forward(self, inputs: Union[DualFeats, Sequence[Tensor]]) -> Tensor:
        """Inference path: front-end and decoder, no contrastive module."""
        return self.decode(self.fuse(inputs).fused)

    def contrast_loss(self, feats: FusedFeats,
                      seg_label: Tensor) -> Dict[str, Tensor]:
        """The cross-encoder term (empty without ``loss_contrast``).

        Args:
            feats (FusedFeats): Output of :meth:`fuse`.
            seg_label (Tensor): Labels, shape (B, 1, H, W).

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}`` or ``{}``.
        """
        if not self.with_contrast:
            return {}
        return self.contrast.loss(feats.laterals, seg_label)

    def loss(self, inputs: Union[DualFeats, Sequence[Tensor]],
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        """Decode losses plus, with ``loss_contrast``, the contrastive term.

        Args:
            inputs (DualFeats | list[Tensor]): The segmentor's features.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.
            train_cfg (dict): The training config.

        Returns:
            dict[str, Tensor]: ``loss_decode`` terms by ``loss_name``,
            ``acc_seg`` and the contrastive loss's ``loss_name``.
        """
        feats = self.fuse(inputs)
        losses = self.loss_by_feat(
            self.decode(feats.fused), batch_data_samples)
        losses.update(
            self.contrast_loss(feats,
                               self._stack_batch_gt(batch_data_samples)))
        return losses
