"""Turn any image file Pillow can open into the model's input: a 24x24 grayscale float array.

Every failure is reported as a clear exception: a missing path raises ``FileNotFoundError`` naming it, and
anything that is not a readable image (not an image, truncated, a decompression bomb, an empty file, a file or
folder we may not read, a pipe or device) raises ``ValueError`` saying what was wrong.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 24  # the pool's native crop size; the model sees exactly this
FAST_PATH_BYTES = 64 * 1024  # a 24x24 pool crop is under 1 KiB; anything bigger goes through Pillow
MAX_PIXELS = 50_000_000  # larger than any phone photo, far below a decompression bomb
# A photo is read at no more detail than a short side of this many pixels (at least): faces and eyes in it stay far
# larger than the model's 24x24, and a 49-megapixel upload no longer takes half a gigabyte or more to read.
WORKING_SIDE = 2048
CROP_SIDE = 100  # an image at most this big a side is an eye crop like the pool's, and is read whole
PHOTO_SQUARE = 0.8  # a bigger eye photo is read on a centred square this fraction of its short side

# File names taken for images, wherever a folder is searched or an upload is named: what Pillow reads, plus the
# common formats it does not (HEIC, AVIF, SVG), so that those are tried and answered with the reason.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ico", ".ppm", ".pgm", ".pbm", ".tga"}
    | {".heic", ".heif", ".avif", ".svg"}
)

PathLike = str | os.PathLike
# The fast path's os.open: never blocking on a pipe (POSIX), bytes as they are (Windows' O_BINARY, else text mode).
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def checked_path(path: object) -> Path:
    """``path`` as a ``Path``, or a clear error for what cannot name an image file (None, a number, "")."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"expected the path of an image file (str or os.PathLike), got {type(path).__name__}")
    if not str(path).strip():
        raise ValueError("expected the path of an image file, got an empty string")
    return Path(path)


def open_image(path: PathLike) -> Image.Image:
    """Open ``path`` fully decoded, upright (EXIF orientation applied), first frame only, in mode ``L``/``RGB``; a
    photo whose short side is at least twice WORKING_SIDE at a whole fraction of its size, its short side still at
    least WORKING_SIDE (a JPEG scaled by libjpeg as it is decoded, others by ``_within_working_side``)."""
    path = checked_path(path)
    check_file(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_PIXELS and 2*MAX_PIXELS; treat that as the error it is for us.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(
                        f"{path} is {image.width}x{image.height} pixels, over the {MAX_PIXELS:,} pixel limit"
                    )
                image.seek(0)  # GIF/WebP animations: the first frame
                if image.format in ("JPEG", "MPO"):  # decoded at 1/2, 1/4 or 1/8 scale (libjpeg's) to WORKING_SIDE
                    image.draft(image.mode, (WORKING_SIDE, WORKING_SIDE))
                image.load()
                ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright image
                return _to_luminance_or_rgb(_within_working_side(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"{path} is too big an image to open safely (over the {MAX_PIXELS:,} pixel limit)") from error
    except UnidentifiedImageError as error:
        raise ValueError(f"{path} is not an image Pillow can read (unknown or unsupported format)") from error
    except PermissionError as error:  # an OSError too, but no sign of damage
        raise ValueError(f"{path} cannot be read: permission denied") from error
    except (OSError, SyntaxError, EOFError) as error:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError depending on the codec.
        raise ValueError(f"{path} is a damaged or truncated image: {error}") from error
    except ValueError as error:  # ours name the file; Pillow's own ("invalid palette size"…) do not
        if str(path) in str(error):
            raise
        raise ValueError(f"{path} is a damaged image: {error}") from error


def check_file(path: Path) -> None:
    """Raise the documented error unless ``path`` is a non-empty regular file (what may hold an image)."""
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"no such image file: {path}") from None
    except PermissionError:
        raise ValueError(f"{path} cannot be read: permission denied (on a folder on its way)") from None
    except OSError as error:  # a name too long, a loop of symbolic links…
        raise ValueError(f"{path} cannot be read: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{path} is a directory, not an image file")
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{path} is not a regular file (a pipe, socket or device), not an image file")
    if status.st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes), not an image")


def _within_working_side(image: Image.Image) -> Image.Image:
    """``image`` shrunk by a whole factor while its short side stays at least WORKING_SIDE (before the alpha and
    mode conversions below, each of which would copy it whole). Modes whose pixels cannot be averaged (palette,
    1-bit) or that are rare at that size stay as they are."""
    factor = min(image.size) // WORKING_SIDE
    if factor < 2 or image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
        return image
    return image.reduce(factor)


def _to_luminance_or_rgb(image: Image.Image) -> Image.Image:
    """Flatten alpha onto white, and bring palette/CMYK/16-bit/float modes to 8-bit ``L`` or ``RGB``."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, 1-bit
    return image


def eye_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part of an eye image the model reads: a crop-sized image whole; a photo of an eye as a centred square.

    Squashing a whole phone close-up to a square distorts the eye, and such photos frame brow and margins that
    the pool's tight crops leave out (on the 12 close-ups in ../shared/data/photos: 9/12 right squashed whole,
    12/12 on the centred 80% square).
    """
    w, h = size
    if max(w, h) <= CROP_SIDE:
        return 0, 0, w, h
    side = round(PHOTO_SQUARE * min(w, h))
    left, top = (w - side) // 2, (h - side) // 2
    return left, top, left + side, top + side


def to_model_input(image: Image.Image) -> np.ndarray:
    """A 24x24 float32 array in [0, 1] from an already opened eye image (see ``eye_box`` for which part)."""
    gray = image if image.mode == "L" else image.convert("L")
    box = eye_box(gray.size)
    if box != (0, 0, *gray.size):
        gray = gray.crop(box)
    if gray.size != (SIZE, SIZE):
        gray = gray.resize((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(gray, dtype=np.float32) * (1.0 / 255.0)


def load_eye(path: PathLike) -> np.ndarray:
    """Read an eye image file, as it is, into the model's 24x24 float32 input (no face search: a crop's reading)."""
    fast = fast_crop(path)
    return fast if fast is not None else to_model_input(open_image(path))


def fast_crop(path: PathLike) -> np.ndarray | None:
    """The model input of a small grayscale JPEG crop without EXIF, the pool's kind of file; None for any other."""
    return _read_gray_jpeg_crop(checked_path(path))


def _read_gray_jpeg_crop(path: PathLike) -> np.ndarray | None:
    """The pool's own kind of file (a small grayscale JPEG with no EXIF or XMP) decoded by libjpeg-turbo directly.

    Pillow spends ~180 µs opening a 24x24 JPEG (format sniffing, Python marker parsing), simplejpeg ~30 µs, with
    the same pixels. Anything else, and any failure, returns None: ``open_image`` then reads it, or says what is
    wrong with it.
    """
    try:
        # os.open: a third of the cost of open(), no buffered file object. Non-blocking, so that a pipe with no
        # writer is turned away here rather than waited on forever (only regular files take this path).
        handle = os.open(path, READ_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return None
            data = os.read(handle, FAST_PATH_BYTES + 1)
        finally:
            os.close(handle)
        rotatable = b"Exif\x00\x00" in data or b"http://ns.adobe.com/xap/1.0/" in data  # EXIF or XMP orientation
        if len(data) > FAST_PATH_BYTES or not data.startswith(b"\xff\xd8") or rotatable:
            return None  # big, not a JPEG, or possibly rotated by its metadata: Pillow's path handles all three
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        if colorspace != "Gray" or max(height, width) > CROP_SIDE:
            return None
        pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY")[:, :, 0]  # strict: damaged data raises
    except (OSError, ValueError):
        return None
    if pixels.shape == (SIZE, SIZE):
        return pixels * np.float32(1.0 / 255.0)
    return to_model_input(Image.fromarray(pixels))
