from .cac_loss import CACLoss, cac_pair_weights
from .contrastive_kernel import (class_balanced_mean, class_bin_mean,
                                 contrastive_kernel)
from .cross_encoder_contrast_loss import CrossEncoderContrastLoss
from .ms_cs_contrast_loss import MultiScaleCrossScaleContrastLoss

__all__ = [
    'CACLoss', 'cac_pair_weights', 'contrastive_kernel', 'class_balanced_mean',
    'class_bin_mean', 'CrossEncoderContrastLoss',
    'MultiScaleCrossScaleContrastLoss'
]
