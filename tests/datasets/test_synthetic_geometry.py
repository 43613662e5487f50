"""The camera and polygon helpers of the synthetic street scenes."""
import numpy as np

from mmseg_contrafusion.datasets.synthetic.geometry import (Camera,
                                                            clip_polygon,
                                                            to_label_polygon)


def test_camera_projects_the_road_below_the_horizon():
    cam = Camera(256, 128, np.random.default_rng(0))
    near, far = cam.project(0.0, 0.0, [5.0, 50.0])
    assert near[1] > far[1] > cam.horizon
    assert np.isclose(near[1], cam.ground_row(5.0))
    assert np.isclose(cam.scale(5.0), 10 * cam.scale(50.0))


def test_polygons_are_clipped_to_the_image():
    square = np.array([(-10, -10), (50, -10), (50, 50), (-10, 50)], float)
    clipped = clip_polygon(square, 32, 16)
    assert clipped[:, 0].min() == 0 and clipped[:, 0].max() == 31
    assert clipped[:, 1].min() == 0 and clipped[:, 1].max() == 15
    assert sorted(map(tuple, to_label_polygon(square, 32, 16))) == \
        [(0, 0), (0, 15), (31, 0), (31, 15)]
    # nothing, or nothing with an area, left inside the image
    assert to_label_polygon(square + 100, 32, 16) is None
    assert to_label_polygon(np.array([(1, 1), (5, 5), (9, 9)]), 32, 16) is None
