"""mmseg_contrafusion.analysis.report.hooks: training-only modules."""
from mmseg_contrafusion.analysis.report.hooks import inference_hook_check


def test_hook_check_sees_cac_at_training_only(tiny_configs):
    result = inference_hook_check(tiny_configs['cac'], (64, 64))
    assert result['inference_total'] == 0
    calls = result['training_calls']
    assert calls['decode_head.cac_branch'] > 0
    assert calls['decode_head.contrast'] > 0
