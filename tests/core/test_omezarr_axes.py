"""OME-Zarr axes the reader must not take for (z, y, x) as stored (I/O audit of 2026-12-07: each gave a wrong
result with exit 0, or an internal error): NGFF 0.1/0.2's implicit channels, a channel axis named but not
typed, planes stored x before y, a z axis without a unit, a level path naming a group."""

import numpy as np
import pytest

from emdenoise_gui.cli.exits import EXIT_INPUT
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from tests.conftest import main

zarr = pytest.importorskip("zarr")


def _store(path, data, axes, scale=None, version="0.4"):
    """A zarr v2 store at ``path`` holding ``data`` as level "0" with NGFF ``version`` metadata: ``axes`` a
    list of axis dicts (None: no axes, as NGFF 0.1/0.2 write), ``scale`` level 0's scale transform."""
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    dataset = {"path": "0"}
    if scale is not None:
        dataset["coordinateTransformations"] = [{"type": "scale", "scale": scale}]
    entry = {"version": version, "datasets": [dataset]}
    if axes is not None:
        entry["axes"] = axes
    group.attrs["multiscales"] = [entry]
    group.create_array("0", shape=data.shape, chunks=data.shape, dtype=data.dtype)[:] = data
    return path


def _space(name, unit="nanometer"):
    return {"name": name, "type": "space", **({"unit": unit} if unit else {})}


def _planes(count, height=16, width=24):
    """(count, height, width) uint8 planes, each a constant 10, 120, 240, ... and a ramp along x."""
    levels = np.linspace(10, 240, count).astype(np.uint8)
    return np.stack([np.full((height, width), level, np.uint8) for level in levels]) + np.arange(width, dtype=np.uint8)


def test_an_ngff_0_2_image_of_three_channels_is_refused_not_read_as_slices(tmp_path):
    """NGFF 0.1/0.2 name no axes: their 5-D arrays are (t, c, z, y, x). Three channels were read as three
    slices (and neighbour filters blended them)."""
    data = _planes(3)[None, :, None]  # (t=1, c=3, z=1, y, x)
    with pytest.raises(InputError, match="has 3 channels"):
        open_stack(_store(tmp_path / "v02.zarr", data, None, version="0.2"))


def test_an_ngff_0_2_image_of_one_channel_reads_its_z_slices(tmp_path):
    data = _planes(3)[None, None]  # (t=1, c=1, z=3, y, x)
    with open_stack(_store(tmp_path / "v02.zarr", data, None, version="0.2")) as stack:
        assert stack.shape == (3, 16, 24)
        np.testing.assert_array_equal(stack[2], data[0, 0, 2])


@pytest.mark.parametrize("name", ["channel", "C", "ch"])
def test_a_channel_axis_named_but_not_typed_is_refused(tmp_path, name):
    data = _planes(3)[:, None]  # (c=3, z=1, y, x)
    axes = [{"name": name}, _space("z"), _space("y"), _space("x")]
    with pytest.raises(InputError, match="has 3 channels"):
        open_stack(_store(tmp_path / "c.zarr", data, axes, [1, 50, 7, 3]))


def test_an_unnamed_axis_of_several_planes_is_refused(tmp_path):
    """Without axes metadata a 4-D image's first axis may hold channels or time points: not read as slices."""
    data = _planes(3)[:, None]  # (?=3, z=1, y, x)
    with pytest.raises(InputError, match="does not name"):
        open_stack(_store(tmp_path / "q.zarr", data, None, version="0.3"))


def test_planes_stored_x_before_y_read_as_y_x_with_their_pixel_sizes(tmp_path):
    """Axes z, x, y (NGFF only recommends z, y, x): the image was read transposed, its pixel sizes on the
    wrong axes."""
    image = _planes(2, height=40, width=90)  # (z, y, x): 40 rows of 7 nm, 90 columns of 3 nm
    stored = np.ascontiguousarray(image.transpose(0, 2, 1))
    path = _store(tmp_path / "zxy.zarr", stored, [_space("z"), _space("x"), _space("y")], [50, 3, 7])
    with open_stack(path) as stack:
        assert stack.shape == (2, 40, 90) and stack.meta.voxel_size_nm == pytest.approx((50.0, 7.0, 3.0))
        assert stack.meta.extra["chunks"] == (2, 40, 90)
        np.testing.assert_array_equal(stack[1], image[1])
    out = tmp_path / "out.tif"
    assert main(["convert", str(path), str(out)]) == 0
    with open_stack(out) as stack:
        np.testing.assert_array_equal(stack[0], image[0])
        assert stack.meta.voxel_size_nm == pytest.approx((50.0, 7.0, 3.0), rel=1e-3)


def test_z_among_the_plane_axes_is_refused(tmp_path):
    data = _planes(2)
    with pytest.raises(InputError, match="stores z as one of its two last axes"):
        open_stack(_store(tmp_path / "yzx.zarr", data, [_space("y"), _space("z"), _space("x")], [7, 50, 3]))


def test_a_z_axis_without_a_unit_keeps_the_pixel_size_and_says_so(tmp_path):
    """The whole voxel size went unknown (an MRC result had cell 0) where y and x were given."""
    data = _planes(3)
    path = _store(tmp_path / "noz.zarr", data, [_space("z", None), _space("y"), _space("x")], [1, 6, 6])
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((6.0, 6.0, 6.0))
        assert "z spacing is unknown" in stack.meta.extra["note"]


def test_a_level_path_naming_a_group_is_one_line(tmp_path, capsys):
    """It was an internal error ('Group' object has no attribute 'chunks'), exit 1."""
    path = _store(tmp_path / "g.zarr", _planes(2), [_space("z"), _space("y"), _space("x")])
    zarr.open_group(str(path), mode="a").create_group("level")
    attrs = zarr.open_group(str(path), mode="a").attrs
    attrs["multiscales"] = [{**attrs["multiscales"][0], "datasets": [{"path": "level"}]}]
    assert main(["info", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "is a group, not an array" in err and err.count("\n") == 1 and "internal error" not in err
