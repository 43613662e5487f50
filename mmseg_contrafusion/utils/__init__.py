from . import cli_args
from .checkpoint_utils import (TRUST_CHECKPOINT_ENV, CorruptCheckpointError,
                               UntrustedCheckpointError,
                               checkpoint_safe_globals, load_checkpoint_file,
                               weight_mismatches)
from .config_utils import strip_pretrained
from .errors import ActionableError

__all__ = [
    'ActionableError', 'CorruptCheckpointError', 'TRUST_CHECKPOINT_ENV',
    'UntrustedCheckpointError', 'checkpoint_safe_globals', 'cli_args',
    'load_checkpoint_file', 'strip_pretrained', 'weight_mismatches'
]
