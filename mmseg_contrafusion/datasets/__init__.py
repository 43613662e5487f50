from .checked_cityscapes import CheckedCityscapesDataset, DatasetError

__all__ = ['CheckedCityscapesDataset', 'DatasetError']
