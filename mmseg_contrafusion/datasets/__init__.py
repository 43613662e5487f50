from .checked_cityscapes import CheckedCityscapesDataset

__all__ = ['CheckedCityscapesDataset']
