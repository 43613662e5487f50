from .contrastive_fusion_head import (ContrastiveFusionHead,
                                      PyramidPoolingBottleneck)

__all__ = ['ContrastiveFusionHead', 'PyramidPoolingBottleneck']
