from .cac_branch import CACBranch, build_cac_branch
from .cac_fcn_head import CACFCNHead
from .contrastive_fusion_head import ContrastiveFusionHead
from .cross_encoder_contrast_branch import CrossEncoderContrastBranch
from .ecfd import ECFDHead
from .multi_scale_contrast_head import MultiScaleContrastHead
from .two_stream_decode_head import TwoStreamDecodeHead

__all__ = [
    'TwoStreamDecodeHead', 'ContrastiveFusionHead', 'ECFDHead', 'CACFCNHead',
    'MultiScaleContrastHead', 'CrossEncoderContrastBranch', 'CACBranch',
    'build_cac_branch'
]
