"""What a seal registration, an abolition or a certificate request carries."""

from __future__ import annotations

import base64
import binascii
import warnings
from datetime import date
from io import BytesIO

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, field_validator

ATENA_NO = r"^[0-9]{15}$"
PNG = b"\x89PNG\r\n\x1a\n"
MAX_PNG = 512_000
MAX_SIDE = 2_000
"""A seal of 25 mm scanned at 1,200 dpi is about 1,200 pixels a side."""
STORED_SIDE = 800
"""Impressions are stored at most this size: the certificate prints one at 25 mm."""


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def normalized_png(data: bytes) -> bytes:
    """The impression decoded within bounds and written again as a plain PNG of at most
    ``STORED_SIDE`` pixels a side, so that a certificate only ever decodes what was
    written here. A damaged file, or one whose pixels would not fit the bounds (a
    decompression bomb: a small file of a huge image), is refused before decoding."""
    if not data.startswith(PNG) or len(data) > MAX_PNG:
        raise ValueError("印影の画像は 500KB までの PNG にしてください")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                width, height = image.size
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise ValueError(f"印影の画像が大きすぎます ({width}×{height} 画素; "
                                     f"{MAX_SIDE}×{MAX_SIDE} 画素まで)")
                image.load()
                picture = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError("印影の画像が大きすぎます (展開すると上限を超えます)") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValueError("印影の画像が PNG として読めません") from None
    picture.thumbnail((STORED_SIDE, STORED_SIDE))
    out = BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


class SealRegistrationIn(Input):
    atena_no: str = Field(pattern=ATENA_NO)
    registered_on: date
    impression_text: str = Field(min_length=1, max_length=8, description="印影の文字")
    impression_png_base64: str | None = Field(default=None, max_length=4 * (MAX_PNG // 3 + 1),
                                              description="印影の画像 (PNG)")

    @field_validator("impression_png_base64")
    @classmethod
    def _png(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("印影の画像が base64 ではありません") from None
        return base64.b64encode(normalized_png(data)).decode("ascii")

    def png(self) -> bytes | None:
        return base64.b64decode(self.impression_png_base64) if self.impression_png_base64 \
            else None


class AbolishIn(Input):
    abolished_on: date
    reason: str = Field(min_length=1, max_length=200)


class SealCertificateRequest(Input):
    purpose: str = Field(min_length=1, max_length=200)
