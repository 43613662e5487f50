# Runtime shared by every config of the project (mmseg's default_runtime plus
# the plugin import, so mmseg's own tools can run these configs too).
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # Without a GPU, mmseg_contrafusion.compat switches this to gloo.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False

tta_model = dict(type='SegTTAModel')
