"""Parquet footers: read, shift and merge them, to assemble one file from parts.

A Parquet file is ``PAR1``, its row groups' column chunks, a footer (the
Thrift-encoded FileMetaData), the footer's length and ``PAR1``.  Each row
group is self-contained (its own dictionary pages), so row groups encoded
separately -- on several threads, each into a small in-memory file -- can
be laid end to end in one file: copy each part's bytes between its ``PAR1``
and its footer, shift the byte offsets in its row groups' metadata, and
write one footer listing them all.  The result is what one writer would
have written.

Only the Thrift compact protocol's generic structure is decoded (field ids,
types, values, in order), so every field survives the round trip, known or
not; the offsets shifted are those Parquet defines (format/parquet.thrift).
"""

import struct

MAGIC = b"PAR1"

# Compact protocol types.
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)

# FileMetaData / RowGroup / ColumnChunk / ColumnMetaData field ids (parquet.thrift).
FMD_NUM_ROWS, FMD_ROW_GROUPS, FMD_KEY_VALUE = 3, 4, 5
RG_COLUMNS, RG_FILE_OFFSET, RG_ORDINAL = 1, 5, 7
CC_FILE_OFFSET, CC_META, CC_OFFSET_INDEX, CC_COLUMN_INDEX = 2, 3, 4, 6
CMD_OFFSETS = (9, 10, 11, 14)     # data page, index page, dictionary page, bloom filter
KV_KEY, KV_VALUE = 1, 2


class FooterError(ValueError):
    """A part's footer could not be read."""


# ----------------------------------------------------------------- decoding

def _varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise FooterError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _zigzag(n):
    return (n >> 1) ^ -(n & 1)


def _value(buf, pos, ttype):
    if ttype == TRUE:
        return True, pos
    if ttype == FALSE:
        return False, pos
    if ttype == BYTE:
        return struct.unpack_from("<b", buf, pos)[0], pos + 1
    if ttype in (I16, I32, I64):
        n, pos = _varint(buf, pos)
        return _zigzag(n), pos
    if ttype == DOUBLE:
        return struct.unpack_from("<d", buf, pos)[0], pos + 8
    if ttype == BINARY:
        n, pos = _varint(buf, pos)
        return bytes(buf[pos:pos + n]), pos + n
    if ttype in (LIST, SET):
        head = buf[pos]
        pos += 1
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size, pos = _varint(buf, pos)
        items = []
        for _ in range(size):
            if etype in (TRUE, FALSE):       # booleans in a collection: one byte each
                items.append(buf[pos] == TRUE)
                pos += 1
            else:
                item, pos = _value(buf, pos, etype)
                items.append(item)
        return (etype, items), pos
    if ttype == MAP:
        size, pos = _varint(buf, pos)
        kinds = 0
        if size:
            kinds = buf[pos]
            pos += 1
        items = []
        for _ in range(size):
            k, pos = _value(buf, pos, kinds >> 4)
            v, pos = _value(buf, pos, kinds & 0x0F)
            items.append((k, v))
        return (kinds, items), pos
    if ttype == STRUCT:
        return _struct(buf, pos)
    raise FooterError(f"unknown Thrift type {ttype}")


def _struct(buf, pos):
    fields = []
    last = 0
    while True:
        if pos >= len(buf):
            raise FooterError("truncated struct")
        head = buf[pos]
        pos += 1
        if head == STOP:
            return fields, pos
        ttype = head & 0x0F
        delta = head >> 4
        if delta:
            fid = last + delta
        else:
            n, pos = _varint(buf, pos)
            fid = _zigzag(n)
        value, pos = _value(buf, pos, ttype)
        fields.append([fid, ttype, value])
        last = fid


def decode(buf):
    """A Thrift compact struct as a list of ``[field id, type, value]``."""
    fields, _ = _struct(memoryview(buf).tobytes() if not isinstance(buf, bytes) else buf, 0)
    return fields


# ----------------------------------------------------------------- encoding

def _put_varint(out, n):
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _put_value(out, ttype, value):
    if ttype in (TRUE, FALSE):
        return                               # in a field header
    if ttype == BYTE:
        out += struct.pack("<b", value)
    elif ttype in (I16, I32, I64):
        _put_varint(out, (value << 1) ^ (value >> 63))
    elif ttype == DOUBLE:
        out += struct.pack("<d", value)
    elif ttype == BINARY:
        _put_varint(out, len(value))
        out += value
    elif ttype in (LIST, SET):
        etype, items = value
        if len(items) < 15:
            out.append((len(items) << 4) | etype)
        else:
            out.append(0xF0 | etype)
            _put_varint(out, len(items))
        for item in items:
            if etype in (TRUE, FALSE):
                out.append(TRUE if item else FALSE)
            else:
                _put_value(out, etype, item)
    elif ttype == MAP:
        kinds, items = value
        _put_varint(out, len(items))
        if items:
            out.append(kinds)
        for k, v in items:
            _put_value(out, kinds >> 4, k)
            _put_value(out, kinds & 0x0F, v)
    elif ttype == STRUCT:
        if isinstance(value, bytes):          # already encoded (see encode)
            out += value
        else:
            _put_struct(out, value)
    else:
        raise FooterError(f"unknown Thrift type {ttype}")


def _put_struct(out, fields):
    last = 0
    for fid, ttype, value in fields:
        if ttype in (TRUE, FALSE):
            ttype = TRUE if value else FALSE
        delta = fid - last
        if 0 < delta <= 15:
            out.append((delta << 4) | ttype)
        else:
            out.append(ttype)
            _put_varint(out, (fid << 1) ^ (fid >> 15))
        _put_value(out, ttype, value)
        last = fid
    out.append(STOP)


def encode(fields):
    """Bytes of a struct from :func:`decode`'s form (a nested struct may be given as its bytes)."""
    out = bytearray()
    _put_struct(out, fields)
    return bytes(out)


# ----------------------------------------------------------------- parts

def _field(fields, fid):
    for f in fields:
        if f[0] == fid:
            return f
    return None


def split(part):
    """``(body, footer fields)`` of a complete Parquet file in memory: the bytes between its
    leading PAR1 and its footer, and the decoded FileMetaData."""
    part = memoryview(part)
    if len(part) < 12 or part[:4] != MAGIC or part[-4:] != MAGIC:
        raise FooterError("not a Parquet file")
    length = struct.unpack_from("<I", part, len(part) - 8)[0]
    start = len(part) - 8 - length
    if start < 4:
        raise FooterError("footer length out of range")
    return part[4:start], decode(part[start:len(part) - 8].tobytes())


def shift_row_groups(footer, delta, first_ordinal):
    """The footer's row groups with every byte offset moved by ``delta`` and ordinals from ``first_ordinal``.

    Each is ``(rows, encoded struct)``: a writer keeps thousands of them.
    """
    f = _field(footer, FMD_ROW_GROUPS)
    groups = f[2][1] if f else []
    for i, group in enumerate(groups):
        for field in group:
            if field[0] == RG_FILE_OFFSET:
                field[2] += delta
            elif field[0] == RG_ORDINAL:
                field[2] = first_ordinal + i
        columns = _field(group, RG_COLUMNS)
        for chunk in (columns[2][1] if columns else []):
            for field in chunk:
                # (Arrow writes 0 in the deprecated ColumnChunk.file_offset: left so.)
                if field[0] in (CC_FILE_OFFSET, CC_OFFSET_INDEX, CC_COLUMN_INDEX) and field[2]:
                    field[2] += delta
                elif field[0] == CC_META:
                    for meta in field[2]:
                        if meta[0] in CMD_OFFSETS:
                            meta[2] += delta
    return [(_field(g, 3)[2], encode(g)) for g in groups]


def merged_footer(template, row_groups, extra_metadata=None):
    """FileMetaData bytes: ``template``'s (schema, creator, key-value metadata) over all ``row_groups``
    (from :func:`shift_row_groups`).

    ``extra_metadata`` ({bytes: bytes}) is added to, or replaces in, the
    key-value metadata, first (where pyarrow's writer puts its caller's).
    """
    fields = [list(f) for f in template]
    rows = sum(n for n, _ in row_groups)
    have = {f[0] for f in fields}
    if FMD_ROW_GROUPS not in have:
        fields.append([FMD_ROW_GROUPS, LIST, (STRUCT, [])])
    if FMD_KEY_VALUE not in have and extra_metadata:
        fields.append([FMD_KEY_VALUE, LIST, (STRUCT, [])])
    fields.sort(key=lambda f: f[0])
    for f in fields:
        if f[0] == FMD_NUM_ROWS:
            f[2] = rows
        elif f[0] == FMD_ROW_GROUPS:
            f[2] = (STRUCT, [g for _, g in row_groups])
        elif f[0] == FMD_KEY_VALUE and extra_metadata:
            # As pyarrow's writer: the caller's pairs, then its own (ARROW:schema).
            kvs = [[[KV_KEY, BINARY, k], [KV_VALUE, BINARY, v]] for k, v in extra_metadata.items()]
            kvs += [kv for kv in f[2][1] if _field(kv, KV_KEY)[2] not in extra_metadata]
            f[2] = (STRUCT, kvs)
    return encode(fields)
