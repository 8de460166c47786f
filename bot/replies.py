"""Everything the bot says to people, in one place.

Verdicts go through ``format_reply`` only, so a later mode (e.g. one line per face and eye from a whole photo) can
add its own result type there without touching the handlers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from telegram import Message

from classifier.photo import PhotoResult

MAX_DOWNLOAD_MB = 20  # Telegram's Bot API refuses to hand bots files larger than this

HELP = (
    "Hi! I tell whether eyes are open or closed.\n"
    "\n"
    "Send me a photo: a selfie, a portrait or a group photo (I judge each face's eyes, up to 10 faces), "
    "or a close-up of one eye. For full resolution, send the image as a file instead "
    "(JPEG, PNG, WebP, GIF, BMP or TIFF). You can send several at once: each gets its own answer.\n"
    "\n"
    "For one eye the answer looks like “Open — 97% sure”: the verdict, and how confident the model is in it "
    "(50% is a coin toss). For a face: “Face 1: left eye open (98%), right eye closed (93%)”, "
    "left and right as the person sees them.\n"
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


@dataclass(frozen=True)
class EyeVerdict:
    """What the classifier said about one eye image."""

    is_open: bool  # from classifier.openEyeCheck
    p_open: float  # from classifier.open_probability

    @property
    def confidence(self) -> float:
        """Probability of the verdict given, in [0, 1] (≥ 0.5 unless the two calls disagree)."""
        return self.p_open if self.is_open else 1.0 - self.p_open


def percent(confidence: float) -> int:
    """Whole percent, rounded down so the bot never says "100% sure" about a probability below 1."""
    return max(0, min(100, math.floor(confidence * 100 + 1e-9)))


def format_reply(result: EyeVerdict | PhotoResult) -> str:
    """The text answering one image: ``Open — 97% sure`` for an eye; one line per face and eye for a photo."""
    if isinstance(result, PhotoResult):
        return result.describe()
    label = "Open" if result.is_open else "Closed"
    return f"{label} — {percent(result.confidence)}% sure"


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
