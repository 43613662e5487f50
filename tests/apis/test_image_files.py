"""mmseg_contrafusion.apis.image_files: which files are segmented."""
import numpy as np
import pytest

from mmseg_contrafusion.apis import (InferenceInputError, find_images,
                                     output_stems, read_image, save_png,
                                     unreadable_images)


def _image(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(np.full((4, 6, 3), value, np.uint8), str(path))
    return str(path)


def test_folders_are_searched_recursively_and_sorted(tmp_path):
    b = _image(tmp_path / 'in' / 'b.png')
    a = _image(tmp_path / 'in' / 'sub' / 'a.jpg')
    (tmp_path / 'in' / 'notes.txt').write_text('not an image')
    old = _image(tmp_path / 'in' / 'out' / 'b_overlay.png')
    found = find_images([str(tmp_path / 'in'), b],
                        exclude_dir=str(tmp_path / 'in' / 'out'))
    # Each path once, the folder sorted, the output folder skipped.
    assert found == [b, a]
    assert old not in found


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(InferenceInputError, match='missing.png does not'):
        find_images([str(tmp_path / 'missing.png')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InferenceInputError, match='no images found in'):
        find_images([str(tmp_path / 'empty')])


def test_same_stem_in_two_folders_is_refused(tmp_path):
    one = _image(tmp_path / 'x' / 'frame.png')
    two = _image(tmp_path / 'y' / 'frame.png')
    assert output_stems([one]) == ['frame']
    with pytest.raises(InferenceInputError, match='same name frame'):
        output_stems([one, two])


def test_unreadable_files_are_reported_with_a_reason(tmp_path):
    good = _image(tmp_path / 'good.png', value=7)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    assert read_image(good).shape == (4, 6, 3)
    reasons = unreadable_images([good, str(bad)])
    assert list(reasons) == [str(bad)]
    assert str(bad) in reasons[str(bad)]
