"""mmseg_contrafusion.analysis.params: total and inference parameters."""
from mmseg_contrafusion.analysis.configs import load_config
from mmseg_contrafusion.analysis.model_builders import build_model
from mmseg_contrafusion.analysis.params import capped_probe, count_params


def test_inference_params_exclude_auxiliary_head(tiny_configs):
    model = build_model(load_config(tiny_configs['aux']))
    counts = count_params(model, (64, 64))
    aux = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert counts['total'] == sum(p.numel() for p in model.parameters())
    assert counts['training_only_modules'] == ['auxiliary_head']
    assert counts['inference'] == counts['total'] - aux
    # Counting leaves the model as it was.
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_capped_probe():
    assert capped_probe((512, 32)) == (64, 32)
