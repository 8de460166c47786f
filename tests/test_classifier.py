"""The classifier's public contract: answers, probabilities, batch = single, determinism, every bad input."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import classifier
from classifier import open_probabilities, open_probability, openEyeCheck
from training.data import pool_dir

REPO = Path(__file__).resolve().parent.parent
POOL = pool_dir()
needs_pool = pytest.mark.skipif(not POOL.is_dir(), reason=f"eye pool not found at {POOL}")


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> list[Path]:
    """A dozen eye crops: from the pool when present, else drawn synthetic eyes (open and closed)."""
    if POOL.is_dir():
        return sorted(POOL.glob("*.jpg"))[:12]
    folder = tmp_path_factory.mktemp("crops")
    paths = []
    for i in range(12):
        image = Image.new("L", (24, 24), 200)
        pixels = image.load()
        for x in range(3, 21):
            pixels[x, 12] = 40
            if i % 2:  # open: a dark iris under the lid line
                for y in range(9, 16):
                    if (x - 12) ** 2 + (y - 12) ** 2 < 12:
                        pixels[x, y] = 20
        paths.append(folder / f"synthetic_{i}.png")
        image.save(paths[-1])
    return paths


def test_open_eye_check_returns_plain_int_zero_or_one(crops):
    answers = [openEyeCheck(str(path)) for path in crops]
    assert all(type(a) is int and a in (0, 1) for a in answers)


def test_probability_is_a_float_in_unit_interval_and_agrees_with_label(crops):
    for path in crops:
        p = open_probability(path)
        assert type(p) is float and 0.0 <= p <= 1.0
        assert openEyeCheck(path) == int(p >= 0.5)


def test_batch_equals_one_at_a_time(crops):
    batch = open_probabilities(crops)
    single = [open_probability(path) for path in crops]
    np.testing.assert_allclose(batch, single, atol=1e-6)
    assert classifier.eye_states(crops) == [openEyeCheck(path) for path in crops]
    assert open_probabilities([]) == []


def test_same_answer_every_call_and_every_load(crops):
    first = open_probabilities(crops)
    assert open_probabilities(crops) == first
    fresh = classifier.load_model(classifier.model.WEIGHTS)  # a second, uncached load of the same file
    np.testing.assert_allclose(fresh.probabilities(np.stack([classifier.images.load_eye(p) for p in crops])), first)


def test_model_is_loaded_once(crops):
    assert classifier.load_model() is classifier.load_model()


def test_missing_file_raises_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "nope" / "eye.jpg"
    with pytest.raises(FileNotFoundError, match="eye.jpg"):
        openEyeCheck(str(missing))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.jpg", b"this is plain text, not a picture", "not an image"),
        ("empty.png", b"", "empty"),
        ("truncated.jpg", None, "damaged or truncated"),
    ],
)
def test_bad_files_raise_value_error_saying_why(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is None:
        buffer = io.BytesIO()
        Image.new("L", (64, 64), 128).save(buffer, "JPEG")
        content = buffer.getvalue()[:200]
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        openEyeCheck(path)


def test_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        open_probability(tmp_path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_huge_photo_is_read_at_the_working_side_not_whole(tmp_path, suffix):
    from classifier.images import WORKING_SIDE, open_image

    huge, ordinary = tmp_path / f"huge{suffix}", tmp_path / f"ordinary{suffix}"
    Image.new("RGB", (2 * WORKING_SIDE + 100, 2 * WORKING_SIDE + 200), (90, 60, 40)).save(huge)
    Image.new("RGB", (2 * WORKING_SIDE - 100, WORKING_SIDE + 10), (90, 60, 40)).save(ordinary)
    assert open_image(huge).size == (WORKING_SIDE + 50, WORKING_SIDE + 100)  # halved (libjpeg's or Pillow's)
    assert open_image(ordinary).size == (2 * WORKING_SIDE - 100, WORKING_SIDE + 10)  # halving would go below


def test_a_pipe_is_refused_at_once_not_waited_on(tmp_path):
    import os
    import threading

    fifo = tmp_path / "eye.jpg"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            openEyeCheck(fifo)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.append(error)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout=10)
    assert not asker.is_alive(), "openEyeCheck blocked on a pipe"
    assert len(outcome) == 1 and isinstance(outcome[0], ValueError) and "not a regular file" in str(outcome[0])


def test_a_file_or_folder_that_cannot_be_read_says_so(tmp_path, monkeypatch):
    too_long = tmp_path / ("a" * 300 + ".jpg")  # the system refuses the name itself
    with pytest.raises(ValueError, match="cannot be read: File name too long"):
        openEyeCheck(too_long)
    locked = tmp_path / "locked.png"
    Image.new("L", (200, 200), 128).save(locked)  # not a crop: Pillow's path, not the fast one
    real_open = Image.open

    def refused(path, *args, **kwargs):  # as for a file without read permission (tests may run as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(classifier.images.Image, "open", refused)
    with pytest.raises(ValueError, match="locked.png cannot be read: permission denied"):
        openEyeCheck(locked)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # A valid PNG header announcing 100000 x 100000 pixels: must be refused from the header alone.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10))
    path = tmp_path / "bomb.png"
    path.write_bytes(png + _png_chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="too big an image to open safely|pixels, over the"):
        openEyeCheck(path)


@pytest.fixture(scope="module")
def reference(crops):
    """One crop as RGB at 4x size: every format below is a re-encoding of it."""
    with Image.open(crops[1]) as image:
        return image.convert("RGB").resize((96, 96), Image.Resampling.BICUBIC)


@pytest.mark.parametrize(
    ("suffix", "convert"),
    [
        (".png", lambda im: im),
        (".bmp", lambda im: im),
        (".gif", lambda im: im.convert("P")),
        (".webp", lambda im: im),
        (".png", lambda im: im.convert("RGBA")),
        (".jpg", lambda im: im.convert("CMYK")),
        (".tif", lambda im: im.convert("L")),
        (".png", lambda im: Image.fromarray(np.asarray(im.convert("L"), dtype=np.uint16) * 257)),
    ],
    ids=["png", "bmp", "gif", "webp", "rgba", "cmyk-jpeg", "tiff", "png-16bit"],
)
def test_every_common_format_and_mode_gives_the_same_answer(tmp_path, reference, suffix, convert):
    baseline = tmp_path / "baseline.png"
    reference.save(baseline)
    path = tmp_path / f"variant{suffix}"
    convert(reference).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    assert abs(open_probability(path) - open_probability(baseline)) < 0.1


def save_upright_and_exif_rotated(image: Image.Image, folder: Path) -> tuple[Path, Path]:
    """``image`` as a JPEG, and its pixels stored upside down with EXIF "rotate 180" (so it reads the same)."""
    upright = folder / "upright.jpg"
    image.save(upright, quality=95)
    exif = Image.Exif()
    exif[0x0112] = 3
    stored = folder / "rotated.jpg"
    image.rotate(180).save(stored, quality=95, exif=exif)
    return upright, stored


def test_exif_orientation_is_honoured(tmp_path, reference):
    upright, stored = save_upright_and_exif_rotated(reference, tmp_path)
    ignored = tmp_path / "rotated_no_exif.jpg"
    reference.rotate(180).save(ignored, quality=95)
    upright_input = classifier.images.load_eye(upright)
    np.testing.assert_allclose(classifier.images.load_eye(stored), upright_input, atol=0.03)
    assert np.abs(classifier.images.load_eye(ignored) - upright_input).max() > 0.1


@pytest.mark.parametrize("side", [24, 40])
def test_fast_jpeg_path_reads_the_same_pixels_as_pillow(tmp_path, reference, side):
    path = tmp_path / "gray.jpg"
    reference.convert("L").resize((side, side)).save(path, quality=90)
    fast = classifier.images._read_gray_jpeg_crop(path)
    assert fast is not None, "a small grayscale JPEG, the pool's kind of file, should take the fast path"
    np.testing.assert_array_equal(fast, classifier.images.to_model_input(classifier.images.open_image(path)))


def test_small_gray_jpeg_with_exif_rotation_still_reads_upright(tmp_path, reference):
    upright, stored = save_upright_and_exif_rotated(reference.convert("L").resize((24, 24)), tmp_path)
    assert classifier.images._read_gray_jpeg_crop(stored) is None  # left to Pillow, which applies EXIF
    np.testing.assert_allclose(classifier.images.load_eye(stored), classifier.images.load_eye(upright), atol=0.03)


def test_wrong_array_shape_is_refused():
    with pytest.raises(ValueError, match="24, 24"):
        classifier.load_model().probabilities(np.zeros((2, 32, 32), dtype=np.float32))


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights"):
        classifier.load_model(tmp_path / "weights.pt")


def run_python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_fresh_process_answers_without_importing_the_bot_or_torch(crops):
    code = (
        "import sys; from classifier import openEyeCheck; "
        f"print(openEyeCheck({str(crops[0])!r})); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'bot', 'dlib', 'torch')))"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
    answer, imported = result.stdout.split("\n")[:2]
    assert answer in ("0", "1")
    assert imported == "[]"


def test_cli_prints_csv_rows_for_files_and_folders_and_goes_on_past_a_bad_file(crops, tmp_path):
    for path in crops[:3]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    (tmp_path / "notes.txt").write_text("not an image, by its name")
    result = run_python("-m", "classifier", str(crops[4]), str(tmp_path))
    assert result.returncode == 1  # one file failed
    errors = result.stderr.strip().splitlines()
    assert any("broken.jpg" in line and line.startswith("error: ") for line in errors)
    assert "skipped 1 file that is not an image" in result.stderr
    assert errors[-1] == "error: 1 of 5 images could not be judged"
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "path,label,p_open,found"
    rows = [line.split(",") for line in lines[1:]]
    assert [row[0] for row in rows] == [str(crops[4])] + [str(tmp_path / p.name) for p in crops[:3]]
    for path, label, p, found in rows:
        assert found == "crop" and label == ("open" if float(p) >= 0.5 else "closed")
        assert abs(float(p) - open_probability(path)) < 1e-3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/folder"], "error: no such file or folder: /no/such/folder"),
        ([""], "error: an empty path was given"),
    ],
)
def test_cli_names_a_missing_path_in_one_line_and_fails(args, message):
    result = run_python("-m", "classifier", *args)
    assert (result.returncode, result.stdout, result.stderr.strip()) == (1, "", message)


def test_cli_names_a_path_it_cannot_read_and_goes_on(tmp_path, crops):
    too_long = str(tmp_path / ("a" * 300 + ".jpg"))
    result = run_python("-m", "classifier", too_long, str(crops[0]))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: cannot read {too_long}: File name too long"
    assert result.stdout.splitlines()[1].startswith(f"{crops[0]},")  # the readable file is still judged


def test_cli_names_a_folder_it_cannot_list_instead_of_skipping_it(tmp_path, monkeypatch):
    import os

    from classifier.__main__ import expand

    (tmp_path / "locked").mkdir()
    Image.new("L", (24, 24), 128).save(tmp_path / "eye.png")
    listing = os.scandir

    def scandir(path="."):  # as for a folder without read permission (tests may run as root)
        if Path(path) == tmp_path / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    said: list[str] = []
    assert expand(str(tmp_path), said.append) == [tmp_path / "eye.png"]
    assert said == [f"error: cannot read folder {tmp_path / 'locked'}: Permission denied"]
    said.clear()  # the folder named itself cannot be listed: one line, not a second "no images in folder" too
    assert expand(str(tmp_path / "locked"), said.append) == []
    assert said == [f"error: cannot read folder {tmp_path / 'locked'}: Permission denied"]


def test_cli_on_an_empty_folder_says_so_in_one_line_and_fails(tmp_path):
    result = run_python("-m", "classifier", str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr.strip()) == (
        1,
        "",
        f"error: no images in folder {tmp_path}",
    )


def test_cli_help_is_plain_text_and_no_arguments_is_a_usage_error():
    result = run_python("-m", "classifier", "--help")
    assert result.returncode == 0 and "PATH" in result.stdout and "``" not in result.stdout
    result = run_python("-m", "classifier")
    assert result.returncode == 2
    assert "usage" in result.stderr


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (None, TypeError, "expected the path of an image file .* got NoneType"),
        (7, TypeError, "got int"),
        ("", ValueError, "got an empty string"),
    ],
)
def test_what_cannot_name_a_file_is_a_clear_error(value, error, message):
    with pytest.raises(error, match=message):
        openEyeCheck(value)


def test_small_gray_jpeg_with_xmp_rotation_reads_as_analyze_photo_reads_it(tmp_path, reference):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="3"/></rdf:RDF></x:xmpmeta>'
    )
    path = tmp_path / "xmp.jpg"
    reference.convert("L").resize((24, 24)).save(path, quality=95, xmp=xmp)
    assert classifier.images._read_gray_jpeg_crop(path) is None  # left to Pillow, which applies XMP orientation
    assert open_probability(path) == pytest.approx(classifier.analyze_photo(path).p_open, abs=1e-6)


@pytest.mark.parametrize("single", ["/some/eye.jpg", Path("/some/eye.jpg")])
def test_batch_forms_refuse_a_single_path_in_words(single):
    for batch in (open_probabilities, classifier.eye_states):
        with pytest.raises(TypeError, match="single path"):
            batch(single)


def test_pillows_own_errors_name_the_file(tmp_path):
    path = tmp_path / "truncated.ppm"
    path.write_bytes(b"P5\n24 ")
    with pytest.raises(ValueError, match="truncated.ppm"):
        open_probability(path)


def test_bad_eye_threads_is_named_not_blamed_on_the_weights(monkeypatch):
    monkeypatch.setenv("EYE_THREADS", "two")
    with pytest.raises(ValueError, match="^EYE_THREADS must be"):
        classifier.model.EyeModel()


def test_cli_goes_on_past_a_file_that_fails_in_any_way(crops, tmp_path, monkeypatch, capsys):
    """Not only unreadable files: any failure judging one image is its line on stderr, and the others get rows."""
    from classifier import __main__ as cli
    from classifier import inference

    real = inference._read

    def failing(path):
        if Path(path).name == "strange.png":
            raise RuntimeError("dlib: offset+size() <= t.size()")
        return real(path)

    monkeypatch.setattr(inference, "_read", failing)
    Image.new("L", (24, 24)).save(tmp_path / "strange.png")
    assert cli.main(["--quiet", str(crops[0]), str(tmp_path / "strange.png"), str(crops[1])]) == 1
    out, err = capsys.readouterr()
    assert [row.split(",")[0] for row in out.splitlines()[1:]] == [str(crops[0]), str(crops[1])]
    assert f"error: {tmp_path / 'strange.png'}: dlib: offset+size() <= t.size()" in err.splitlines()


def test_cli_piped_into_head_stops_quietly(crops, tmp_path):
    for i in range(2000):  # more rows than a pipe holds, so the writer meets the closed pipe
        (tmp_path / f"{i:04d}.jpg").write_bytes(crops[i % len(crops)].read_bytes())
    command = f"{sys.executable} -m classifier --quiet {tmp_path} | head -1"
    result = subprocess.run(command, shell=True, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "path,label,p_open,found"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def photo_paths(tmp_path: Path, count: int) -> list[Path]:
    paths = [tmp_path / f"photo{i}.png" for i in range(count)]
    for path in paths:
        Image.new("RGB", (640, 480), (90, 120, 150)).save(path)
    return paths


def test_a_failing_photo_keeps_its_message_but_not_its_pixels(tmp_path, monkeypatch):
    from classifier import inference, photo

    def failing(image):
        raise RuntimeError("detector failed")

    monkeypatch.setattr(photo, "analyze_image", failing)
    [error] = inference.judge_each(photo_paths(tmp_path, 1))
    assert isinstance(error, RuntimeError) and str(error) == "detector failed"
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    held = [value for frame in frames for value in frame.f_locals.values() if isinstance(value, Image.Image)]
    assert held == []  # 12 failing 12-megapixel photos held 843 MB through their tracebacks


def test_a_broken_installation_stops_the_batch_instead_of_failing_every_file(tmp_path, monkeypatch):
    from classifier import inference

    def missing(path):
        raise ImportError("face_recognition_models is not installed")

    monkeypatch.setattr(inference, "_read", missing)
    with pytest.raises(ImportError):
        inference.judge_each(photo_paths(tmp_path, 2))


def test_open_probabilities_raises_at_the_first_bad_file_without_judging_the_rest(tmp_path, monkeypatch, crops):
    from classifier import inference

    judged = []
    real = inference._read

    def counting(path):
        judged.append(path)
        return real(path)

    monkeypatch.setattr(inference, "_read", counting)
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.jpg"):
        open_probabilities([tmp_path / "bad.jpg", *crops[:3]])
    assert judged == [tmp_path / "bad.jpg"]
