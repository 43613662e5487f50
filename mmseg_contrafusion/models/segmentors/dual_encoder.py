"""A segmentor with a transformer encoder and a CNN encoder side by side."""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig, SampleList,
                         add_prefix)
from .dual_feats import STREAMS, DualFeats


@MODELS.register_module()
class DualEncoder(EncoderDecoder):
    """Two encoders on the same image, one decode head over both.

    The segmentor of ContraFusionNet (Pandya et al., ICIP 2025): a transformer
    encoder (``backbone``, e.g. MiT of SegFormer, Xie et al. 2021) and a CNN
    encoder (``cnn_backbone``, e.g. ResNetV1c for the PSPNet variant or
    HRNetV2, Wang et al. TPAMI 2020) run on the same normalised image, each
    with an optional neck. :meth:`extract_feat` returns both multi-level
    feature lists as one :class:`DualFeats` (``transformer``, ``cnn``), and
    the decode head, a :class:`TwoStreamDecodeHead` (e.g.
    :class:`ContrastiveFusionHead`, :class:`ECFDHead`), reads the streams by
    name. The head is checked at build time: its ``streams`` must name
    exactly the encoders that are built.

    ``backbone`` and ``neck`` are the transformer stream's: mmseg's names,
    kept so that ``EncoderDecoder``'s ``pretrained``, ``init_model``,
    checkpoint keys and FLOP counting work unchanged; the CNN stream's are
    ``cnn_backbone`` and ``cnn_neck``.

    Everything else is :class:`mmseg.models.EncoderDecoder`: ``loss``,
    ``predict`` (whole and slide inference), ``_forward`` (``tensor`` mode),
    ``SegTTAModel``, ``mmseg.apis.init_model`` / ``inference_model`` and
    FLOP counting work unchanged.

    Single-encoder ablations are configs: set ``cnn_backbone=None``
    (transformer only) or ``backbone=None`` (CNN only); the absent stream is
    None in the :class:`DualFeats`, and the decode head must be configured
    for the present stream only.

    Auxiliary heads are ordinary mmseg heads (e.g. ``FCNHead``, or the
    training-only ``MultiScaleContrastHead``) on one stream each, chosen by
    ``auxiliary_stream``; each receives its stream's feature list. One
    stream name applies to every auxiliary head; a list gives one stream per
    head of an ``auxiliary_head`` list, e.g. ``auxiliary_head=[mscs, mscs]``
    with ``auxiliary_stream=['transformer', 'cnn']`` for MS/CS on both
    encoders.

    .. code:: text

     extract_feat(): (backbone -> neck, cnn_backbone -> cnn_neck)
     loss(): extract_feat() -> decode_head.loss() (+ auxiliary heads)
     predict(): inference() -> extract_feat() -> decode_head.predict()

    Args:
        backbone (dict, optional): Config of the transformer encoder. None
            for a CNN-only model.
        decode_head (dict): Config of the decode head.
        cnn_backbone (dict, optional): Config of the CNN encoder. None for a
            transformer-only model. Defaults to None.
        neck (dict, optional): Neck of the transformer stream. Defaults to
            None.
        cnn_neck (dict, optional): Neck of the CNN stream. Defaults to None.
        auxiliary_head (dict or list[dict], optional): Auxiliary head(s),
            training only. Defaults to None.
        auxiliary_stream (str | Sequence[str]): ``'cnn'`` or
            ``'transformer'``: the stream whose features the auxiliary heads
            receive; or a list of them, one per auxiliary head (same length
            and order as the ``auxiliary_head`` list). Defaults to ``'cnn'``.
        train_cfg (dict, optional): Training config. Defaults to None.
        test_cfg (dict, optional): Testing config (``mode='whole'`` or
            ``'slide'``). Defaults to None.
        data_preprocessor (dict, optional): Config of the data preprocessor.
            Defaults to None.
        pretrained (str, optional): Checkpoint of the transformer backbone
            (as in ``EncoderDecoder``). Defaults to None.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: OptConfigType,
                 decode_head: ConfigType,
                 cnn_backbone: OptConfigType = None,
                 neck: OptConfigType = None,
                 cnn_neck: OptConfigType = None,
                 auxiliary_head: OptMultiConfig = None,
                 auxiliary_stream: Union[str, Sequence[str]] = 'cnn',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        # EncoderDecoder.__init__ insists on one backbone; build here instead.
        BaseSegmentor.__init__(
            self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if backbone is None and cnn_backbone is None:
            raise ValueError('DualEncoder needs backbone and/or cnn_backbone')
        if neck is not None and backbone is None:
            raise ValueError('neck is set but there is no transformer '
                             'backbone')
        if cnn_neck is not None and cnn_backbone is None:
            raise ValueError('cnn_neck is set but there is no cnn_backbone')
        aux_streams = self._auxiliary_streams(auxiliary_head, auxiliary_stream)
        if pretrained is not None:
            if backbone is None:
                raise ValueError('pretrained applies to the transformer '
                                 'backbone, which is None')
            assert backbone.get('pretrained') is None, \
                'both backbone and segmentor set pretrained weight'
            backbone.pretrained = pretrained

        self.backbone = None
        self.cnn_backbone = None
        if backbone is not None:
            self.backbone = MODELS.build(backbone)
        if cnn_backbone is not None:
            self.cnn_backbone = MODELS.build(cnn_backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        if cnn_neck is not None:
            self.cnn_neck = MODELS.build(cnn_neck)
        self._init_decode_head(decode_head)
        self._check_head_streams()
        self.auxiliary_stream = auxiliary_stream if isinstance(
            auxiliary_stream, str) else list(auxiliary_stream)
        self._aux_streams = aux_streams
        for stream in aux_streams:
            if not self._has_stream(stream):
                raise ValueError(f'auxiliary_stream={auxiliary_stream!r} '
                                 f'but the {stream} encoder is None')
        self._init_auxiliary_head(auxiliary_head)

        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        assert self.with_decode_head

    @property
    def with_transformer(self) -> bool:
        """bool: Whether the transformer encoder is built."""
        return self.backbone is not None

    @property
    def with_cnn(self) -> bool:
        """bool: Whether the CNN encoder is built."""
        return self.cnn_backbone is not None

    @property
    def with_cnn_neck(self) -> bool:
        """bool: Whether the CNN stream has a neck."""
        return getattr(self, 'cnn_neck', None) is not None

    @property
    def encoder_mode(self) -> str:
        """str: ``'dual'``, ``'transformer'`` or ``'cnn'``."""
        if self.with_transformer and self.with_cnn:
            return 'dual'
        return 'transformer' if self.with_transformer else 'cnn'

    @staticmethod
    def _auxiliary_streams(
            auxiliary_head: OptMultiConfig,
            auxiliary_stream: Union[str, Sequence[str]]) -> List[str]:
        """The stream of each auxiliary head, validated.

        Returns:
            list[str]: One stream name per auxiliary head (empty without
            auxiliary heads).
        """
        if isinstance(auxiliary_stream, str):
            streams = [auxiliary_stream]
        else:
            streams = list(auxiliary_stream)
        bad = [s for s in streams if s not in STREAMS]
        if bad or not streams:
            raise ValueError("auxiliary_stream must be 'transformer', 'cnn' "
                             f'or a list of them, got {auxiliary_stream!r}')
        if auxiliary_head is None:
            return []
        num_heads = len(auxiliary_head) if isinstance(auxiliary_head,
                                                      list) else 1
        if isinstance(auxiliary_stream, str):
            return streams * num_heads
        if len(streams) != num_heads:
            raise ValueError(
                f'auxiliary_stream lists {len(streams)} streams for '
                f'{num_heads} auxiliary head(s): give one per head, or one '
                'name for all')
        return streams

    def _has_stream(self, stream: str) -> bool:
        return self.with_cnn if stream == 'cnn' else self.with_transformer

    def _check_head_streams(self) -> None:
        """Fail at build time when the head does not read exactly the
        streams that are built."""
        from ..decode_heads.two_stream_decode_head import TwoStreamDecodeHead
        head = self.decode_head
        name = type(head).__name__
        if not isinstance(head, TwoStreamDecodeHead):
            raise TypeError(
                f'DualEncoder.decode_head must read DualFeats: {name} is not '
                'a TwoStreamDecodeHead (e.g. ContrastiveFusionHead, '
                'ECFDHead). Use one, or EncoderDecoder for a plain head.')
        for stream in STREAMS:
            expects = stream in head.streams
            if expects != self._has_stream(stream):
                raise ValueError(
                    f'decode_head {name} {"reads" if expects else "ignores"} '
                    f'the {stream} stream but the {stream} encoder is '
                    f'{"missing" if expects else "built"}: set the head\'s '
                    f'{stream}_in_channels to match')

    def extract_feat(self, inputs: Tensor) -> DualFeats:
        """Run both encoders (and their necks) on the same images.

        Args:
            inputs (Tensor): Normalised images, shape (B, 3, H, W).

        Returns:
            DualFeats: ``transformer`` and ``cnn``, each a list of
            multi-level maps (B, C_l, H_l, W_l), or None for an encoder that
            is not built.
        """
        t_feats = c_feats = None
        if self.with_transformer:
            t_feats = self.backbone(inputs)
            if self.with_neck:
                t_feats = self.neck(t_feats)
            t_feats = list(t_feats)
        if self.with_cnn:
            c_feats = self.cnn_backbone(inputs)
            if self.with_cnn_neck:
                c_feats = self.cnn_neck(c_feats)
            c_feats = list(c_feats)
        return DualFeats(transformer=t_feats, cnn=c_feats)

    def _auxiliary_head_forward_train(self, inputs: DualFeats,
                                      data_samples: SampleList) -> dict:
        """Auxiliary losses, each head on the feature list of its stream."""
        losses = dict()
        if isinstance(self.auxiliary_head, nn.ModuleList):
            for idx, (aux_head, stream) in enumerate(
                    zip(self.auxiliary_head, self._aux_streams)):
                loss_aux = aux_head.loss(
                    inputs.stream(stream), data_samples, self.train_cfg)
                losses.update(add_prefix(loss_aux, f'aux_{idx}'))
        else:
            loss_aux = self.auxiliary_head.loss(
                inputs.stream(self._aux_streams[0]), data_samples,
                self.train_cfg)
            losses.update(add_prefix(loss_aux, 'aux'))
        return losses
