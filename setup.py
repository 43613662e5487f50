"""Install mmseg_contrafusion.

Use `make test` / `make demo`, which set up the whole stack.

As in MMSegmentation, the package carries a ``.mim`` folder with the
project's ``configs``, ``tools`` and ``model-index.yml``, which ``mim
train/test/run/search`` and mmengine's ``mmseg_contrafusion::`` config
lookups read from the installed package:

* editable installs (``pip install -e .``: ``setup.py develop``, or
  ``editable_wheel`` where pip builds a PEP 660 wheel) make
  ``mmseg_contrafusion/.mim/*`` symlinks to the top-level folders, so edits
  show at once. mim and mmengine look for ``<distribution location>/
  mmseg_contrafusion/.mim``: the egg-link of ``setup.py develop`` points
  there, a PEP 660 install's location (site-packages) does not, hence
  setuptools<80 and pip<25 in constraints.txt;
* wheels (``pip wheel .``, ``python -m build``) get copies, written into the
  build folder only, so building a wheel leaves the symlinks of a working
  tree in place. An sdist carries the top-level folders (``MANIFEST.in``);
  the wheel built from it copies them the same way.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
PACKAGE = 'mmseg_contrafusion'
# What mim and mmengine look for in <installed package>/.mim/.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
# Left out of the copies: caches and anything a run may leave in tools/.
MIM_IGNORE = shutil.ignore_patterns('__pycache__', '*.pyc', '.pytest_cache')


def readme() -> str:
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return f.read()


def link_mim_files() -> None:
    """Make ``mmseg_contrafusion/.mim/<name>`` relative symlinks to the
    top-level ``configs``, ``tools`` and ``model-index.yml`` (replacing
    whatever is there)."""
    mim_dir = osp.join(ROOT, PACKAGE, '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(ROOT, name), osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.symlink(osp.relpath(src, mim_dir), dst)


def copy_mim_files(package_dir: str) -> None:
    """Copy (following links) the top-level ``configs``, ``tools`` and
    ``model-index.yml`` into ``<package_dir>/.mim/``.

    Args:
        package_dir (str): The package folder in the build tree.
    """
    mim_dir = osp.join(package_dir, '.mim')
    if osp.lexists(mim_dir):
        if osp.islink(mim_dir):
            os.remove(mim_dir)
        else:
            shutil.rmtree(mim_dir)
    os.makedirs(mim_dir)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(mim_dir, name), ignore=MIM_IGNORE)
        elif osp.isfile(src):
            shutil.copyfile(src, osp.join(mim_dir, name))


class BuildPyWithMim(build_py):
    """``build_py`` that also puts copies of the mim files into the built
    package (not for editable builds, which link them instead)."""

    def run(self) -> None:
        super().run()
        if not getattr(self, 'editable_mode', False):
            copy_mim_files(osp.join(self.build_lib, PACKAGE))


# `pip install -e .` runs `setup.py develop` (pip without PEP 517 for this
# pyproject-less project) or `editable_wheel` (PEP 660).
if {'develop', 'editable_wheel'} & set(sys.argv[1:]):
    link_mim_files()

setup(
    name=PACKAGE,
    version='0.1.0',
    description='Contrastive CNN-transformer fusion for semantic '
    'segmentation, as an MMSegmentation 1.x plugin',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.10',
    packages=find_packages(include=[PACKAGE, PACKAGE + '.*']),
    cmdclass={'build_py': BuildPyWithMim},
    # torch and mmcv are installed by tools/setup_env.sh (mmcv built from
    # source with its ops); listing them here would let pip pick other builds.
    install_requires=[
        'mmengine==0.10.7', 'mmsegmentation==1.2.2', 'ftfy', 'regex',
        'cityscapesscripts==2.3.0'
    ],
    # `mim train/test/run/search mmseg_contrafusion ...` and the
    # TensorBoard backend (configs/_base_/visualizers/tensorboard.py).
    extras_require={
        'mim': ['openmim==0.3.7'],
        'tensorboard': ['tensorboard==2.21.0'],
    },
    zip_safe=False,
)
