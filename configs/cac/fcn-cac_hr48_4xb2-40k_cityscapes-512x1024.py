# CAC (Lv et al., "Confidence-Aware Contrastive Learning for Semantic
# Segmentation", ACM MM 2023) on the FCN head of HRNetV2-W48, Cityscapes
# 512x1024 crops, 40k iterations, 4 GPUs x 2 images: the baseline config plus
# the CAC branch (projection head, weight branch, CAMAS, CAC loss) and its
# warm-up. lambda 0.4, tau 0.1, tau_b 0.07, beta 1.5, warm-up 5000 iterations
# (the paper's fcn_hr48 ..._lr0.01_0.4_0.1_1.5 config).
_base_ = './fcn_hr48_4xb2-40k_cityscapes-512x1024.py'
model = dict(
    decode_head=dict(
        type='CACFCNHead',
        cac=dict(
            # Projection head on the resize-concatenated HRNet levels (720
            # channels at stride 4) -> 256-d unit embeddings.
            embed_dim=256,
            proj_channels=256,
            # Weight branch: 1x1 ConvModule (720 -> 720) + 1x1 classifier on
            # the detached features, its own CE x beta.
            weight_num_convs=1,
            weight_kernel_size=1,
            weight_branch_loss=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=1.5,
                loss_name='loss_ce_weight'),
            # CAMAS, per image: the paper's 1024 anchors per GPU over its 2
            # images; classes with > 100 pixels at stride 4; <= 100 per class.
            sampler=dict(
                type='ConfidenceAwarePositionSampler',
                max_samples_per_image=512,
                threshold=100,
                per_class_cap=100,
                order='marginal'),
            loss_cac=dict(
                type='CACLoss',
                loss_weight=0.4,
                temperature=0.1,
                base_temperature=0.07,
                reduction='class_balanced',
                detach_pair_weights=True,
                cross_image=False,
                loss_name='loss_cac'))))
# loss_cac has weight 0 for the first 5000 iterations (still computed, so
# every parameter gets a gradient).
custom_hooks = [
    dict(
        type='LossWeightWarmupHook', start_iter=5000, loss_names=['loss_cac'])
]
