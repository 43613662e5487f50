"""Roles, configs, settings and targets of the performance report."""
import os
import os.path as osp
import tempfile
from typing import Dict, Optional

from ..configs import REPO_ROOT, load_config, repo_path

#: What each measured config stands for.
ROLES = ('model', 'nocontrast', 'cac', 'mscs', 'pspnet', 'segformer')
ROLE_NAMES = dict(
    model='ContraFusionNet (cross-encoder contrast)',
    nocontrast='ContraFusionNet, CE + Dice only (-nocontrast)',
    cac='ContraFusionNet + CAC',
    mscs='ContraFusionNet + MS/CS',
    pspnet='PSPNet R50-D8',
    segformer='SegFormer, same MiT')
FULL_CONFIGS = dict(
    model='configs/contrafusionnet/'
    'contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    nocontrast='configs/contrafusionnet/contrafusionnet-nocontrast_'
    'mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    cac='configs/cac/'
    'contrafusionnet-cac_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    mscs='configs/mscs/'
    'contrafusionnet-mscs_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
    pspnet='configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x512.py',
    segformer='configs/segformer/'
    'segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py')
TINY_CFN = ('configs/contrafusionnet/'
            'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
#: ``quick``: the tiny configs, plus tiny baselines written to a folder.
QUICK_CONFIGS = dict(
    model=TINY_CFN,
    cac='configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py',
    mscs='configs/mscs/'
    'contrafusionnet-mscs_tiny_2xb2-400it_synthetic-256x256.py')
QUICK_GENERATED = {
    'nocontrast': ('contrafusionnet-nocontrast_tiny_2xb2-400it_'
                   'synthetic-256x256.py', """\
_base_ = '{root}/{tiny}'
model = dict(decode_head=dict(loss_contrast=None))
"""),
    'pspnet': ('pspnet_tiny-r18-d8_synthetic-64x64.py', """\
_base_ = '{root}/configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(depth=18, stem_channels=16, base_channels=16,
                  init_cfg=None),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
"""),
    'segformer': ('segformer_tiny-mit_synthetic-64x64.py', """\
_base_ = ('{root}/configs/segformer/'
          'segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py')
model = dict(
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], mlp_ratio=2,
                  drop_path_rate=0.0),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=32))
"""),
}
FULL_SETTINGS = dict(
    inference_shape=(512, 512),
    train_shapes=((512, 512), (512, 1024)),
    runs=3,
    warmup=1,
    loader_batches=30,
    loader_warmup=2,
    hook_probe=(64, 64),
    profile_top=12)
QUICK_SETTINGS = dict(
    inference_shape=(64, 64),
    train_shapes=((64, 64), (64, 128)),
    runs=2,
    warmup=1,
    loader_batches=4,
    loader_warmup=1,
    hook_probe=(64, 64),
    profile_top=5)
#: The targets (ratios; the loader's is a minimum). Inference: the fusion
#: decoder costs at most 5% over the two encoders; under ONNX Runtime
#: ContraFusionNet runs in at most half its eager time and in at most 0.8 of
#: eager SegFormer with the same MiT. Training: each contrastive term adds
#: at most 10% (CAC 15%) step time and 10% peak memory (MS/CS 5%) over CE +
#: Dice alone.
TARGETS = dict(
    model_over_encoders=1.05,
    model_over_pspnet=0.80,
    onnx_over_eager=0.5,
    onnx_over_segformer_eager=0.8,
    contrast_time=1.10,
    cac_time=1.15,
    peak_mem=1.10,
    mscs_peak_mem=1.05,
    loader_over_step=2.0)


def role_configs(quick: bool,
                 overrides: Optional[Dict[str, str]] = None,
                 folder: Optional[str] = None) -> Dict[str, str]:
    """Config path of every role.

    Args:
        quick (bool): The tiny configs; the tiny baselines that have no
            config of their own are written into ``folder``.
        overrides (dict, optional): Role -> config (``--config ROLE=PATH``).
        folder (str, optional): Where ``quick`` writes; default a new
            temporary folder.

    Returns:
        dict: Role -> config path, in :data:`ROLES` order.

    Raises:
        SystemExit: For an unknown role or a missing config.
    """
    if quick:
        configs = {k: repo_path(v) for k, v in QUICK_CONFIGS.items()}
        folder = folder or tempfile.mkdtemp(prefix='perf_quick_configs_')
        os.makedirs(folder, exist_ok=True)
        for role, (name, text) in QUICK_GENERATED.items():
            path = osp.join(folder, name)
            with open(path, 'w') as f:
                f.write(text.format(root=REPO_ROOT, tiny=TINY_CFN))
            configs[role] = path
    else:
        configs = {k: repo_path(v) for k, v in FULL_CONFIGS.items()}
    for role, path in (overrides or {}).items():
        if role not in ROLES:
            raise SystemExit(f'--config {role}=...: unknown role; choose '
                             f'from {", ".join(ROLES)}')
        configs[role] = path
    for role, path in configs.items():
        if not osp.isfile(path):
            raise SystemExit(f'config of {role} not found: {path}')
    return {role: configs[role] for role in ROLES}


def train_batch_size(config: str) -> int:
    """Images per GPU of a config's training loader."""
    return int(load_config(config).train_dataloader.get('batch_size', 1))
