"""decode_image on real files of every mode and format (grey, RGB, RGBA, palette, 16-bit,
EXIF-rotated JPEG, WebP, BMP) against the pixels written, the three fits, the pixel limit read
from the header, and ImageInput's fitted normalization against NumPy."""

import numpy as np
import pytest
import torch
from PIL import Image

from kiln.data.images import decode_image
from kiln.data.images.decode import ImageTooLarge
from kiln.errors import KilnError
from kiln.preprocessing.images import ImageInput
from tests.helpers.images import bomb_png, pattern, write_modes


@pytest.fixture(scope="module")
def modes(tmp_path_factory):
    return write_modes(tmp_path_factory.mktemp("modes"))


def test_lossless_modes_read_back_exactly(modes):
    rgb = pattern(12, 16)
    np.testing.assert_array_equal(decode_image(modes["rgb"], (12, 16), 3), rgb)
    np.testing.assert_array_equal(decode_image(modes["grey"], (12, 16), 1)[..., 0], rgb[..., 0])
    grey_as_rgb = decode_image(modes["grey"], (12, 16), 3)
    assert (grey_as_rgb == rgb[..., :1]).all()  # a grey file for an RGB model: three equal channels
    np.testing.assert_array_equal(decode_image(modes["lossless"], (10, 14), 3), rgb[:10, :14])
    np.testing.assert_array_equal(decode_image(modes["bitmap"], (8, 16), 3), rgb[:8])
    palette = np.asarray(Image.open(modes["palette"]).convert("RGB"))
    np.testing.assert_array_equal(decode_image(modes["palette"], (12, 16), 3), palette)


def test_sixteen_bit_is_scaled_to_eight(modes):
    got = decode_image(modes["wide"], (12, 16), 1)[..., 0]
    np.testing.assert_array_equal(got, pattern(12, 16)[..., 1])  # v * 257 / 65535 * 255 = v


def test_transparency_lies_over_white(modes):
    got = decode_image(modes["rgba"], (12, 16), 3).astype(float)
    want = pattern(12, 16).astype(float) * 128 / 255 + 255 * (1 - 128 / 255)
    np.testing.assert_allclose(got, want, atol=1.0)


def test_exif_orientation_is_applied(modes):
    upright = decode_image(modes["photo"], (12, 16), 3).astype(float)
    turned = decode_image(modes["rotated"], (12, 16), 3).astype(float)
    assert np.abs(turned - upright).mean() < 4  # the same picture up to JPEG's loss
    raw = np.asarray(Image.open(modes["rotated"]).convert("RGB"))
    assert raw.shape == (16, 12, 3)  # stored on its side


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_fits_keep_or_bend_the_aspect(tmp_path, fit):
    Image.new("L", (16, 12), 200).save(tmp_path / "wide.png")
    got = decode_image(tmp_path / "wide.png", (8, 8), 1, fit)[..., 0]
    assert got.shape == (8, 8)
    if fit == "pad":  # 16:12 fits as 8 x 6, a black bar above and below
        assert (got[0] == 0).all() and (got[-1] == 0).all() and (got[2:6] == 200).all()
    else:
        assert (got == 200).all()


def test_pixel_limit_is_read_from_the_header():
    with pytest.raises(ImageTooLarge, match="9000x9000 = 81,000,000 pixels, over the limit"):
        decode_image(bomb_png(9000), (8, 8), name="upload 0")
    with pytest.raises(ImageTooLarge, match="over the limit of 100"):
        decode_image(pattern(12, 16), (8, 8), max_pixels=100)


def test_bad_sources_are_one_sentence(tmp_path):
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")  # a signature, then nothing
    with pytest.raises(KilnError, match="cut.png is not an image Pillow can read"):
        decode_image(tmp_path / "cut.png", (8, 8))
    full = tmp_path / "full.png"
    Image.fromarray(pattern(64, 64)).save(full)
    (tmp_path / "half.png").write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    with pytest.raises(KilnError, match="half.png is corrupt or truncated"):
        decode_image(tmp_path / "half.png", (8, 8))
    with pytest.raises(KilnError, match="does not exist"):
        decode_image(tmp_path / "none.png", (8, 8))


def test_image_input_normalizes_per_channel_like_numpy():
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (50, 6, 5, 3), dtype=np.uint8))
    pre = ImageInput(3).fit(x, chunk=7)
    flat = x.numpy().reshape(-1, 3) / 255.0
    np.testing.assert_allclose(pre.mean.numpy(), flat.mean(0), rtol=1e-6)
    np.testing.assert_allclose(pre.std.numpy(), flat.std(0), rtol=1e-5)
    out = pre(x)
    want = (x.numpy().transpose(0, 3, 1, 2) / 255.0 - flat.mean(0)[:, None, None]) / flat.std(0)[
        :, None, None
    ]
    np.testing.assert_allclose(out.numpy(), want, atol=1e-5)
    assert torch.equal(pre(pre.to_float(x)), out)  # an augmented (float NCHW) batch: same path
