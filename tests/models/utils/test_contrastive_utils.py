"""The batch rule (mean_over_images, split_by_image) and label downsampling
(downsample_labels) shared by the contrastive losses."""
import pytest
import torch
import torch.nn.functional as F

import mmseg_contrafusion  # noqa: F401
from mmseg_contrafusion.models.utils import (contrastive_utils,
                                             downsample_labels,
                                             mean_over_images, split_by_image)


def coordinate_label(h, w):
    """label[y, x] = 1000 * y + x: each value says where it came from."""
    ys = torch.arange(h)[:, None]
    xs = torch.arange(w)[None, :]
    return (1000 * ys + xs)[None]


def test_center_takes_the_cell_centre_at_stride_32():
    # A 64 x 96 map at stride 32 -> 2 x 3 cells. The centre of cell (i, j)
    # is the pixel (16 + 32 i, 16 + 32 j); 'nearest' (F.interpolate) takes
    # the top-left pixel (32 i, 32 j), 16 px up and left of it.
    label = coordinate_label(64, 96)
    out = downsample_labels(label, (2, 3), mode='center')
    assert out.tolist() == [[[16016, 16048, 16080], [48016, 48048, 48080]]]
    nearest = downsample_labels(label, (2, 3), mode='nearest')
    assert nearest.tolist() == [[[0, 32, 64], [32000, 32032, 32064]]]
    assert torch.equal(
        nearest,
        F.interpolate(label[:, None].float(), size=(2, 3),
                      mode='nearest')[:, 0].long())


def test_center_odd_stride_and_non_divisible_sizes():
    # Stride 3: s // 2 + k s = 1, 4, 7.
    label = coordinate_label(9, 9)
    assert downsample_labels(label, (3, 3)).tolist() == [[[1001, 1004, 1007],
                                                          [4001, 4004, 4007],
                                                          [7001, 7004, 7007]]]
    # 5 -> 2 rows: floor((i + 0.5) * 5 / 2) = floor(1.25), floor(3.75) = 1, 3
    # 7 -> 3 cols: floor((j + 0.5) * 7 / 3) = floor(1.17), floor(3.5),
    #              floor(5.83) = 1, 3, 5
    label = coordinate_label(5, 7)
    assert downsample_labels(label, (2, 3)).tolist() == [[[1001, 1003, 1005],
                                                          [3001, 3003, 3005]]]


def test_majority_by_hand():
    label = torch.tensor([[[1, 1, 255, 255], [2, 255, 255, 255],
                           [3, 4, 255, 5], [4, 3, 255, 255]]])
    out = downsample_labels(label, (2, 2), ignore_index=255, mode='majority')
    # (0, 0): 1 twice, 2 once -> 1.  (0, 1): nothing labelled -> 255.
    # (1, 0): 3 and 4 twice each -> the lower, 3.
    # (1, 1): one 5 among three ignored pixels -> 5 (ignore never votes).
    assert out.tolist() == [[[1, 255], [3, 5]]]
    # The centre of each 2 x 2 cell is its bottom-right pixel.
    assert downsample_labels(label, (2, 2)).tolist() == [[[255, 255], [3,
                                                                       255]]]


def test_majority_non_divisible_cells():
    # 5 -> 2 columns: pixel r goes to cell floor((r + 0.5) * 2 / 5), so the
    # cells are {0, 1} and {2, 3, 4}.
    label = torch.tensor([[[7, 8, 8, 9, 9]]])
    assert downsample_labels(
        label, (1, 2), mode='majority').tolist() == [[[7, 9]]]
    label = torch.tensor([[[7, 7, 8, 8, 9]]])
    assert downsample_labels(
        label, (1, 2), mode='majority').tolist() == [[[7, 8]]]


def majority_by_loops(label, size, ignore_index):
    num, height, width = label.shape
    h, w = size
    out = torch.full((num, h, w), ignore_index, dtype=torch.long)
    for b in range(num):
        votes = {}
        for y in range(height):
            for x in range(width):
                value = int(label[b, y, x])
                if value == ignore_index or value < 0:
                    continue
                cell = ((2 * y + 1) * h // (2 * height),
                        (2 * x + 1) * w // (2 * width))
                votes.setdefault(cell, {}).setdefault(value, 0)
                votes[cell][value] += 1
        for (i, j), count in votes.items():
            best = max(count.values())
            out[b, i, j] = min(c for c, n in count.items() if n == best)
    return out


@pytest.mark.parametrize('size', [(3, 4), (5, 7), (13, 11)])
def test_majority_matches_loops_and_chunks(size, monkeypatch):
    g = torch.Generator().manual_seed(0)
    label = torch.randint(0, 6, (2, 13, 23), generator=g)
    label[label == 5] = 255
    label[1, :7] = 255
    expected = majority_by_loops(label, size, 255)
    assert torch.equal(
        downsample_labels(label, size, mode='majority'), expected)
    # A count table of 1 class at a time gives the same votes.
    monkeypatch.setattr(contrastive_utils, '_MAJORITY_MAX_COUNTS', 1)
    assert torch.equal(
        downsample_labels(label, size, mode='majority'), expected)


def test_majority_all_ignored_and_upsampling():
    label = torch.full((2, 8, 8), 255)
    assert (downsample_labels(label, (2, 2), mode='majority') == 255).all()
    # Larger than the input: one pixel per cell, the same as 'center'.
    label = coordinate_label(2, 3)
    assert torch.equal(
        downsample_labels(label, (4, 6), mode='majority'),
        downsample_labels(label, (4, 6), mode='center'))


def test_layout_identity_and_errors():
    label = torch.randint(0, 3, (2, 1, 8, 8))
    for mode in ('center', 'majority', 'nearest'):
        out = downsample_labels(label, (4, 4), mode=mode)
        assert out.shape == (2, 1, 4, 4) and out.dtype == torch.long
        assert downsample_labels(
            label[:, 0], (4, 4), mode=mode).shape == (2, 4, 4)
        assert torch.equal(downsample_labels(label, (8, 8), mode=mode), label)
    with pytest.raises(ValueError, match='mode'):
        downsample_labels(label, (4, 4), mode='bilinear')
    with pytest.raises(ValueError, match='shape'):
        downsample_labels(torch.zeros(2, 3, 8, 8), (4, 4))


def test_mean_over_images_counts_every_image():
    a = torch.tensor(2., requires_grad=True)
    b = torch.tensor(4., requires_grad=True)
    feats = torch.randn(3, requires_grad=True)
    zero = feats.sum() * 0.
    out = mean_over_images([a, None, b], zero)
    assert out.item() == pytest.approx(2.)  # (2 + 0 + 4) / 3
    out.backward()
    assert a.grad.item() == pytest.approx(1 / 3)
    assert feats.grad is not None
    # No image with a loss: the attached zero, which back-propagates.
    for losses in ([None, None], []):
        feats.grad = None
        out = mean_over_images(losses, feats.sum() * 0.)
        assert out.item() == 0.
        out.backward()
        assert feats.grad is not None and (feats.grad == 0).all()


def test_split_by_image():
    inds = torch.tensor([0, 0, 2, 2, 2])
    parts = split_by_image(inds, 4)
    assert [p.tolist() for p in parts] == [[0, 1], [], [2, 3, 4], []]
    with pytest.raises(ValueError, match='batch_inds'):
        split_by_image(inds, 2)
