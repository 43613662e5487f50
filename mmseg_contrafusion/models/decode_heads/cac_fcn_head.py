"""FCN head with the training-only CAC branch (the CAC paper's setting)."""
from typing import Tuple

import torch
from torch import Tensor

from mmseg.models.decode_heads.fcn_head import FCNHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from .cac_branch import build_cac_branch


@MODELS.register_module()
class CACFCNHead(FCNHead):
    """FCN head trained with confidence-aware contrast (CAC).

    The FCN head on HRNet of CAC (Lv et al., "Confidence-Aware Contrastive
    Learning for Semantic Segmentation", ACM MM 2023): :class:`FCNHead`
    (FCN, Long et al., CVPR 2015) whose :meth:`loss` also runs a
    :class:`CACBranch` on the head's transformed input ``x`` (for HRNet the
    resize-concatenated four branches at stride 4) and adds its
    ``loss_cac`` and ``loss_ce_weight``. :meth:`forward` (``predict`` and
    the ``tensor`` mode) is FCNHead's: at inference the head costs and
    computes exactly what FCNHead does.

    Args:
        cac (dict, optional): Settings of the :class:`CACBranch` (e.g.
            ``embed_dim``, ``sampler``, ``loss_cac``,
            ``weight_branch_loss``); None builds none (plain FCNHead).
            Defaults to ``dict()`` (all defaults: λ 0.4, τ 0.1, τ_b 0.07,
            β 1.5).
        **kwargs: :class:`FCNHead` arguments.
    """

    def __init__(self, cac: OptConfigType = dict(), **kwargs) -> None:
        super().__init__(**kwargs)
        self.cac_branch = build_cac_branch(cac, self, self.in_channels)

    @property
    def with_cac(self) -> bool:
        """bool: Whether the training loss has the CAC terms."""
        return self.cac_branch is not None

    def _features_from(self, x: Tensor) -> Tensor:
        """FCNHead's convs on the transformed input ``x``."""
        feats = self.convs(x)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> dict:
        """Forward and compute the losses (decode losses plus CAC).

        Args:
            inputs (tuple[Tensor]): Multi-level features.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.
            train_cfg (dict): The training config.

        Returns:
            dict[str, Tensor]: ``loss_decode`` terms (e.g. ``loss_ce``),
            ``acc_seg`` and, with CAC, ``loss_cac`` and ``loss_ce_weight``.
        """
        if not self.with_cac:
            return super().loss(inputs, batch_data_samples, train_cfg)
        x = self._transform_inputs(inputs)
        seg_logits = self.cls_seg(self._features_from(x))
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        losses.update(
            self.cac_branch.loss(
                x,
                seg_logits,
                self._stack_batch_gt(batch_data_samples),
                pixel_sampler=self.sampler))
        return losses
