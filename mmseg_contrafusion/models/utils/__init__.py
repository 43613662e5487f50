from .confidence_aware_sampler import (ConfidenceAwareAnchorSampler,
                                       hard_easy_quotas)
from .contrastive_utils import (downsample_labels, mean_over_images,
                                split_by_image)
from .fusion_block import FUSION_TYPES, FusionBlock
from .pixel_sampler import (ClassBalancedPixelSampler, PixelSamples,
                            balanced_quotas)
from .projection_head import ProjectionHead
from .pyramid_pooling_bottleneck import PyramidPoolingBottleneck
from .two_stream_fusion import FusedFeats, TwoStreamFusion

__all__ = [
    'ConfidenceAwareAnchorSampler', 'hard_easy_quotas', 'downsample_labels',
    'mean_over_images', 'split_by_image', 'ClassBalancedPixelSampler',
    'PixelSamples', 'balanced_quotas', 'ProjectionHead', 'FusionBlock',
    'FUSION_TYPES', 'PyramidPoolingBottleneck', 'FusedFeats',
    'TwoStreamFusion'
]
