from .dual_encoder import DualEncoder

__all__ = ['DualEncoder']
