from .cac_branch import CACBranch, build_cac_branch
from .confidence_aware_sampler import (ConfidenceAwareAnchorSampler,
                                       hard_easy_quotas)
from .contrastive_utils import (downsample_labels, mean_over_images,
                                split_by_image)
from .ecfd_context_embedding import ReinforcedContextEmbedding
from .ecfd_cross_fusion_block import (CrossFusionBlock,
                                      DeformableCrossAttention)
from .ecfd_gating_decoder import CrossLevelGatingDecoder
from .fusion_block import FUSION_TYPES, FusionBlock
from .pixel_sampler import (ClassBalancedPixelSampler, PixelSamples,
                            balanced_quotas)
from .projection_head import ProjectionHead

__all__ = [
    'CACBranch', 'build_cac_branch', 'ConfidenceAwareAnchorSampler',
    'hard_easy_quotas', 'downsample_labels', 'mean_over_images',
    'split_by_image',
    'ClassBalancedPixelSampler', 'PixelSamples', 'balanced_quotas',
    'ProjectionHead', 'FusionBlock', 'FUSION_TYPES',
    'ReinforcedContextEmbedding', 'CrossFusionBlock',
    'DeformableCrossAttention', 'CrossLevelGatingDecoder'
]
