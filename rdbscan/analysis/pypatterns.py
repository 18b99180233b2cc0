"""Pure-Python twin of the key pattern inference in ``rdbscan.analysis._patterns``.

The rules (the compiled twin follows them byte for byte; the tests compare):

1. The key is split at its *hard* delimiters (the configured ones other than
   ``.``, ``-`` and ``_``; by default ``:``, ``/`` and ``|``) into segments.
2. A whole segment that is a UUID (8-4-4-4-12 hex digits), a dotted IPv4
   address, an e-mail address, or an ISO date / date-time
   (``YYYY-MM-DD`` with a month 01-12 and a day 01-31, optionally with
   ``T`` or a space and a time whose colons do not split it) becomes ``{uuid}``, ``{ip}``, ``{email}`` or
   ``{date}``.
3. Otherwise the segment is split at its *soft* delimiters (the configured
   ones among ``.``, ``-``, ``_``) into tokens, and each token is classified:
   decimal digits of a Unix time in seconds (10 digits, 1e9 up to 2e9) or
   milliseconds (13 digits, 1e12 up to 2e12) become ``{ts}``, other
   digit runs ``{id}`` (a leading ``-`` stays literal); hex strings of at least
   8 characters with both a digit and a letter a-f become ``{hex}``; letters
   and digits mixed, at least 16 long (session tokens, base64-ish ids), and
   letters alone at least 20 long whose case flips at least once every three
   characters (random tokens without a digit; camelCase names flip far
   less), become ``{token}``; anything else is kept as written.
4. With ``depth`` > 0 the pattern keeps its first ``depth`` segments and ends
   in ``*`` when there were more (``user:{id}:profile`` at depth 1 is
   ``user:*``).

Keys are the ``key`` column's text (non-UTF-8 bytes already escaped).
"""

DEFAULT_DELIMITERS = ":/|.-_"

INFERENCE_VERSION = 2
"""Bumped whenever the rules above change: stored patterns of another version are inferred again.
(Kept here, with the rules and without pyarrow: a fleet rerun's fingerprint records it.)"""

SOFT = ".-_"


def split_delimiters(delimiters):
    """(hard, soft) delimiter strings from the configured set."""
    hard = "".join(c for c in delimiters if c not in SOFT)
    soft = "".join(c for c in delimiters if c in SOFT)
    return hard, soft


def _hexch(c):
    return c in "0123456789abcdefABCDEF"


def _is_uuid(s):
    if len(s) != 36:
        return False
    for i, c in enumerate(s):
        if i in (8, 13, 18, 23):
            if c != "-":
                return False
        elif not _hexch(c):
            return False
    return True


def _is_ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not (1 <= len(p) <= 3) or not all("0" <= c <= "9" for c in p) or int(p) > 255:
            return False
    return True


def _is_email(s):
    at = s.find("@")
    if at <= 0 or s.count("@") != 1:
        return False
    domain = s[at + 1:]
    dot = domain.rfind(".")
    if dot <= 0 or dot == len(domain) - 1:
        return False
    return all(c.isascii() and (c.isalnum() or c in ".-_+%") for c in s[:at]) and \
        all(c.isascii() and (c.isalnum() or c in ".-") for c in domain)


def _digits(s, start, n):
    return len(s) >= start + n and all("0" <= c <= "9" for c in s[start:start + n])


def datetime_length(s, start, hard):
    """Length of an ISO date / date-time at ``s[start:]`` ending at a hard delimiter or the end, else 0.

    ``YYYY-MM-DD``, then optionally ``T`` or a space, ``HH``, ``:MM``,
    ``:SS``, ``.fraction``, and a zone ``Z`` or ``+HH[:MM]`` / ``-HH[:MM]``;
    read greedily (the compiled twin does the same, without backtracking).
    """
    n = len(s)
    i = start
    if n - i < 10 or not (_digits(s, i, 4) and s[i + 4] == "-" and _digits(s, i + 5, 2) and s[i + 7] == "-"
            and _digits(s, i + 8, 2)):
        return 0
    if not ("01" <= s[i + 5:i + 7] <= "12" and "01" <= s[i + 8:i + 10] <= "31"):
        return 0
    i += 10
    if i + 3 <= n and s[i] in "T " and _digits(s, i + 1, 2):
        i += 3
        for _ in range(2):                      # :MM, :SS
            if i + 3 <= n and s[i] == ":" and _digits(s, i + 1, 2):
                i += 3
            else:
                break
        if i + 2 <= n and s[i] == "." and _digits(s, i + 1, 1):
            i += 1
            while i < n and "0" <= s[i] <= "9":
                i += 1
        if i < n and s[i] == "Z":
            i += 1
        elif i + 3 <= n and s[i] in "+-" and _digits(s, i + 1, 2):
            i += 3
            if i + 3 <= n and s[i] == ":" and _digits(s, i + 1, 2):
                i += 3
            elif _digits(s, i, 2):
                i += 2
    return i - start if i == n or s[i] in hard else 0


def _case_changes(t):
    # letters whose case differs from the previous letter's (digits are skipped)
    changes, prev = 0, None
    for c in t:
        if c.isascii() and c.isalpha():
            up = c.isupper()
            if prev is not None and up != prev:
                changes += 1
            prev = up
    return changes


def _token(t):
    n = len(t)
    if n == 0:
        return t
    digits = sum(1 for c in t if "0" <= c <= "9")
    if digits == n:
        if n == 10 and "1000000000" <= t < "2000000000":
            return "{ts}"
        if n == 13 and "1000000000000" <= t < "2000000000000":
            return "{ts}"
        return "{id}"
    if n >= 8 and digits and all(_hexch(c) for c in t):
        return "{hex}"
    alnum = all(c.isascii() and c.isalnum() for c in t)
    if n >= 16 and digits and alnum:
        return "{token}"
    if n >= 20 and alnum and 3 * _case_changes(t) >= n:   # random letters: the case flips often
        return "{token}"
    return t


def _segment(seg, soft):
    if _is_uuid(seg):
        return "{uuid}"
    if _is_ipv4(seg):
        return "{ip}"
    if _is_email(seg):
        return "{email}"
    if not soft:
        return _token(seg)
    out, start = [], 0
    for i, c in enumerate(seg):
        if c in soft:
            out.append(_token(seg[start:i]))
            out.append(c)
            start = i + 1
    out.append(_token(seg[start:]))
    return "".join(out)


def key_pattern(key, delimiters=DEFAULT_DELIMITERS, depth=0):
    """The inferred pattern of one key (see the module docstring)."""
    hard, soft = split_delimiters(delimiters)
    out, segments, i, n = [], 0, 0, len(key)
    while True:                                 # one segment starts at i
        span = datetime_length(key, i, hard)   # a date-time's colons do not split it
        if span:
            out.append("{date}")
            j = i + span
        else:
            j = i
            while j < n and key[j] not in hard:
                j += 1
            out.append(_segment(key[i:j], soft))
        if j == n:
            return "".join(out)
        segments += 1
        if depth and segments == depth:
            out.append(key[j] + "*")
            return "".join(out)
        out.append(key[j])
        i = j + 1


def key_patterns(keys, delimiters=DEFAULT_DELIMITERS, depth=0):
    """:func:`key_pattern` over a pyarrow string array (nulls stay null)."""
    import pyarrow as pa
    return pa.array([None if k is None else key_pattern(k, delimiters, depth)
                     for k in keys.to_pylist()], pa.string())
