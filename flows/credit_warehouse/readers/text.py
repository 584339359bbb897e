"""Bytes to text: encoding detection and the line-aware UTF-8/GB18030 decoder pyarrow reads through."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import IO, Any

from charset_normalizer import from_bytes

from credit_warehouse.readers.common import BLOCK_BYTES, FileRejected


def decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def sniff_encoding(head: bytes) -> str:
    """utf-8, utf-8-sig, gb18030 (decoded by line when needed), or another codec charset-normalizer finds."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[: head.rfind(b"\n") + 1] or head
    if b"\x00" not in sample:  # NUL is valid UTF-8 but means UTF-16/32 in a text export
        if decodes(sample, "utf-8"):  # then so does every line: the count below would say UTF-8, line by line
            return "utf-8"
        lines = [line for line in sample.splitlines() if not line.isascii()]
        utf8 = sum(1 for line in lines if decodes(line, "utf-8"))
        gb = sum(1 for line in lines if not decodes(line, "utf-8") and decodes(line, "gb18030"))
        if utf8 + gb >= len(lines) / 2:  # mostly text in the two encodings Chinese systems export
            return "utf-8" if utf8 >= gb else "gb18030"
    best = from_bytes(head).best()
    if best is None:
        raise FileRejected("undecodable_text", "bytes are neither UTF-8 nor GB18030 nor any detectable encoding")
    return best.encoding


def blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """Blocks of whole lines (cut after a newline); the last block may lack its newline."""
    carry = b""
    while chunk := stream.read(BLOCK_BYTES):
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
            carry = data[cut:]
        else:  # a line longer than a block
            carry = data
    if carry:
        yield carry


class LineDecoder:
    """Bytes -> text, line by line where a whole block will not do: UTF-8 first, then GB18030.

    Why by hand: a department system sometimes appends GBK lines to a UTF-8 export (or the
    reverse), and one codec for the whole file (pyarrow's transcoding, charset-normalizer's guess)
    then fails or turns part of the file into mojibake. UTF-8 is tried first because it is strict (a
    GBK line practically never passes as UTF-8) while GB18030 accepts most byte pairs. In a UTF-8
    file a failing line is decoded field by field, so one GBK-typed field does not garble its
    neighbours. A line neither encoding reads keeps replacement characters and is reported.
    Blocks that decode whole (the normal case) take the fast path: one C decode per block.
    """

    def __init__(self, primary: str, delimiter: str = ",") -> None:
        self.primary = primary
        self.delimiter = delimiter.encode()
        self.gb18030_lines = 0  # lines decoded as GB18030 in a UTF-8 file
        self.utf8_lines = 0  # non-ASCII UTF-8 lines in a GB18030 file
        self.bad_lines = 0
        self.final_newline = True
        self._wrapped = primary not in ("utf-8", "utf-8-sig", "gb18030")
        self._incremental = codecs.getincrementaldecoder(primary)() if self._wrapped else None

    def utf8_blocks(self, stream: IO[bytes]) -> Iterator[bytes]:
        """The file as blocks of UTF-8 bytes (whole lines, except with a wrapped codec)."""
        first = True
        for block in blocks(stream):
            if first and block.startswith(codecs.BOM_UTF8) and not self._wrapped:
                block = block[len(codecs.BOM_UTF8):]
            first = False
            self.final_newline = block.endswith(b"\n")
            text = self.decode_block(block)
            yield block if text is None else text.encode("utf-8")

    def decode_block(self, block: bytes) -> str | None:
        """The block's text, or None when the block is valid UTF-8 already (no copy needed)."""
        if self._incremental is not None:  # UTF-16 exports of Excel, Big5...: one codec throughout
            try:
                return self._incremental.decode(block)
            except UnicodeDecodeError as exc:
                raise FileRejected("undecodable_text", f"not {self.primary}: {exc}") from exc
        if decodes(block, "utf-8"):
            if self.primary == "gb18030" and not block.isascii():
                self.utf8_lines += sum(1 for line in block.split(b"\n") if not line.isascii())
            return None
        if self.primary == "gb18030":
            try:
                text = block.decode("gb18030")
            except UnicodeDecodeError:
                pass
            else:
                if not self._has_utf8_line(block):
                    return text
        return "".join(self.decode_line(line) for line in io.BytesIO(block))

    @staticmethod
    def _has_utf8_line(block: bytes) -> bool:
        """Whether a block that decodes as GB18030 holds UTF-8 lines (which GB18030 would garble)."""
        return any(not line.isascii() and decodes(line, "utf-8") for line in block.split(b"\n"))

    def decode_line(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if self.primary == "gb18030" and not raw.isascii():
                self.utf8_lines += 1
            return text
        if self.primary == "gb18030":
            try:
                return raw.decode("gb18030")
            except UnicodeDecodeError:
                pass
        return self._by_field(raw)

    def _by_field(self, raw: bytes) -> str:
        """Each field in the encoding it reads in; a field neither reads keeps replacement characters."""
        parts, gb18030, bad = [], False, False
        for part in raw.split(self.delimiter):
            try:
                parts.append(part.decode("utf-8"))
                continue
            except UnicodeDecodeError:
                pass
            try:
                parts.append(part.decode("gb18030"))
                gb18030 = True
            except UnicodeDecodeError:
                parts.append(part.decode("utf-8", errors="replace"))
                bad = True
        self.gb18030_lines += gb18030 and self.primary != "gb18030"
        self.bad_lines += bad
        return self.delimiter.decode().join(parts)

    def notes(self) -> dict[str, str]:
        notes = {}
        if self.gb18030_lines:
            notes["mixed_encoding"] = f"{self.gb18030_lines} line(s) in GB18030 in a UTF-8 file, decoded line by line"
        if self.utf8_lines:
            notes["mixed_encoding"] = f"{self.utf8_lines} line(s) in UTF-8 in a GB18030 file, decoded line by line"
        if self.bad_lines:
            notes["undecodable_lines"] = f"{self.bad_lines} line(s) neither UTF-8 nor GB18030"
        return notes


def text_lines(decoder: LineDecoder, stream: IO[bytes]) -> Iterator[str]:
    for block in decoder.utf8_blocks(stream):
        yield from io.StringIO(block.decode("utf-8"), newline="\n")


class Utf8Source(io.RawIOBase):
    """The file as UTF-8 bytes for pyarrow, without its first ``skip_lines`` lines (title, header)."""

    def __init__(self, stream: IO[bytes], decoder: LineDecoder, skip_lines: int) -> None:
        super().__init__()
        self._blocks = decoder.utf8_blocks(stream)
        self._skip = skip_lines
        self._buffer = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _next_block(self) -> bytes:
        block = next(self._blocks)
        while self._skip and block:
            cut = block.find(b"\n") + 1
            if not cut:  # the rest of this block belongs to a skipped line
                return b""
            block, self._skip = block[cut:], self._skip - 1
        return block

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._buffer):
            try:
                self._buffer, self._offset = self._next_block(), 0
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._buffer) - self._offset)
        buffer[:size] = self._buffer[self._offset:self._offset + size]
        self._offset += size
        return size
