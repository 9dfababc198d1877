"""GBNF expressions for JSON numbers inside a range (pure).

``int_range(lo, hi)`` matches exactly the canonical decimal integers in ``[lo, hi]`` (either
bound may be open-ended); ``number_range(...)`` matches plain decimals (no exponent) in a range
whose bounds may be inclusive or exclusive and need not be integers. The construction splits a
range by digit count and then digit by digit, the way one writes a regular expression for a
numeric range by hand: the language is finite-state, so the grammar holds the bound exactly
instead of checking it afterwards.
"""

from __future__ import annotations

from decimal import Decimal

from inference.engine.format_error import FormatError

# Digits allowed where a bound does not limit them (as llama.cpp's converter: 16 significant).
MAX_DIGITS = 16
FRACTION_ANY = f'("." [0-9]{{1,{MAX_DIGITS - 1}}})?'


def _alt(parts: list[str]) -> str:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _digit_class(lo: str, hi: str) -> str:
    return f"[{lo}]" if lo == hi else f"[{lo}-{hi}]"


def _lit(digits: str) -> str:
    return f'"{digits}"'


def _same_length(x: str, y: str) -> str:
    """Digit strings of len(x) == len(y) between x and y (inclusive), leading zeros allowed."""
    if x == y:
        return _lit(x)
    if len(x) == 1:
        return _digit_class(x, y)
    if x[0] == y[0]:
        return f"{_lit(x[0])} {_same_length(x[1:], y[1:])}"
    rest = len(x) - 1
    low_full = set(x[1:]) == {"0"}
    high_full = set(y[1:]) == {"9"}
    parts = []
    if not low_full:
        parts.append(f"{_lit(x[0])} {_same_length(x[1:], '9' * rest)}")
    first = x[0] if low_full else chr(ord(x[0]) + 1)
    last = y[0] if high_full else chr(ord(y[0]) - 1)
    if first <= last:
        parts.append(f"{_digit_class(first, last)} [0-9]{{{rest}}}")
    if not high_full:
        parts.append(f"{_lit(y[0])} {_same_length('0' * rest, y[1:])}")
    return _alt(parts)


def nonnegative_int_range(a: int, b: int | None) -> str | None:
    """Canonical decimals (no leading zeros) of the integers in [a, b], a >= 0; None if empty."""
    if b is not None and a > b:
        return None
    la = len(str(a))
    parts = []
    if b is None:
        parts.append(_same_length(str(a), "9" * la))
        longest = max(MAX_DIGITS, la + 1)
        parts.append(f"[1-9] [0-9]{{{la},{longest - 1}}}")
    else:
        lb = len(str(b))
        for length in range(la, lb + 1):
            low = a if length == la else 10 ** (length - 1)
            high = b if length == lb else 10 ** length - 1
            parts.append(_same_length(str(low), str(high)))
    return _alt(parts)


def int_range(lo: int | None, hi: int | None) -> str:
    """Canonical JSON integers in [lo, hi] (None = unbounded). FormatError if the range is empty."""
    if lo is not None and hi is not None and lo > hi:
        raise FormatError(f"no integer satisfies minimum {lo} and maximum {hi}")
    parts = []
    if lo is None or lo < 0:
        low_abs = 1 if hi is None or hi >= 0 else -hi
        high_abs = None if lo is None else -lo
        neg = nonnegative_int_range(low_abs, high_abs)
        if neg is not None:
            parts.append(f'"-" {neg}')
    if hi is None or hi >= 0:
        pos = nonnegative_int_range(max(lo, 0) if lo is not None else 0, hi)
        if pos is not None:
            parts.append(pos)
    return _alt(parts)


# --------------------------------------------------------------------------- decimal ranges

def _split(value: Decimal) -> tuple[int, str]:
    """A non-negative decimal -> (integer part, fraction digits without trailing zeros)."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    return int(whole), frac.rstrip("0")


def _zero_ok(lo, lo_incl, hi, hi_incl) -> bool:
    """Does the fraction 0.(nothing) = 0 satisfy lo <= . <= hi (digit-string bounds)?"""
    if lo is not None and (lo != "" or not lo_incl):
        return False
    if hi is not None and hi == "" and not hi_incl:
        return False
    return True


def _fraction_digits(lo, lo_incl, hi, hi_incl, allow_empty: bool, budget: int) -> str | None:
    """Digit strings D (fraction digits) with 0.lo <= 0.D <= 0.hi (or strict). ``lo``/``hi``
    are digit strings without trailing zeros, None = no bound. None if nothing matches."""
    if lo == "" and lo_incl:
        lo = None
    if budget <= 0:
        return '""' if allow_empty and _zero_ok(lo, lo_incl, hi, hi_incl) else None
    if lo is None and hi is None:
        return f"[0-9]{{{0 if allow_empty else 1},{budget}}}"
    if hi == "":
        if not hi_incl:
            return None
        # only zeros; a lower bound > 0 (or a strict 0) cannot be met then
        if lo is not None:
            return None
        return f'"0"{{{0 if allow_empty else 1},{budget}}}'
    if lo == "" and not lo_incl and hi is None:  # > 0: some non-zero digit
        return f'"0"{{0,{budget - 1}}} [1-9] [0-9]{{0,{budget - 1}}}'
    l1 = None if lo is None else (lo[0] if lo else "0")
    lo_rest = None if lo is None else (lo[1:] if lo else "")
    h1 = None if hi is None else hi[0]
    hi_rest = None if hi is None else hi[1:]
    groups: list[tuple[str, str, tuple]] = []  # (first digit, last digit, state of the rest)
    for d in "0123456789":
        if l1 is not None and d < l1:
            continue
        if h1 is not None and d > h1:
            continue
        lo_state = (lo_rest, lo_incl) if l1 is not None and d == l1 else (None, True)
        hi_state = (hi_rest, hi_incl) if h1 is not None and d == h1 else (None, True)
        state = (lo_state, hi_state)
        if groups and groups[-1][2] == state and ord(groups[-1][1]) + 1 == ord(d):
            groups[-1] = (groups[-1][0], d, state)
        else:
            groups.append((d, d, state))
    parts = []
    if allow_empty and _zero_ok(lo, lo_incl, hi, hi_incl):
        parts.append('""')
    for first, last, ((rlo, rlo_incl), (rhi, rhi_incl)) in groups:
        rest = _fraction_digits(rlo, rlo_incl, rhi, rhi_incl, True, budget - 1)
        if rest is None:
            continue
        head = _digit_class(first, last)
        parts.append(head if rest == '""' else f"{head} {rest}")
    return _alt(parts)


def _fraction(lo, lo_incl, hi, hi_incl) -> str | None:
    """The optional ``"." digits`` part after an integer part, for the fraction bounds."""
    digits = _fraction_digits(lo, lo_incl, hi, hi_incl, False, MAX_DIGITS - 1)
    zero = _zero_ok(lo, lo_incl, hi, hi_incl)
    if digits is None:
        return '""' if zero else None
    return f'("." {digits})?' if zero else f'"." {digits}'


def _nonnegative_number(a: Decimal, a_incl: bool, b: Decimal | None, b_incl: bool) -> str | None:
    ia, fa = _split(a)
    parts = []

    def whole(i: int, frac: str | None):
        if frac is not None:
            parts.append(_lit(str(i)) if frac == '""' else f"{_lit(str(i))} {frac}")

    if b is None:
        whole(ia, _fraction(fa, a_incl, None, True))
        parts.append(f"{nonnegative_int_range(ia + 1, None)} {FRACTION_ANY}")
        return _alt(parts)
    ib, fb = _split(b)
    if ia == ib:
        whole(ia, _fraction(fa, a_incl, fb, b_incl))
        return _alt(parts)
    if ia > ib:
        return None
    whole(ia, _fraction(fa, a_incl, None, True))
    middle = nonnegative_int_range(ia + 1, ib - 1)
    if middle is not None:
        parts.append(f"{middle} {FRACTION_ANY}")
    whole(ib, _fraction(None, True, fb, b_incl))
    return _alt(parts)


def number_range(lo: Decimal | None, lo_incl: bool, hi: Decimal | None, hi_incl: bool) -> str:
    """Plain JSON decimals (no exponent) x with lo <= x <= hi (< / > when not *_incl)."""
    parts = []
    if lo is None or lo < 0:
        if hi is not None and hi < 0:
            low_abs, low_incl = -hi, hi_incl
        else:
            low_abs, low_incl = Decimal(0), False  # never "-0"
        neg = _nonnegative_number(low_abs, low_incl, None if lo is None else -lo, lo_incl)
        if neg is not None:
            parts.append(f'"-" {neg}')
    if hi is None or hi > 0 or (hi == 0 and hi_incl):
        if lo is not None and lo >= 0:
            pos = _nonnegative_number(lo, lo_incl, hi, hi_incl)
        else:
            pos = _nonnegative_number(Decimal(0), True, hi, hi_incl)
        if pos is not None:
            parts.append(pos)
    expr = _alt(parts)
    if expr is None:
        raise FormatError(f"no number satisfies the range {_describe(lo, lo_incl, hi, hi_incl)}")
    return expr


def _describe(lo, lo_incl, hi, hi_incl) -> str:
    left = "(-inf" if lo is None else ("[" if lo_incl else "(") + str(lo)
    right = "inf)" if hi is None else str(hi) + ("]" if hi_incl else ")")
    return f"{left}, {right}"
