from .checkpoint_utils import weight_mismatches
from .config_utils import strip_pretrained
from .errors import ActionableError

__all__ = ['ActionableError', 'strip_pretrained', 'weight_mismatches']
