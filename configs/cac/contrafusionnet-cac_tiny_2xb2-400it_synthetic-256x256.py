# The tiny ContraFusionNet on the generated data, plus CAC with narrow widths
# and a short warm-up: the CPU demo of CAC and the end-to-end tests. Train
# with `bash tools/dist_train.sh <this config> 2` (2 CPU processes x 2 images,
# 256x256 crops, 400 iterations; loss_cac is 0 for the first 20).
_base_ = ('../contrafusionnet/'
          'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
model = dict(
    decode_head=dict(
        cac=dict(
            embed_dim=32,
            proj_channels=32,
            weight_branch_loss=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                avg_non_ignore=True,
                loss_weight=1.5,
                loss_name='loss_ce_weight'),
            # 64x64 embeddings of a 256x256 crop: smaller groups count.
            sampler=dict(
                type='ConfidenceAwarePositionSampler',
                max_samples_per_image=256,
                threshold=50,
                per_class_cap=50),
            loss_cac=dict(
                type='CACLoss',
                loss_weight=0.4,
                temperature=0.1,
                base_temperature=0.07,
                loss_name='loss_cac'))))
custom_hooks = [
    dict(type='LossWeightWarmupHook', start_iter=20, loss_names=['loss_cac'])
]
