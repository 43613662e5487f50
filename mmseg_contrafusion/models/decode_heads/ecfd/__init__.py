"""ECFD (efficient cross-information fusion decoder) and its parts."""
from .context_embedding import ReinforcedContextEmbedding
from .cross_fusion_block import CrossFusionBlock, DeformableCrossAttention
from .ecfd_head import ECFDHead
from .gating_decoder import CrossLevelGatingDecoder

__all__ = [
    'ECFDHead', 'ReinforcedContextEmbedding', 'CrossFusionBlock',
    'DeformableCrossAttention', 'CrossLevelGatingDecoder'
]
