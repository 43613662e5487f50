import os.path as osp
from typing import List

from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS
from ..utils import ActionableError

CONVERTER = 'python tools/dataset_converters/cityscapes.py'


class DatasetError(ActionableError):
    """A dataset file or folder is missing, unreadable or holds bad labels.

    The message names the path and what to do about it.
    """


@DATASETS.register_module()
class CheckedCityscapesDataset(CityscapesDataset):
    """Cityscapes dataset that checks its files before training starts.

    Same layout, classes and palette as mmseg's ``CityscapesDataset``
    (``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png``). It fails at
    construction, with one line naming the path and the fix, when the data
    root or split folder is missing, the split is empty, or an image has no
    label map; and it names the file when a sample cannot be read during
    training instead of failing deep inside a transform.

    Args:
        check_labels (bool, optional): Whether every image must have its
            label map. ``None`` (default) checks when the pipeline loads
            annotations, so a test-server split without labels still works.
        **kwargs: Passed to :class:`mmseg.datasets.CityscapesDataset`.
    """

    def __init__(self, check_labels: bool = None, **kwargs) -> None:
        if check_labels is None:
            check_labels = 'LoadAnnotations' in repr(kwargs.get('pipeline'))
        self.check_labels = check_labels
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the sample list, then check that the files exist."""
        root = self.data_root
        if root and not osp.isdir(root):
            raise DatasetError(
                f'Cityscapes data root {root} does not exist: download and '
                'unzip leftImg8bit_trainvaltest.zip and '
                f'gtFine_trainvaltest.zip there and run `{CONVERTER} {root}`, '
                'or set data_root '
                '(e.g. --cfg-options train_dataloader.dataset.data_root=...).')
        img_dir = self.data_prefix.get('img_path', '')
        if not osp.isdir(img_dir):
            raise DatasetError(
                f'image folder {img_dir} does not exist: {root} is not a '
                'Cityscapes tree (expected leftImg8bit/<split>/<city>/'
                '*_leftImg8bit.png); check data_root and data_prefix.')
        data_list = super().load_data_list()
        if not data_list:
            raise DatasetError(
                f'no *{self.img_suffix} images under {img_dir}' +
                (f' listed in {self.ann_file}' if self.ann_file else '') +
                ': the split is empty; check data_root, data_prefix and '
                'ann_file.')
        if self.check_labels:
            for info in data_list:
                seg_map = info.get('seg_map_path')
                if seg_map is not None and not osp.isfile(seg_map):
                    raise DatasetError(
                        f'label map {seg_map} for image {info["img_path"]} '
                        f'does not exist: run `{CONVERTER} {root}` to create '
                        f'the *{self.seg_map_suffix} files from the polygons.')
        return data_list

    def prepare_data(self, idx: int):
        """Load one sample; name its files if that fails or its labels are
        neither a class id nor the ignore index."""
        try:
            results = super().prepare_data(idx)
        except Exception as error:
            info = self.get_data_info(idx)
            files = ' / '.join(
                str(info[key]) for key in ('img_path', 'seg_map_path')
                if info.get(key))
            raise DatasetError(
                f'cannot load sample {files} ({type(error).__name__}: '
                f'{error}): the file is missing, truncated or not an image; '
                're-extract it from the Cityscapes archives or remove it from '
                'the split.') from error
        self._check_label_values(results, idx)
        return results

    def _check_label_values(self, results, idx: int) -> None:
        samples = results.get('data_samples') if isinstance(results,
                                                            dict) else None
        seg = getattr(getattr(samples, 'gt_sem_seg', None), 'data', None)
        if seg is None:
            return
        num_classes = len(self.metainfo['classes'])
        bad = seg[(seg >= num_classes) & (seg != self.ignore_index)]
        if bad.numel():
            values = sorted(set(bad.unique().tolist()))[:8]
            raise DatasetError(
                f'label map {self.get_data_info(idx).get("seg_map_path")} '
                f'has values {values} that are neither a class id '
                f'(0..{num_classes - 1}) nor the ignore index '
                f'{self.ignore_index}: it is probably a labelIds map, not '
                f'labelTrainIds; recreate it with `{CONVERTER} <root>`.')
