# ContraFusionNet PSP variant (CE + Dice + cross-encoder contrast) plus CAC
# (Lv et al., "Confidence-Aware Contrastive Learning for Semantic
# Segmentation", ACM MM 2023) on the fused features: 8 GPUs x 1 image,
# Cityscapes 512x512 crops, 160k iterations. CAC settings of the paper's
# Cityscapes configs: lambda 0.4, tau 0.1, tau_b 0.07, beta 1.5, warm-up 5000.
_base_ = ('../contrafusionnet/'
          'contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py')
model = dict(
    decode_head=dict(
        cac=dict(
            # On the 4 fused levels at stride 4, concatenated (4 x 128 ch).
            embed_dim=256,
            proj_channels=256,
            weight_num_convs=1,
            weight_kernel_size=1,
            weight_branch_loss=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                avg_non_ignore=True,
                loss_weight=1.5,
                loss_name='loss_ce_weight'),
            # Per image, so the anchors do not depend on the GPU count.
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
custom_hooks = [
    dict(
        type='LossWeightWarmupHook', start_iter=5000, loss_names=['loss_cac'])
]
