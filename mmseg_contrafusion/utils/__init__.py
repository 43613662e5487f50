from .config_utils import strip_pretrained

__all__ = ['strip_pretrained']
