from .cac_fcn_head import CACFCNHead
from .contrastive_fusion_head import (ContrastiveFusionHead,
                                      PyramidPoolingBottleneck)
from .ecfd_head import ECFDHead
from .multi_scale_contrast_head import MultiScaleContrastHead

__all__ = [
    'ContrastiveFusionHead', 'PyramidPoolingBottleneck', 'CACFCNHead',
    'ECFDHead', 'MultiScaleContrastHead'
]
