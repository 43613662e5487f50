from .base_position_sampler import (BasePositionSampler, SampledPositions,
                                    labelled_positions, take_lowest_per_group)
from .class_balanced_position_sampler import (ClassBalancedPositionSampler,
                                              balanced_quotas)
from .confidence_aware_position_sampler import (ConfidenceAwarePositionSampler,
                                                hard_easy_quotas)
from .contrastive_utils import (attached_zero, downsample_labels, label_batch,
                                mean_over_images, split_by_image)
from .fusion_block import FUSION_TYPES, FusionBlock
from .projection_head import ProjectionHead
from .pyramid_pooling_bottleneck import PyramidPoolingBottleneck
from .resize_utils import resize_to
from .sample_seeder import SampleSeeder, label_fingerprint, per_image_seeds
from .two_stream_fusion import FusedFeats, TwoStreamFusion

__all__ = [
    'BasePositionSampler', 'SampledPositions', 'labelled_positions',
    'take_lowest_per_group', 'ClassBalancedPositionSampler', 'balanced_quotas',
    'ConfidenceAwarePositionSampler', 'hard_easy_quotas', 'attached_zero',
    'label_batch', 'downsample_labels', 'mean_over_images', 'split_by_image',
    'FUSION_TYPES', 'FusionBlock', 'ProjectionHead',
    'PyramidPoolingBottleneck', 'resize_to', 'SampleSeeder',
    'label_fingerprint', 'per_image_seeds', 'FusedFeats', 'TwoStreamFusion'
]
