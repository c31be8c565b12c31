"""The shipped unit's restrictions reproduced around a child process, as systemd would apply them
on the Pi: the unit's system call filter (SystemCallFilter= lines in order, plus ProtectClock='s
@clock filter, and MemoryDenyWriteExecute='s), loaded with libseccomp; the working directory the
unit gives (read-only when it gives none, as ProtectSystem=strict makes /); and /proc as
ProcSubset=pid shows it, in a mount namespace. Group contents come from this machine's
systemd-analyze, so the filter is systemd's own list, not one written here.

Needs root (mount namespaces), util-linux's unshare and libseccomp; tests skip without them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from edge.ops.unit_file import SyscallPolicy, UnitFile, syscall_policy

ROOT = Path(__file__).parents[2]
UNIT = ROOT / "systemd" / "doorstep.service"
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7
PROT_WRITE, PROT_EXEC = 0x2, 0x4


class _ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp: argument ``arg`` compared by ``op``."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def scmp_act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


def available() -> str | None:
    """Why the sandbox cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root for mount namespaces"
    if shutil.which("unshare") is None or shutil.which("systemd-analyze") is None:
        return "needs util-linux's unshare and systemd-analyze"
    if ctypes.util.find_library("seccomp") is None:
        return "needs libseccomp"
    return None


def _load_filter(default: int, rule: int, names: frozenset[str]) -> None:
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(default)
    for name in sorted(names):
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number >= 0:  # a name this architecture does not have is skipped, as systemd does
            lib.seccomp_rule_add(ctx, rule, number, 0)
    if lib.seccomp_load(ctx) != 0:
        raise OSError("seccomp_load failed")


def _load_deny_write_execute() -> None:
    """MemoryDenyWriteExecute=, as systemd makes it: no memory mapped writable and executable
    at once, and none made executable later (mmap's and mprotect's protection argument)."""
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    rules = (
        ("mmap", PROT_WRITE | PROT_EXEC),
        ("mprotect", PROT_EXEC),
        ("pkey_mprotect", PROT_EXEC),
    )
    for name, bits in rules:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        cmp = _ArgCmp(2, SCMP_CMP_MASKED_EQ, bits, bits)
        if lib.seccomp_rule_add_array(ctx, scmp_act_errno(errno.EPERM), number, 1, cmp) != 0:
            raise OSError(f"seccomp_rule_add_array failed for {name}")
    if lib.seccomp_load(ctx) != 0:
        raise OSError("seccomp_load failed")


def apply(policy: SyscallPolicy, deny_write_execute: bool = False) -> None:
    """In the child: load the unit's filters (errors are EPERM, as SystemCallErrorNumber=).
    MemoryDenyWriteExecute='s goes first: the unit's own would forbid loading another."""
    if deny_write_execute:
        _load_deny_write_execute()
    eperm = scmp_act_errno(errno.EPERM)
    if policy.allow_mode:
        _load_filter(eperm, SCMP_ACT_ALLOW, policy.names - policy.clock_denied)
    else:
        _load_filter(SCMP_ACT_ALLOW, eperm, policy.names | policy.clock_denied)


def run_under_unit(
    script: str, state_dir: Path, *, env: dict[str, str] | None = None, **where: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a child Python under the unit's restrictions, to its end (``where``:
    under_unit_command's)."""
    return subprocess.run(
        under_unit_command(script, state_dir, **where),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def under_unit_command(
    script: str,
    state_dir: Path,
    unit_path: Path = UNIT,
    device_tree: Path | None = None,
    extra_mounts: str = "",
) -> list[str]:
    """The command that runs ``script`` in a child Python under ``unit_path``'s restrictions.
    ``state_dir`` stands for the unit's StateDirectory (/var/lib/doorstep); ``device_tree`` is
    shown at /sys/firmware/devicetree/base, as on a Pi. The child dies with the command
    (unshare --kill-child)."""
    unit = UnitFile.read(unit_path)
    policy = syscall_policy(unit)
    assert policy is not None, "systemd-analyze lists no syscall groups"
    work = unit.get("WorkingDirectory")
    readonly = state_dir.parent / "readonly-root"
    readonly.mkdir(exist_ok=True)
    cwd = state_dir if work in ("/var/lib/doorstep", "%S/doorstep") else readonly
    mounts = [f"mount --bind {readonly} {readonly}", f"mount -o remount,ro,bind {readonly}"]
    if unit.get("ProcSubset") == "pid":
        mounts.append("mount -t proc -o subset=pid proc /proc")
    else:
        mounts.append("mount -t proc proc /proc")
    if device_tree is not None:
        mounts += [
            "mount -t tmpfs tmpfs /sys/firmware",
            "mkdir -p /sys/firmware/devicetree",
            f"cp -r {device_tree} /sys/firmware/devicetree/base",
        ]
    if extra_mounts:
        mounts.append(extra_mounts)
    child = (
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from edge.ops.unit_file import SyscallPolicy\nfrom tests.pi.sandbox import apply\n"
        f"apply(SyscallPolicy({policy.allow_mode!r}, frozenset({sorted(policy.names)!r}), "
        f"frozenset({sorted(policy.clock_denied)!r})), "
        f"{unit.flag('MemoryDenyWriteExecute')!r})\n" + script
    )
    command = (
        " && ".join(mounts)
        + f" && cd {shlex.quote(str(cwd))} && exec "
        + shlex.join([sys.executable, "-c", child])
    )
    return [
        "unshare",
        "-m",
        "-p",
        "-f",
        "--kill-child",
        "--propagation",
        "private",
        "sh",
        "-c",
        command,
    ]
