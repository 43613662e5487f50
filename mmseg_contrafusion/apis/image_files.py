"""Image files for inference: finding, reading and writing them."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .inference import InferenceInputError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')


def find_images(inputs: Sequence[str],
                exclude_dir: Optional[str] = None) -> List[str]:
    """Expand files and folders into the list of images to process.

    Args:
        inputs (Sequence[str]): Image files and folders. Folders are searched
            recursively for files ending in ``.png``, ``.jpg`` or ``.jpeg``
            (any case); files are taken as given.
        exclude_dir (str, optional): Files under this folder are skipped
            while searching folders (the output folder, so that earlier
            outputs are not segmented again). Defaults to None.

    Returns:
        list[str]: Image paths, in the order given, folders sorted, each
        path once.

    Raises:
        InferenceInputError: If an input does not exist, or a folder holds
            no images.
    """
    excluded = osp.abspath(exclude_dir) + os.sep if exclude_dir else None
    images: List[str] = []
    for item in inputs:
        if osp.isfile(item):
            images.append(item)
        elif osp.isdir(item):
            found = []
            for folder, dirs, files in os.walk(item):
                dirs.sort()
                if excluded and (osp.abspath(folder) +
                                 os.sep).startswith(excluded):
                    continue
                found.extend(
                    osp.join(folder, name) for name in sorted(files)
                    if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise InferenceInputError(
                    f'no images found in folder {item} (searched '
                    f'recursively for {", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        else:
            raise InferenceInputError(
                f'image file or folder {item} does not exist')
    return list(dict.fromkeys(osp.normpath(path) for path in images))


def read_image(path: str) -> np.ndarray:
    """Read an image as mmseg's ``LoadImageFromFile`` does (BGR, uint8).

    Args:
        path (str): Image file.

    Returns:
        np.ndarray: The image, shape (H, W, 3), BGR channel order.

    Raises:
        InferenceInputError: If the file cannot be read or decoded as an
            image.
    """
    import mmcv

    if osp.isfile(path) and osp.getsize(path) == 0:
        raise InferenceInputError(
            f'image {path} is unreadable: the file is empty')
    try:
        image = mmcv.imread(path, flag='color', channel_order='bgr')
    except Exception as error:  # cv2.error, OSError, ...
        first = (str(error).strip().splitlines() or [type(error).__name__])
        raise InferenceInputError(f'image {path} is unreadable: {first[0]}')
    if image is None or image.size == 0:
        raise InferenceInputError(f'image {path} is unreadable: not a '
                                  'PNG/JPEG image or the file is damaged')
    return image


def unreadable_images(images: Sequence[str]) -> Dict[str, str]:
    """Find the images that cannot be read, before any model is built.

    Reads headers only (PIL), so it is cheap; files PIL does not know are
    decoded with :func:`read_image` instead.

    Args:
        images (Sequence[str]): Image paths.

    Returns:
        dict[str, str]: Unreadable image -> the reason, in the given order.
    """
    from PIL import Image

    unreadable: Dict[str, str] = {}
    for path in images:
        try:
            with Image.open(path) as image:
                width, height = image.size
            if width > 0 and height > 0:
                continue
        except Exception:
            pass
        try:
            read_image(path)
        except InferenceInputError as error:
            unreadable[path] = str(error)
    return unreadable


def output_stems(images: Sequence[str]) -> List[str]:
    """File stems of the images, checked to be unique.

    Args:
        images (Sequence[str]): Image paths.

    Returns:
        list[str]: ``osp.splitext(osp.basename(path))[0]`` of each image.

    Raises:
        InferenceInputError: If two images share a stem (their outputs would
            overwrite each other).
    """
    seen: Dict[str, str] = {}
    stems = []
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in seen:
            raise InferenceInputError(
                f'images {seen[stem]} and {path} have the same name {stem}: '
                'their outputs would overwrite each other; run them with '
                'different --out folders')
        seen[stem] = path
        stems.append(stem)
    return stems


def save_png(array: np.ndarray, path: str) -> None:
    """Write a uint8 (H, W) or RGB (H, W, 3) array as PNG."""
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(array)).save(path)
