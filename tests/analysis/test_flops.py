"""mmseg_contrafusion.analysis.flops: FLOPs and the params/FLOPs table."""
from mmseg_contrafusion.analysis.configs import load_config
from mmseg_contrafusion.analysis.flops import (analyse_config, count_flops,
                                               format_params_flops)
from mmseg_contrafusion.analysis.model_builders import build_model


def test_auxiliary_head_adds_no_inference_flops(tiny_configs):
    tiny = analyse_config(tiny_configs['tiny'], (64, 64))
    aux = analyse_config(tiny_configs['aux'], (64, 64))
    assert tiny['shape'] == [64, 64]
    assert tiny['flops']['flops'] > 0
    # The auxiliary head does not run at inference: same FLOPs.
    assert aux['flops']['flops'] == tiny['flops']['flops']
    assert aux['params']['inference'] == tiny['params']['inference']
    table = format_params_flops([tiny, aux], (64, 64))
    assert 'Params (inference)' in table and 'auxiliary_head' in table
    assert 'FLOPs @ 64x64' in table
    # FLOPs grow with the pixel count (4x pixels, about 4x FLOPs).
    bigger = count_flops(
        build_model(load_config(tiny_configs['tiny'])), (128, 128))
    assert 3.5 < bigger['flops'] / tiny['flops']['flops'] < 4.5


def test_params_only_table(tiny_configs):
    result = analyse_config(tiny_configs['tiny'], (64, 64), flops=False)
    assert 'flops' not in result
    row = format_params_flops([result], (64, 64), with_flops=False)
    assert row.splitlines()[-1].endswith('| - | - |')
