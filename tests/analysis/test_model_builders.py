"""mmseg_contrafusion.analysis.model_builders: build, forward paths."""
import pytest
import torch

from mmseg_contrafusion.analysis.configs import load_config
from mmseg_contrafusion.analysis.model_builders import (build_model,
                                                        output_tensors,
                                                        part_forward,
                                                        part_functions)


def test_parts_of_a_dual_encoder(tiny_configs):
    model = build_model(load_config(tiny_configs['cfn']), init_weights=False)
    assert not model.training
    inputs = torch.randn(1, 3, 64, 64)
    functions = dict(
        part_functions(model, ['model', 'encoder', 'backbone'], inputs))
    assert list(functions) == [
        'model', 'encoder', 'backbone:backbone', 'backbone:cnn_backbone'
    ]
    with torch.no_grad():
        logits = functions['model']()
        assert logits.shape == (1, 19, 64, 64)
        assert len(output_tensors(functions['encoder']())) >= 4
    with pytest.raises(ValueError, match='unknown part'):
        part_forward(model, 'decoder', inputs)
    with pytest.raises(ValueError, match='unknown part'):
        part_functions(model, ['decoder'], inputs)


def test_output_tensors_flattens_nested_outputs():
    a, b, c = torch.zeros(1), torch.ones(1), torch.ones(2)
    assert output_tensors(dict(x=(a, [b]), y=None, z=c)) == [a, b, c]
