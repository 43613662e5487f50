from .dual_encoder import DualEncoder
from .dual_feats import STREAMS, DualFeats

__all__ = ['DualEncoder', 'DualFeats', 'STREAMS']
