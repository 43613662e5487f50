from .fusion_block import FUSION_TYPES, FusionBlock
from .pixel_sampler import (ClassBalancedPixelSampler, PixelSamples,
                            balanced_quotas)
from .projection_head import ProjectionHead

__all__ = [
    'ClassBalancedPixelSampler', 'PixelSamples', 'balanced_quotas',
    'ProjectionHead', 'FusionBlock', 'FUSION_TYPES'
]
