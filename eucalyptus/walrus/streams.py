"""The upload body source Walrus hands to ``PayloadReader``: aiohttp's buffers, uncopied.

``BodySource(stream)`` is a ``payload.Source`` whose ``some()`` returns the next buffer the
socket delivered exactly as received (aiohttp's ``readchunk``), where ``readany`` would join
everything buffered into one new bytes object. A large upload thus crosses the loop with one
copy (the kernel's, into the received bytes) and reaches the hashing and writing threads as
the very objects the transport read. ``some()`` returns ``b""`` only at the end of the body.
"""
from __future__ import annotations

from eucalyptus.aws.auth.payload import Source


class BodySource(Source):
    async def some(self) -> bytes:
        readchunk = getattr(self.stream, "readchunk", None)
        if readchunk is None:
            return await super().some()
        while True:
            data, end_of_http_chunk = await readchunk()
            if data or not end_of_http_chunk:    # (b"", True) only marks a chunk boundary
                return data
