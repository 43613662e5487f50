"""The two encoder streams of a :class:`DualEncoder`, as one named type."""
from typing import List, NamedTuple, Optional

from torch import Tensor

STREAMS = ('transformer', 'cnn')


class DualFeats(NamedTuple):
    """Multi-level features of the two encoders, by stream name.

    What :meth:`DualEncoder.extract_feat` returns and what every head built
    on :class:`~mmseg_contrafusion.models.decode_heads.TwoStreamDecodeHead`
    reads. A stream that the segmentor does not build is None (the
    single-encoder ablations). Being a tuple, it passes through mmseg's
    ``EncoderDecoder`` machinery (``_forward``, TTA, FLOP counting)
    unchanged.

    Args:
        transformer (list[Tensor], optional): Transformer levels, each
            (B, C_l, H_l, W_l), finest first.
        cnn (list[Tensor], optional): CNN levels, each (B, C_l, H_l, W_l),
            finest first.
    """

    transformer: Optional[List[Tensor]]
    cnn: Optional[List[Tensor]]

    def stream(self, name: str) -> Optional[List[Tensor]]:
        """The levels of stream ``name`` (``'transformer'`` or ``'cnn'``)."""
        if name not in STREAMS:
            raise KeyError(f'stream must be one of {STREAMS}, got {name!r}')
        return getattr(self, name)
