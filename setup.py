"""Install mmseg_contrafusion.

Use `make test` / `make demo`, which set up the whole stack.
"""
from setuptools import find_packages, setup


def readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


setup(
    name='mmseg_contrafusion',
    version='0.1.0',
    description='Contrastive CNN-transformer fusion for semantic '
    'segmentation, as an MMSegmentation 1.x plugin',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.10',
    packages=find_packages(
        include=['mmseg_contrafusion', 'mmseg_contrafusion.*']),
    # torch and mmcv are installed by tools/setup_env.sh (mmcv built from
    # source with its ops); listing them here would let pip pick other builds.
    install_requires=[
        'mmengine==0.10.7', 'mmsegmentation==1.2.2', 'ftfy', 'regex',
        'cityscapesscripts==2.3.0'
    ],
)
