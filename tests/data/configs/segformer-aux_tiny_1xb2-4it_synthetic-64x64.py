# The tiny SegFormer with an auxiliary head (training-only parameters).
_base_ = './segformer_tiny_synthetic.py'
model = dict(
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=32,
        in_index=3,
        channels=8,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))
