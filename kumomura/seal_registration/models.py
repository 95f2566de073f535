"""What a seal registration, an abolition or a certificate request carries."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from io import BytesIO

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, field_validator

ATENA_NO = r"^[0-9]{15}$"
PNG = b"\x89PNG\r\n\x1a\n"
MAX_PNG = 512_000


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _decodes(data: bytes) -> bool:
    """Whether the PNG reads as an image: a damaged one would be stored and then fail
    every certificate printed from it."""
    try:
        with Image.open(BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


class SealRegistrationIn(Input):
    atena_no: str = Field(pattern=ATENA_NO)
    registered_on: date
    impression_text: str = Field(min_length=1, max_length=8, description="印影の文字")
    impression_png_base64: str | None = Field(default=None, description="印影の画像 (PNG)")

    @field_validator("impression_png_base64")
    @classmethod
    def _png(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("印影の画像が base64 ではありません") from None
        if not data.startswith(PNG) or len(data) > MAX_PNG or not _decodes(data):
            raise ValueError("印影の画像は 500KB までの PNG にしてください")
        return value

    def png(self) -> bytes | None:
        return base64.b64decode(self.impression_png_base64) if self.impression_png_base64 \
            else None


class AbolishIn(Input):
    abolished_on: date
    reason: str = Field(min_length=1, max_length=200)


class SealCertificateRequest(Input):
    purpose: str = Field(min_length=1, max_length=200)
