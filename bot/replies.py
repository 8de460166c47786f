"""Everything the bot says to people, in one place: help, refusals, errors, and every verdict's wording.

The classifier answers in probabilities (``p_open`` in [0, 1]) and states; this module alone turns them into
sentences. A confidence is shown as a whole percent rounded down and capped at 99: the bot never claims certainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from telegram import Message

from classifier.inference import load_model
from classifier.photo import MIN_EYE_PX, Face, PhotoResult, state_of

MAX_DOWNLOAD_MB = 20  # Telegram's Bot API refuses to hand bots files larger than this

HELP = (
    "Hi! I tell whether eyes are open or closed.\n"
    "\n"
    "Send me a photo: a selfie, a portrait or a group photo (I judge each face's eyes, up to 10 faces), "
    "or a close-up of one eye. For full resolution, send the image as a file instead "
    "(JPEG, PNG, WebP, GIF, BMP or TIFF). You can send several at once: each gets its own answer.\n"
    "\n"
    "For one eye the answer looks like “Open — 97% sure”: the verdict, and how confident the model is in it "
    "(50% is a coin toss); when the evidence is too weak it says “Hard to tell — 55% open”. "
    "For a face: “Face 1: left eye open (98%), right eye closed (93%)”, left and right as the person sees them, "
    "and one verdict for the face from both eyes.\n"
    "\n"
    "Your photos are not kept: each one is checked and deleted straight away."
)

WHAT_I_ACCEPT = "I can only check pictures of an eye: send a photo, or an image as a file (JPEG, PNG, WebP…)."
TOO_BIG = (
    f"That file is over {MAX_DOWNLOAD_MB} MB, the largest file Telegram lets a bot download. "
    "Please send a smaller image, or send it as a photo so Telegram compresses it."
)
DOWNLOAD_FAILED = "I couldn't fetch that file from Telegram just now. Please send it again in a moment."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side while checking that. Please try again in a moment."
SLOW_DOWN = (
    "That's a lot of messages in a short time — I'll skip the rest for now. "
    "Please wait a minute, then send the pictures you still want checked."
)


NOTHING_FOUND = (
    "No face or eye found in this photo. Send a photo where the face is larger and facing the camera, "
    "or a close-up of one eye."
)
MIN_EYE_HINT = "Send a closer or sharper photo: each eye needs to be at least {pixels:.0f} pixels wide."
SIDES_HINT = "(Left and right are the person's own: their left eye is on the right of the photo.)"


@dataclass(frozen=True)
class EyeVerdict:
    """What the classifier said about one eye image."""

    is_open: bool  # from classifier.openEyeCheck
    p_open: float  # from classifier.open_probability


def percent(probability: float) -> int:
    """Whole percent, rounded down and capped at 99: never "100% sure" of what a photo shows."""
    return max(0, min(99, math.floor(probability * 100 + 1e-9)))


def sure(p_open: float, is_open: bool) -> str:
    """``Open — 97% sure``, or ``Hard to tell — 55% open`` when the model's confidence is under its floor."""
    if state_of(p_open) == "unsure":
        return f"Hard to tell — {percent(p_open)}% open"
    return f"{'Open' if is_open else 'Closed'} — {percent(p_open if is_open else 1 - p_open)}% sure"


def eye_line(side: str, p_open: float | None) -> str:
    if p_open is None:
        return f"{side} eye too small"
    if load_model().is_open(p_open):  # the weights' threshold, as Eye.label and the face verdict use
        return f"{side} eye open ({percent(p_open)}%)"
    return f"{side} eye closed ({percent(1 - p_open)}%)"


def face_verdict(face: Face) -> str:
    """The face's one verdict: both eyes' evidence together, a wink, or hard to tell."""
    state, p = face.state, face.p_open
    if state == "open":
        return f"eyes open ({percent(p)}% sure)"
    if state == "closed":
        return f"eyes closed ({percent(1 - p)}% sure)"
    if state == "unsure":
        return f"hard to tell ({percent(p)}% open)"
    return "one eye closed" if state == "one eye closed" else "too small to judge"


def group_verdict(faces: tuple[Face, ...]) -> str:
    """One line for several faces: everyone the same, or which faces differ."""
    judged = [(n, face) for n, face in enumerate(faces, 1) if face.state != "too small"]
    if not judged:
        return "faces too small to judge"
    states = {face.state for _, face in judged}
    if states == {"open"}:
        return "everyone's eyes are open"
    if states == {"closed"}:
        return "everyone's eyes are closed"
    parts = []
    for state, words in (("closed", "eyes closed"), ("one eye closed", "one eye closed"), ("unsure", "hard to tell")):
        numbers = [str(n) for n, face in judged if face.state == state]
        if numbers:
            parts.append(f"{words} on face {', '.join(numbers)}")
    return "; ".join(parts)


def describe_photo(result: PhotoResult) -> str:
    """The reply to a whole photo: a line per face (per eye, then the face's verdict), or the close-up's eye."""
    if result.kind == "nothing":
        return NOTHING_FOUND
    if result.kind == "eye_closeup":
        return f"Eye close-up: {sure(result.eye.p_open, result.eye.label == 'open')}"
    lines = []
    for number, face in enumerate(result.faces, 1):
        if face.too_small:
            width = min(face.left_eye.width, face.right_eye.width)
            lines.append(f"Face {number}: too small to judge (eyes {width:.0f} px wide, need {MIN_EYE_PX:.0f})")
        else:
            eyes = f"{eye_line('left', face.left_eye.p_open)}, {eye_line('right', face.right_eye.p_open)}"
            lines.append(f"Face {number}: {eyes}: {face_verdict(face)}")
    if result.faces_found > len(result.faces):
        lines.append(f"({result.faces_found - len(result.faces)} smaller faces not shown)")
    if len(result.faces) > 1:
        lines.append(f"Overall: {group_verdict(result.faces)}")
    if all(face.too_small for face in result.faces):
        lines.append(MIN_EYE_HINT.format(pixels=MIN_EYE_PX))
    else:
        lines.append(SIDES_HINT)
    return "\n".join(lines)


def format_reply(result: EyeVerdict | PhotoResult) -> str:
    """The text answering one image: ``Open — 97% sure`` for an eye; a line per face for a photo."""
    if isinstance(result, PhotoResult):
        return describe_photo(result)
    return sure(result.p_open, result.is_open)


def unreadable_image(reason: str) -> str:
    """Explain why the classifier could not read an image (its ``ValueError`` message) to a person."""
    reason = reason.strip() or "it could not be decoded"
    reason = reason[0].upper() + reason[1:] + ("" if reason.endswith((".", "!", "?")) else ".")
    return f"I couldn't read that image. {reason}\nPlease send a JPEG or PNG photo of an eye."


_DOCUMENT_KINDS = {
    "application/pdf": "a PDF document",
    "application/zip": "a ZIP archive",
    "video/": "a video file",
    "audio/": "an audio file",
    "text/": "a text file",
}


def not_an_image(mime_type: str | None) -> str:
    """Reply to a document that is not an image (a PDF, a ZIP, a video file…)."""
    mime_type = (mime_type or "").lower()
    kind = next((name for prefix, name in _DOCUMENT_KINDS.items() if mime_type.startswith(prefix)), None)
    kind = kind or (f"a file of type {mime_type}" if mime_type else "a file of unknown type")
    return f"That's {kind}, not an image. {WHAT_I_ACCEPT}"


# The first attribute a message has decides how we name it in the reply.
_KINDS = (
    ("sticker", "a sticker"),
    ("animation", "an animation"),
    ("video", "a video"),
    ("video_note", "a video message"),
    ("voice", "a voice message"),
    ("audio", "an audio file"),
    ("location", "a location"),
    ("venue", "a location"),
    ("contact", "a contact"),
    ("poll", "a poll"),
    ("dice", "a dice"),
    ("text", "a text message"),
)


def not_a_picture(message: Message) -> str:
    """Reply to anything that is neither a photo nor a document: say what it was and what the bot takes."""
    kind = next((name for attribute, name in _KINDS if getattr(message, attribute, None)), "a message")
    return f"That's {kind}. {WHAT_I_ACCEPT} Send /help for more."
