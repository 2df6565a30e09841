"""Errors written for people: each says what happened and what to do about it."""

import difflib


class CnnbookError(Exception):
    """Base class of the errors cnnbook raises on purpose."""


class ParameterError(CnnbookError, ValueError):
    """A parameter has a value that is not allowed.

    The message names the parameter, repeats the value given and says what is allowed, e.g.
    ``optimizer='sgdd' is not allowed: choose one of 'sgd', 'adamw' (did you mean 'sgd'?)``.
    """

    def __init__(self, name, value, allowed, *, choices=None):
        self.name, self.value, self.allowed = name, value, allowed
        message = f"{name}={value!r} is not allowed: {allowed}"
        if choices and isinstance(value, str):
            close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
        super().__init__(message)


class DataNotFoundError(CnnbookError, FileNotFoundError):
    """A data set could not be found locally nor downloaded."""


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise a `ParameterError`."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(name, value, f"choose one of {listed}", choices=choices)
    return value


def check_int(name, value, *, minimum=None, maximum=None, allow_none=False):
    """Return ``value`` as an int if it is a whole number in range, else raise `ParameterError`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not _is_whole(value):
        raise ParameterError(name, value, f"{name} must be a whole number{_range(minimum, maximum)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParameterError(name, value, f"{name} must be a whole number{_range(minimum, maximum)}")
    return value


def check_float(name, value, *, minimum=None, maximum=None, exclusive_minimum=False, allow_none=False):
    """Return ``value`` as a float if it is a finite number in range, else raise `ParameterError`."""
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or isinstance(value, str) or number is None or number != number or number in (
        float("inf"),
        float("-inf"),
    ):
        raise ParameterError(name, value, f"{name} must be a number{_range(minimum, maximum, exclusive_minimum)}")
    too_small = minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    too_large = maximum is not None and number > maximum
    if too_small or too_large:
        raise ParameterError(name, value, f"{name} must be a number{_range(minimum, maximum, exclusive_minimum)}")
    return number


def check_bool(name, value):
    """Return ``value`` if it is a bool, else raise `ParameterError`."""
    if not isinstance(value, bool):
        raise ParameterError(name, value, f"{name} must be True or False")
    return value


def check_dropout(dropout, name="dropout"):
    """Return ``dropout`` as a float in [0, 1), else raise `ParameterError`."""
    dropout = check_float(name, dropout, minimum=0.0)
    if dropout >= 1.0:
        raise ParameterError(name, dropout, f"{name} must be a number from 0 (no dropout) up to, not including, 1")
    return dropout


def check_depth(depth, *, step, offset, family, examples):
    """Return n for ``depth = step * n + offset`` with n >= 1, or raise a `ParameterError` that
    names the rule, some allowed depths and the nearest ones (ResNet for CIFAR: 6n+2)."""
    check_int("depth", depth)
    n, remainder = divmod(int(depth) - offset, step)
    if remainder or n < 1:
        below = step * max(n, 0) + offset
        nearest = " and ".join(str(d) for d in (below, below + step) if d >= step + offset)
        listed = ", ".join(map(str, examples))
        rule = f"{family} needs depth = {step}n+{offset} with n >= 1 ({listed}, ...)"
        raise ParameterError("depth", depth, f"{rule}; nearest allowed: {nearest}")
    return n


def _is_whole(value):
    try:
        return float(value) == int(value) and not isinstance(value, str)
    except (TypeError, ValueError, OverflowError):
        return False


def _range(minimum, maximum, exclusive_minimum=False):
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" greater than {minimum}" if exclusive_minimum else f" of at least {minimum}"
    if maximum is not None:
        return f" of at most {maximum}"
    return ""
