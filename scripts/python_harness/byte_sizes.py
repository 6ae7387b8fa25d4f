"""Sizes in bytes as people write them: '4K' on the command line and in sysfs, '4 KiB' in labels."""
import argparse

GIB = 1 << 30


def parse_size(text: str) -> int:
    """'64', '4K', '1M', '1G' (binary multiples), like pipebench's --sizes. Raises
    argparse.ArgumentTypeError, so that the command line reports it as a bad argument."""
    text = text.strip()
    multiplier = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit() or int(digits) * multiplier < 1:
        raise argparse.ArgumentTypeError(f"bad size: {text!r} (use e.g. 64, 4K, 1M)")
    return int(digits) * multiplier


def size_text(size: int) -> str:
    """1048576 -> '1 MiB', 65536 -> '64 KiB', 1000 -> '1000 B'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"
