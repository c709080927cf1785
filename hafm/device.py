"""Which torch device the models run on: ``--device cpu|cuda|cuda:N|mps|auto``.

``resolve_device`` turns the option into a ``torch.device`` and refuses, with one line naming
the device, a name torch does not know or a device this machine does not have, before any model
is loaded. ``auto`` is the first CUDA device when there is one, else the CPU. On the CPU nothing
moves: every model part stays where it was loaded, so CPU results are those without the option.
"""

from __future__ import annotations

from typing import TypeVar

from hafm.errors import HafmError

Part = TypeVar("Part")

DEVICE_HELP = "torch device of the models: cpu, cuda, cuda:N, mps, or auto (cuda when available, else cpu)"


class DeviceError(HafmError):
    """A ``--device`` that torch does not know or that this machine does not have."""


def resolve_device(name: str):
    """``torch.device`` for ``name`` (``auto``: cuda when available, else cpu); ``DeviceError`` if absent here."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise DeviceError(f"device {name!r}: not a torch device name ({err})") from err
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"device {name!r}: CUDA is not available on this machine "
                              f"(torch {torch.__version__}); use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise DeviceError(f"device {name!r}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {name!r}: MPS is not available on this machine (torch {torch.__version__})")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {name!r}: only cpu, cuda, cuda:N, mps and auto are supported")
    return device


def place(part: Part, device, what: str) -> Part:
    """``part.to(device)`` (a model, codec or tokenizer; ``device`` a ``torch.device``); returns ``part``.

    A part without ``to`` (no torch model inside, e.g. a stand-in implementing the tokenizer
    protocols) stays where it is, which is only allowed on the CPU.
    """
    move = getattr(part, "to", None)
    if move is not None:
        move(device)
    elif device.type != "cpu":
        raise DeviceError(f"the {what} ({type(part).__name__}) cannot run on {device}: it has no to(device)")
    return part
