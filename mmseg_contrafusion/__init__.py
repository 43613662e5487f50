"""mmseg_contrafusion: contrastive CNN-transformer fusion for MMSegmentation.

Importing the package (in a config:
``custom_imports = dict(imports=['mmseg_contrafusion'])``) applies the stack
fixes in :mod:`mmseg_contrafusion.compat` and registers every model, loss,
dataset and hook into mmseg's registries.
"""
from mmengine.config.utils import MODULE2PACKAGE

from . import compat

compat.apply()
# `mmseg_contrafusion::family/config.py` (in `_base_`, mmengine.hub.
# get_config): mmengine resolves the packages of this table, from their
# installed `.mim/` folder (setup.py).
MODULE2PACKAGE.setdefault('mmseg_contrafusion', 'mmseg_contrafusion')

from .datasets import *  # noqa: E402,F401,F403
from .engine import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403

__version__ = '0.1.0'
