# The released CAC code's 40k Cityscapes recipe (Lv et al., "Confidence-Aware
# Contrastive Learning for Semantic Segmentation", ACM MM 2023; its
# fcn_hr48_4x2_512x1024_40k_cityscapes_lr0.01_0.4_0.1_1.5 config): the clean
# CAC config of the pair (fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py) with
# every setting the released training has and the clean pair leaves out on
# purpose (configs/cac/README.md, "Reproduction configs", has the table).
# Its baseline is fcn_hr48_4xb2-repro-40k_cityscapes-512x1024.py.
_base_ = './fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py'
# The Cityscapes class weights of the released config, train ids 0..18.
class_weight = [
    0.8373, 0.9180, 0.8660, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
    1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
    1.0507
]
model = dict(
    decode_head=dict(
        # Segmentation head: CE with class weights and OHEM.
        sampler=dict(type='OHEMPixelSampler', thresh=0.9, min_kept=131072),
        loss_decode=dict(class_weight=class_weight),
        cac=dict(
            # Projection head 720 -> 256 (BN, ReLU) -> 256 with the
            # released residual second layer, z = h + Conv1x1(h); the weight
            # branch 1x1 ConvModule 720 -> 720 + 1x1 classifier (as in the
            # clean config); every conv of the branch Kaiming-initialised
            # (mmcv's ConvModule default, which the released layers get).
            proj_residual=True,
            init_cfg=dict(type='Kaiming', layer='Conv2d'),
            # Weight branch: the head's CE (class weights) on the head's
            # OHEM pixels, times beta 1.5.
            share_pixel_sampler=True,
            weight_branch_loss=dict(class_weight=class_weight),
            # CAMAS: one budget of 1024 anchors for all (image, class)
            # groups of a GPU's 2 images, n = min(1024 // T, 100).
            sampler=dict(
                _delete_=True,
                type='ConfidenceAwarePositionSampler',
                budget_mode='per_batch',
                max_samples_per_batch=1024,
                threshold=100,
                per_class_cap=100,
                order='marginal'),
            loss_cac=dict(
                # Labels at stride 4 by F.interpolate(mode='nearest').
                label_downsample='nearest',
                # All anchors of a GPU contrasted with each other.
                cross_image=True,
                # Pair weights from q with its gradient (into the weight
                # branch's parameters).
                detach_pair_weights=False,
                # Scatter-mean over max(label) + 1 class bins.
                reduction='class_bins'))))
