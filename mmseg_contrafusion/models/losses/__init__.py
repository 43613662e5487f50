from .contrastive_kernel import class_balanced_mean, contrastive_kernel
from .cross_encoder_contrast_loss import CrossEncoderContrastLoss

__all__ = [
    'contrastive_kernel', 'class_balanced_mean', 'CrossEncoderContrastLoss'
]
