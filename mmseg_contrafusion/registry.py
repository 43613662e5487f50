"""Registries of the ``mmseg_contrafusion`` scope: children of mmseg's.

The package registers its modules in mmseg's registries
(:mod:`mmseg.registry`). These children serve configs read through
``mmseg_contrafusion::`` (``_base_ = ['mmseg_contrafusion::contrafusionnet/
CONFIG.py']``, ``mmengine.hub.get_config``): mmengine tags every dict of
such a base with ``_scope_='mmseg_contrafusion'``, imports this module and
builds the dict from the child registry of that scope. A child looks a name
up in itself, then in its mmseg parent, so everything that mmseg and this
package register builds from it.
"""
from mmengine.registry import Registry

from mmseg import registry as mmseg_registry

SCOPE = 'mmseg_contrafusion'


class _ChildRegistry(Registry):
    """A registry whose lazy imports include its parent's: a lookup that
    falls through to mmseg's registry finds mmseg's modules registered
    (mmseg imports them on a lookup of its own registry only)."""

    def import_from_location(self) -> None:
        super().import_from_location()
        self.parent.import_from_location()


def _child(parent: Registry) -> Registry:
    """A registry of this scope under ``parent`` (same name, same build
    function); a lookup imports this package, which registers all its
    modules, and the parent's locations."""
    return _ChildRegistry(
        parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])


RUNNERS = _child(mmseg_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmseg_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmseg_registry.LOOPS)
HOOKS = _child(mmseg_registry.HOOKS)
DATASETS = _child(mmseg_registry.DATASETS)
DATA_SAMPLERS = _child(mmseg_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmseg_registry.TRANSFORMS)
MODELS = _child(mmseg_registry.MODELS)
MODEL_WRAPPERS = _child(mmseg_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmseg_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(mmseg_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmseg_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmseg_registry.PARAM_SCHEDULERS)
METRICS = _child(mmseg_registry.METRICS)
EVALUATOR = _child(mmseg_registry.EVALUATOR)
TASK_UTILS = _child(mmseg_registry.TASK_UTILS)
VISUALIZERS = _child(mmseg_registry.VISUALIZERS)
VISBACKENDS = _child(mmseg_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmseg_registry.LOG_PROCESSORS)
INFERENCERS = _child(mmseg_registry.INFERENCERS)

__all__ = [
    'SCOPE', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS'
]
