"""Training-only contrast of the two streams' pre-fusion features."""
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from ..segmentors.dual_feats import DualFeats
from ..utils.projection_head import ProjectionHead


@MODELS.register_module()
class CrossEncoderContrastBranch(BaseModule):
    """Projection heads on both streams and a contrastive loss between them.

    The contrastive alignment of ContraFusionNet (Pandya et al., ICIP 2025):
    at each of ``contrast_levels`` the transformer's and the CNN's
    pre-fusion laterals (:class:`FusedFeats.laterals
    <mmseg_contrafusion.models.utils.FusedFeats>`) each go through a
    :class:`ProjectionHead` (1x1 conv, norm, act, 1x1 conv, L2-normalised)
    and ``loss_contrast`` (e.g. :class:`CrossEncoderContrastLoss`) aligns
    the two embeddings. Every :class:`TwoStreamDecodeHead` attaches it the
    same way; it runs in ``loss`` only, never at inference.

    Args:
        in_channels (Sequence[int]): Width of the laterals of every level.
        contrast_levels (Sequence[int]): Levels (positions in the laterals)
            whose features are contrasted.
        embed_dim (int): Width of the embeddings. Defaults to 128.
        proj_channels (int, optional): Hidden width of the projection heads;
            None means the level's width. Defaults to None.
        loss_contrast (dict): Config of the loss. Defaults to
            ``dict(type='CrossEncoderContrastLoss')``.
        conv_cfg (dict, optional): Config of conv layers. Defaults to None.
        norm_cfg (dict, optional): Config of norm layers. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Config of activations. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 contrast_levels: Sequence[int],
                 embed_dim: int = 128,
                 proj_channels: Optional[int] = None,
                 loss_contrast: ConfigType = dict(
                     type='CrossEncoderContrastLoss'),
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        num_levels = len(in_channels)
        self.contrast_levels = tuple(contrast_levels)
        if not self.contrast_levels or any(not 0 <= level < num_levels
                                           for level in self.contrast_levels):
            raise ValueError(
                f'contrast_levels {self.contrast_levels} must be a '
                f'non-empty subset of range({num_levels})')
        self.loss_contrast = MODELS.build(loss_contrast)

        def projections() -> ModuleList:
            return ModuleList(
                ProjectionHead(
                    in_channels[level],
                    embed_dim=embed_dim,
                    hidden_channels=proj_channels or in_channels[level],
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg) for level in self.contrast_levels)

        self.transformer_projs = projections()
        self.cnn_projs = projections()

    @property
    def loss_name(self) -> str:
        """str: The loss's key in the log (e.g. ``'loss_contrast'``)."""
        return self.loss_contrast.loss_name

    def embed(self, laterals: DualFeats) -> Tuple[List[Tensor], List[Tensor]]:
        """L2-normalised embeddings of both streams at ``contrast_levels``.

        Args:
            laterals (DualFeats): Both streams' laterals, each a list of
                maps (B, C_l, H_l, W_l).

        Returns:
            tuple[list[Tensor], list[Tensor]]: Per contrast level, maps of
            shape (B, embed_dim, H_l, W_l) for each stream.
        """
        t_embeds = [
            proj(laterals.transformer[level]) for proj, level in zip(
                self.transformer_projs, self.contrast_levels)
        ]
        c_embeds = [
            proj(laterals.cnn[level])
            for proj, level in zip(self.cnn_projs, self.contrast_levels)
        ]
        return t_embeds, c_embeds

    def loss(self, laterals: DualFeats,
             seg_label: Tensor) -> Dict[str, Tensor]:
        """The contrastive term.

        Args:
            laterals (DualFeats): Both streams' laterals.
            seg_label (Tensor): Labels, shape (B, 1, H, W).

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}``.
        """
        t_embeds, c_embeds = self.embed(laterals)
        return {
            self.loss_name: self.loss_contrast(t_embeds, c_embeds, seg_label)
        }
