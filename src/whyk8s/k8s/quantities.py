"""CPU and memory quantities, checked before anything is sent to the API server.

Units: CPU in **millicores** (``"500m"`` = ``"0.5"`` = 500), memory in **bytes**
(``"1Gi"`` = 2**30, ``"1G"`` = 10**9). Parsing uses the official client's
:func:`kubernetes.utils.quantity.parse_quantity`; this module adds the learner-facing checks.
Source for the suffixes: kubernetes.io, "Resource Management for Pods and Containers"
(https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from kubernetes.utils.quantity import parse_quantity

__all__ = ["parse_cpu", "parse_memory", "parse_gpus", "format_bytes", "format_cpu", "canonical_cpu",
           "format_memory", "canonical_memory", "in_unit"]

_MEMORY_HINTS = {"k": "Ki", "m": "Mi", "g": "Gi", "t": "Ti"}


def _parse(value, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} is missing: give a quantity such as {'500m' if what == 'CPU' else '512Mi'}.")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{what} is empty: give a quantity such as {'500m' if what == 'CPU' else '512Mi'}.")
    try:
        number = parse_quantity(text)
    except (ValueError, InvalidOperation, TypeError):
        raise ValueError(f"{what} {text!r} is not a Kubernetes quantity "
                         f"(examples: {'250m, 0.5, 2' if what == 'CPU' else '512Mi, 1Gi, 1G'}).") from None
    if number < 0:
        raise ValueError(f"{what} {text!r} is negative; requests must be zero or more.")
    return number


def parse_cpu(value) -> int:
    """CPU quantity → millicores (int). ``"0.5"`` and ``"500m"`` both give 500; ``2`` gives 2000.

    Raises ValueError for an empty, negative or malformed value, or one finer than 1m.
    """
    number = _parse(value, "CPU")
    milli = number * 1000
    if milli != milli.to_integral_value():
        raise ValueError(f"CPU {value!r} is finer than 1m (one millicore), the smallest unit Kubernetes accepts.")
    return int(milli)


def parse_memory(value) -> int:
    """Memory quantity → bytes (int). ``"1Gi"`` gives 1073741824, ``"1G"`` gives 1000000000.

    Refuses ``m`` (milli) with a hint: ``"512m"`` is 0.512 *bytes* to the API server, almost surely a
    typo for ``512Mi``. Raises ValueError for empty, negative, fractional-byte or malformed values.
    """
    text = str(value).strip() if value is not None and not isinstance(value, bool) else value
    if isinstance(text, str) and text.endswith("m") and text[:-1].replace(".", "", 1).isdigit():
        raise ValueError(
            f"Memory {text!r} means {text[:-1]} millibytes (thousandths of a byte). "
            f"Did you mean {text[:-1]}Mi (mebibytes)?"
        )
    number = _parse(value, "memory")
    if number != number.to_integral_value():
        raise ValueError(f"Memory {value!r} is not a whole number of bytes.")
    return int(number)


def parse_gpus(value) -> int:
    """GPU count (whole number ≥ 0) for the extended resource ``nvidia.com/gpu``.

    Raises ValueError for fractions, negatives or text: GPUs are not shared between containers.
    """
    if isinstance(value, bool):
        raise ValueError("GPUs must be a whole number such as 0, 1 or 2.")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"GPUs {value!r} is not a number; give a whole number such as 1.") from None
    if number < 0:
        raise ValueError(f"GPUs {value!r} is negative; give 0 or more.")
    if number != number.to_integral_value():
        raise ValueError(f"GPUs {value!r} is a fraction; a container gets whole GPUs (0, 1, 2, ...).")
    return int(number)


def format_bytes(n: int) -> str:
    """Bytes → a short binary-unit string, e.g. ``1073741824`` → ``"1 GiB"``, ``10**9`` → ``"953.7 MiB"``."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    value = float(n)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_cpu(millicores: int) -> str:
    """Millicores → the course's CPU text, always in millicores: ``250`` → ``"250m"``, ``2000`` → ``"2000m"``."""
    return f"{int(millicores)}m"


def canonical_cpu(millicores: int) -> str:
    """Millicores → the API server's canonical CPU quantity: ``2000`` → ``"2"``, ``250`` → ``"250m"``
    (what it stores whatever the learner wrote: ``"0.25"`` and ``"250m"`` both become ``"250m"``)."""
    return f"{millicores // 1000}" if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(n_bytes: int) -> str:
    """Bytes → the exact quantity and the byte count: ``67108864`` → ``"64Mi (67,108,864 bytes)"``,
    ``10**9`` → ``"1G (1,000,000,000 bytes)"``; a binary unit when one divides exactly."""
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n_bytes and n_bytes % size == 0:
            return f"{n_bytes // size}{unit} ({n_bytes:,} bytes)"
    return f"{n_bytes:,} bytes"


def canonical_memory(n_bytes: int) -> str:
    """Bytes → the memory quantity a person writes, exactly equal: the shortest of the plain byte count
    and each suffix that divides it (binary ``Ki`` … ``Ei`` first at equal length): ``85899345920`` →
    ``"80Gi"``, ``10**9`` → ``"1G"``, ``1536 * 2**20`` → ``"1536Mi"``, ``1000`` → ``"1k"``, ``1234`` →
    ``"1234"``. Raises ValueError for a negative or fractional count."""
    if isinstance(n_bytes, bool) or int(n_bytes) != n_bytes or n_bytes < 0:
        raise ValueError(f"{n_bytes!r} is not a whole number of bytes.")
    n = int(n_bytes)
    best = str(n)
    if n == 0:
        return best
    for unit, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10),
                       ("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n % size == 0 and len(f"{n // size}{unit}") < len(best):
            best = f"{n // size}{unit}"
    return best


def in_unit(resource: str, quantity) -> tuple[int | float, str]:
    """A quota or request amount for a table: ``(value, unit)`` with CPU in ``millicores``, memory in
    ``MiB`` (one decimal when not whole), ``nvidia.com/gpu`` in ``GPUs`` and anything else as a plain
    number. ``resource`` is a name such as ``requests.cpu``, ``memory`` or ``requests.nvidia.com/gpu``."""
    value = parse_quantity(str(quantity or "0"))
    if resource.endswith("cpu"):
        return int(value * 1000), "millicores"
    if resource.endswith("memory"):
        mib = float(value) / 2**20
        return (int(mib) if mib.is_integer() else round(mib, 1)), "MiB"
    if resource.endswith("nvidia.com/gpu"):
        return int(value), "GPUs"
    return float(value), ""
