import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Check before training and testing that the model predicts as many
    classes as the dataset has.

    A head with ``num_classes`` other than the dataset's class count trains
    without error but scores nonsense (or fails deep inside the loss with a
    CUDA assert); this names both numbers and the config key to change.
    """

    def _check(self, runner, dataloader, mode: str) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = getattr(dataloader, 'dataset', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if classes is None:
            return
        heads = [('decode_head', getattr(model, 'decode_head', None))]
        aux = getattr(model, 'auxiliary_head', None)
        if isinstance(aux, nn.ModuleList):
            heads += [(f'auxiliary_head[{i}]', head)
                      for i, head in enumerate(aux)]
        else:
            heads.append(('auxiliary_head', aux))
        for name, head in heads:
            num = getattr(head, 'num_classes', None)
            if num is not None and num != len(classes):
                raise ValueError(
                    f'model.{name}.num_classes={num} but the {mode} dataset '
                    f'{type(dataset).__name__} has {len(classes)} classes '
                    f'({", ".join(classes[:3])}, ...): set num_classes='
                    f'{len(classes)} for that head in the config.')

    def before_train(self, runner) -> None:
        """Check the training dataset."""
        self._check(runner, runner.train_dataloader, 'train')

    def before_test(self, runner) -> None:
        """Check the test dataset."""
        self._check(runner, runner.test_dataloader, 'test')
