import numpy as np
import pytest
from PIL import Image

from data_prep.errors import InputError
from data_prep.image import IMAGE_EXTENSIONS, load_image, save_image

LEVELS = np.array([0, 64, 128, 255], np.uint8)


@pytest.fixture
def gray() -> np.ndarray:
    """A small 'line' with four gray levels and no symmetry (to catch flips)."""
    rng = np.random.default_rng(0)
    g = LEVELS[rng.integers(0, 4, size=(12, 20))]
    g[0, 0] = 0
    g[-1, -1] = 255
    return g


@pytest.mark.parametrize("ext,options,tol", [
    (".png", {}, 0), (".bmp", {}, 0), (".tif", {}, 0), (".tiff", {"compression": "tiff_lzw"}, 0),
    (".webp", {"lossless": True}, 0), (".jpg", {"quality": 95}, 24), (".jpeg", {"quality": 95}, 24),
])
def test_formats(tmp_path, gray, ext, options, tol):
    assert ext in IMAGE_EXTENSIONS
    path = tmp_path / f"x{ext}"
    Image.fromarray(gray).save(path, **options)
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == gray.shape
    assert np.abs(out.astype(int) - gray).max() <= tol


def rgb_of(gray):
    return Image.fromarray(np.stack([gray] * 3, axis=-1))


@pytest.mark.parametrize("mode", ["L", "RGB", "P", "CMYK", "LA", "RGBA"])
def test_colour_modes_give_the_same_gray(tmp_path, gray, mode):
    img = rgb_of(gray)
    if mode == "P":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    elif mode == "LA":
        img = Image.fromarray(gray).convert("LA")
    else:
        img = img.convert(mode)
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    img.save(path)
    assert np.abs(load_image(path).astype(int) - gray).max() <= 1


def test_bilevel(tmp_path, gray):
    path = tmp_path / "b.png"
    Image.fromarray(gray).point(lambda v: 255 if v >= 128 else 0).convert("1").save(path)
    np.testing.assert_array_equal(load_image(path), np.where(gray >= 128, 255, 0))


def test_transparency_is_white_paper(tmp_path, gray):
    alpha = np.full(gray.shape, 255, np.uint8)
    alpha[:, :5] = 0  # transparent: paper, whatever the colour underneath
    alpha[:, 5:10] = 128  # half transparent black over white: mid gray
    rgba = np.dstack([np.zeros_like(gray)] * 3 + [alpha])
    rgba[:, 10:, :3] = gray[:, 10:, None]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert np.all(out[:, :5] == 255)
    assert np.all(np.abs(out[:, 5:10].astype(int) - 127) <= 2)
    np.testing.assert_array_equal(out[:, 10:], gray[:, 10:])

    pal = Image.fromarray(gray).convert("P")  # grayscale palette, index = gray value
    pal.info["transparency"] = 0  # black is transparent
    pal.save(tmp_path / "p.png", transparency=0)
    out = load_image(tmp_path / "p.png")
    np.testing.assert_array_equal(out, np.where(gray == 0, 255, gray))


@pytest.mark.parametrize("mode,dtype,lo,hi", [
    ("I;16", np.uint16, 1000, 3000), ("I", np.int32, -70000, 90000), ("F", np.float32, -0.5, 2.0),
])
def test_wide_modes_are_scaled_by_their_range(tmp_path, gray, mode, dtype, lo, hi):
    values = (lo + gray.astype(np.float64) / 255 * (hi - lo)).astype(dtype)
    img = Image.fromarray(values)
    assert img.mode == mode
    path = tmp_path / ("x.png" if mode == "I;16" else "x.tif")
    img.save(path)
    assert np.abs(load_image(path).astype(int) - gray).max() <= 1


def test_multipage_tiff_gives_the_first_page(tmp_path, gray):
    path = tmp_path / "pages.tif"
    Image.fromarray(gray).save(path, save_all=True, append_images=[Image.fromarray(255 - gray)])
    np.testing.assert_array_equal(load_image(path), gray)


def test_exif_orientation_is_applied(tmp_path, gray):
    img = Image.fromarray(gray)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be rotated 90 degrees clockwise to display
    img.save(tmp_path / "o.png", exif=exif)
    np.testing.assert_array_equal(load_image(tmp_path / "o.png"), np.rot90(gray, k=-1))


def test_tiny_and_blank_images_load(tmp_path):
    Image.new("L", (1, 1), 0).save(tmp_path / "one.png")
    Image.new("L", (40, 10), 255).save(tmp_path / "blank.png")
    assert load_image(tmp_path / "one.png").shape == (1, 1)
    assert np.all(load_image(tmp_path / "blank.png") == 255)


def test_save_image_round_trip(tmp_path, gray):
    save_image(tmp_path / "sub" / "s.png", gray)
    np.testing.assert_array_equal(load_image(tmp_path / "sub" / "s.png"), gray)
    save_image(tmp_path / "f.png", gray.astype(np.float32) + 0.4)
    np.testing.assert_array_equal(load_image(tmp_path / "f.png"), gray)


def assert_input_error(path, problem):
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value).startswith(f"{path}: {problem}")
    assert "\n" not in str(caught.value)


def test_bad_files(tmp_path, gray):
    assert_input_error(tmp_path / "missing.png", "file not found")
    (tmp_path / "empty.png").write_bytes(b"")
    assert_input_error(tmp_path / "empty.png", "empty file")
    (tmp_path / "text.png").write_text("not an image\n")
    assert_input_error(tmp_path / "text.png", "not a readable image (")
    big = np.random.default_rng(1).integers(0, 256, (200, 300), dtype=np.uint8)
    for ext in (".png", ".jpg"):
        path = tmp_path / f"cut{ext}"
        Image.fromarray(big).save(path)
        path.write_bytes(path.read_bytes()[:400])
        assert_input_error(path, "not a readable image (")
