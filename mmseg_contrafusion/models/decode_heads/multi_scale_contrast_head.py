"""Training-only auxiliary head carrying the MS/CS contrastive loss."""
from typing import List, Optional, Sequence, Tuple

from mmengine.model import ModuleList
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from ..utils.projection_head import ProjectionHead


@MODELS.register_module()
class MultiScaleContrastHead(BaseDecodeHead):
    """Per-scale projection heads and the multi-/cross-scale contrast.

    MS/CS (Pissas et al., "Multi-scale and Cross-scale Contrastive Learning
    for Semantic Segmentation", ECCV 2022) supervises the encoder's own
    multi-level features, before any context module or decoder. This head
    is used as an ``auxiliary_head`` of a segmentor, which mmseg calls only
    in training, with the backbone's (or neck's) multi-level features: on
    ``EncoderDecoder`` models with HRNet, ResNet or MiT encoders it needs no
    code change, and on :class:`DualEncoder` ``auxiliary_stream`` picks the
    stream (one head per stream for both).

    Each selected level *s* (``in_index``) goes through its own
    :class:`ProjectionHead` (1x1 conv ``C_s -> proj_channels``, norm, ReLU,
    1x1 conv to ``embed_dim``, L2 normalisation) and ``loss_contrast``
    (:class:`MultiScaleCrossScaleContrastLoss`) contrasts the embeddings
    within and across scales. :meth:`loss` returns only the contrastive
    terms (``loss_ms`` and ``loss_cs`` by default).

    The head has no classifier (``conv_seg`` is removed, so every parameter
    gets a gradient and DDP needs no ``find_unused_parameters``) and no
    prediction: :meth:`predict` raises. The original projector is
    ``conv -> ReLU -> BN(momentum 3e-4) -> conv``; :class:`ProjectionHead`
    (shared by the package) is ``conv -> norm -> act -> conv``; pass e.g.
    ``norm_cfg=dict(type='SyncBN', momentum=3e-4)`` for the original's slow
    running statistics.

    Args:
        in_channels (Sequence[int]): Channels of the selected levels, high
            to low resolution, e.g. ``[48, 96, 192, 384]`` (HRNetV2-W48).
        num_classes (int): Number of classes (kept for mmseg's interface;
            the head does not classify).
        embed_dim (int): Width of the shared embedding space. Defaults to
            256.
        proj_channels (int, optional): Hidden width of every projection
            head; None means each level's own width (the original).
            Defaults to None.
        in_index (Sequence[int]): Levels of the encoder output to contrast.
            Defaults to ``(0, 1, 2, 3)``.
        with_cp (bool): Gradient checkpointing of the projection heads
            (:class:`ProjectionHead`): their full-resolution activations are
            computed again in the backward pass instead of kept, for less
            peak training memory; the loss and gradients are unchanged.
            Defaults to True.
        loss_contrast (dict): Config of the loss. Defaults to
            ``dict(type='MultiScaleCrossScaleContrastLoss')``.
        **kwargs: Other :class:`BaseDecodeHead` arguments (``norm_cfg``,
            ``act_cfg``, ``conv_cfg``, ``init_cfg``, ...). ``channels`` is
            ``embed_dim`` and ``input_transform`` is ``'multiple_select'``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int,
                 embed_dim: int = 256,
                 proj_channels: Optional[int] = None,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 with_cp: bool = True,
                 loss_contrast: ConfigType = dict(
                     type='MultiScaleCrossScaleContrastLoss'),
                 init_cfg: OptConfigType = None,
                 **kwargs) -> None:
        for key in ('channels', 'input_transform'):
            if key in kwargs:
                raise TypeError(f'{self.__class__.__name__} sets {key} '
                                'itself; use embed_dim for the width')
        if len(in_channels) != len(in_index):
            raise ValueError(f'in_channels has {len(in_channels)} levels but '
                             f'in_index selects {len(in_index)}')
        kwargs.setdefault('dropout_ratio', 0.)
        super().__init__(
            in_channels=list(in_channels),
            channels=embed_dim,
            num_classes=num_classes,
            in_index=list(in_index),
            input_transform='multiple_select',
            init_cfg=init_cfg,
            **kwargs)
        # Training-only head without classifier: no parameter left unused.
        del self.conv_seg
        self.embed_dim = embed_dim
        self.loss_contrast = MODELS.build(loss_contrast)
        num_scales = getattr(self.loss_contrast, 'num_scales', None)
        if num_scales is not None and num_scales != len(self.in_channels):
            raise ValueError(
                f'loss_contrast expects {num_scales} scales but the head '
                f'selects {len(self.in_channels)} levels')
        self.projections = ModuleList(
            ProjectionHead(
                c,
                embed_dim=embed_dim,
                hidden_channels=proj_channels or c,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
                normalize=True,
                with_cp=with_cp) for c in self.in_channels)

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Embed every selected level.

        Args:
            inputs (Sequence[Tensor]): Multi-level features of the encoder,
                each (B, C_l, H_l, W_l).

        Returns:
            list[Tensor]: Per selected level, L2-normalised embeddings of
            shape (B, embed_dim, H_l, W_l), high to low resolution.
        """
        feats = self._transform_inputs(inputs)
        return [proj(x) for proj, x in zip(self.projections, feats)]

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> dict:
        """Embed the levels and compute the contrastive terms.

        Args:
            inputs (Sequence[Tensor]): Multi-level features of the encoder.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.
            train_cfg (dict): The training config (unused).

        Returns:
            dict[str, Tensor]: The loss terms, e.g. ``loss_ms`` and
            ``loss_cs``.
        """
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    def loss_by_feat(self, embeds: List[Tensor],
                     batch_data_samples: SampleList) -> dict:
        """Contrastive terms of given embeddings.

        Args:
            embeds (list[Tensor]): Output of :meth:`forward`.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: The loss terms.
        """
        seg_label = self._stack_batch_gt(batch_data_samples)
        return dict(self.loss_contrast(embeds, seg_label))

    def _no_prediction(self):
        raise RuntimeError(
            f'{self.__class__.__name__} is a training-only auxiliary head '
            '(MS/CS contrast): it has no classifier and makes no '
            'prediction; use it in auxiliary_head, not as decode_head')

    def cls_seg(self, feat: Tensor) -> Tensor:
        """Not available: the head has no classifier."""
        self._no_prediction()

    def predict(self, inputs: Tuple[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Not available: the head is training-only."""
        self._no_prediction()

    def predict_by_feat(self, seg_logits: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Not available: the head is training-only."""
        self._no_prediction()
