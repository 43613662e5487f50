"""Ablation grids: variants of one model, read from a config file.

A grid file is an mmengine config (data, no logic)::

    base = 'configs/contrafusionnet/<tiny config>.py'
    reference = 'full'              # the variant the others are paired with
    seeds = 3                       # default number of seeds per variant
    cfg_options = dict(...)         # applied to every variant
    variants = [
        dict(name='full'),
        dict(name='no_contrast',
             cfg_options={'model.decode_head.loss_contrast': None}),
        dict(name='cac', config='configs/cac/<tiny config>.py'),
        dict(name='tau0.2', seeds=3,
             cfg_options={'model.decode_head.loss_contrast.temperature':
                          0.2}),
    ]

``cfg_options`` keys are ``--cfg-options`` keys (dotted paths); a variant's
``config`` replaces the base config, its ``cfg_options`` are applied after
the grid's, and its ``seeds`` replaces the grid's. ``description`` is shown
in the report.
"""
import os.path as osp
from typing import Any, Dict, List, NamedTuple

from ...utils import ActionableError


class GridError(ActionableError):
    """A grid file is missing a key, or a variant is malformed."""


class Variant(NamedTuple):
    """One model of a grid.

    Attributes:
        name (str): Unique name, used for its folder and in the report.
        config (str): Config file, relative to the repository root or
            absolute.
        cfg_options (dict): ``--cfg-options`` overrides (the grid's common
            ones first, then the variant's own).
        seeds (int): How many seeds (0, 1, ...) to run.
        description (str): What the variant changes, for the report.
    """
    name: str
    config: str
    cfg_options: Dict[str, Any]
    seeds: int
    description: str


class AblationGrid(NamedTuple):
    """A grid read by :func:`load_grid`.

    Attributes:
        name (str): The grid file's stem.
        path (str): The grid file.
        reference (str): Name of the variant the others are compared with.
        variants (list[Variant]): In the file's order.
        title (str): Heading of the report.
        notes (str): Text of the report under the heading (what the data and
            the models are, what that limits).
    """
    name: str
    path: str
    reference: str
    variants: List[Variant]
    title: str
    notes: str

    def variant(self, name: str) -> Variant:
        """The variant called ``name``.

        Raises:
            GridError: If there is none.
        """
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise GridError(f'{self.path}: no variant {name!r}; the variants are '
                        f'{", ".join(v.name for v in self.variants)}')


def _require(cfg: Any, key: str, path: str) -> Any:
    if key not in cfg:
        raise GridError(f'{path}: the grid has no {key!r}; add it (see '
                        'mmseg_contrafusion/analysis/ablation/grid.py)')
    return cfg[key]


def load_grid(path: str) -> AblationGrid:
    """Read and check a grid file.

    Args:
        path (str): The grid file (an mmengine config).

    Returns:
        AblationGrid: The grid, every variant complete.

    Raises:
        GridError: If the file does not exist, lacks ``base`` or
            ``variants``, a variant has no ``name`` or a duplicate one, a
            variant has an unknown key, or ``reference`` names no variant.
    """
    from mmengine.config import Config

    if not osp.isfile(path):
        raise GridError(f'grid file {path} does not exist: give a file of '
                        'configs/ablations/')
    cfg = Config.fromfile(path)
    base = _require(cfg, 'base', path)
    common = dict(cfg.get('cfg_options') or {})
    default_seeds = int(cfg.get('seeds', 3))
    variants, seen = [], set()
    for index, entry in enumerate(_require(cfg, 'variants', path)):
        entry = dict(entry)
        unknown = set(entry) - {
            'name', 'config', 'cfg_options', 'seeds', 'description'
        }
        if 'name' not in entry or unknown:
            raise GridError(
                f'{path}: variant {index} ' +
                (f'has unknown keys {sorted(unknown)}'
                 if unknown else 'has no name') +
                '; a variant takes name, config, cfg_options, seeds and '
                'description')
        name = str(entry['name'])
        if name in seen:
            raise GridError(f'{path}: variant name {name!r} is used twice')
        seen.add(name)
        seeds = int(entry.get('seeds', default_seeds))
        if seeds < 1:
            raise GridError(f'{path}: variant {name!r} has seeds={seeds}; '
                            'give at least 1')
        variants.append(
            Variant(name, str(entry.get('config', base)), {
                **common,
                **dict(entry.get('cfg_options') or {})
            }, seeds, str(entry.get('description', ''))))
    if not variants:
        raise GridError(f'{path}: the grid has no variants; list at least '
                        'the reference in variants = [...]')
    reference = str(cfg.get('reference', variants[0].name))
    grid = AblationGrid(
        osp.splitext(osp.basename(path))[0], path, reference, variants,
        str(cfg.get('title', 'Ablations')), str(cfg.get('notes', '')))
    grid.variant(reference)  # raises if it names no variant
    return grid
