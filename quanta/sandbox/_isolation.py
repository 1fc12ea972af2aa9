"""Operating-system walls around a job's process: namespaces, a root of its own, no privileges, limits.

A job runs in two forked processes. The *keeper* (``enter_namespaces``) leaves the worker's network,
PID and IPC namespaces — through a user namespace when it is not root — and forks the *runner*, which
is PID 1 of the new PID namespace. The runner (``confine``) starts its own session, changes its root
to the job's empty scratch folder, becomes an unprivileged user (root: a uid of its own; otherwise all
capabilities dropped), forbids gaining privileges again and sets its resource limits. Then the
strategy runs.

What works depends on the machine: ``probe()`` tries the plans from strongest to weakest in a
throw-away process and returns the first that works.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from quanta.sandbox.models import SandboxLimits

CLONE_NEWNS: Final = 0x00020000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000
PR_SET_PDEATHSIG: Final = 1
PR_SET_DUMPABLE: Final = 4
PR_SET_CHILD_SUBREAPER: Final = 36
PR_SET_NO_NEW_PRIVS: Final = 38
_CAP_VERSION_3: Final = 0x20080522
SANDBOX_UID_BASE: Final = 1_900_000_000
"""Root mode: each job's process runs as this plus the keeper's pid, a uid no account has."""
_MB: Final = 1024 * 1024


class IsolationError(OSError):
    """A wall could not be put up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Which walls to put up."""

    name: str
    user_ns: bool = False
    namespaces: bool = False
    """New network, PID and IPC namespaces: no network at all, no other process in sight."""
    chroot: bool = False
    switch_uid: bool = False
    """The runner becomes a uid of the job's own (needs root); in a user namespace it drops its
    capabilities instead."""

    def layers(self) -> list[str]:
        """The walls, in words (for logs and results)."""
        names = {
            "user namespace": self.user_ns,
            "network, PID, IPC and UTS namespaces": self.namespaces,
            "root in the scratch folder": self.chroot,
            "own uid" if self.switch_uid or os.geteuid() == 0 else "no capabilities": self.switch_uid
            or self.user_ns,
        }
        return [name for name, on in names.items() if on] + ["no new privileges", "resource limits"]


PLANS: Final = (
    Plan(name="root", namespaces=True, chroot=True, switch_uid=True),
    Plan(name="user-namespace", user_ns=True, namespaces=True, chroot=True),
    Plan(name="chroot", chroot=True, switch_uid=True),
    Plan(name="limits-only"),
)
"""From strongest to weakest; ``root`` and ``chroot`` need root, ``user-namespace`` works without."""


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: Any) -> None:
    if getattr(_libc(), name)(*args) != 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"{name}: {os.strerror(errno)}")


def sandbox_uid(keeper_pid: int) -> int:
    """The uid a job's process takes in root mode."""
    return SANDBOX_UID_BASE + keeper_pid


# ---- the keeper ----------------------------------------------------------------------------------------


def enter_namespaces(plan: Plan, scratch: Path) -> int:
    """In the keeper: leave the worker's namespaces; returns the uid the runner will take (or -1).

    As root, a job gets a uid of its own: the runner takes it after changing its root (``root`` and
    ``chroot`` plans), or the keeper takes it before making the user namespace (``user-namespace``), so
    that the process limit counts this job's processes alone.
    """
    target = sandbox_uid(os.getpid()) if os.geteuid() == 0 and (plan.switch_uid or plan.user_ns) else -1
    if target >= 0:
        os.chown(scratch, target, target)
    os.chdir(scratch)  # the runner's root is made from here: no need to reach it again by its path
    if plan.user_ns and target >= 0:
        _become(target)
        _call("prctl", PR_SET_DUMPABLE, 1, 0, 0, 0)  # changing uid hid /proc/self/uid_map from us
    uid, gid = os.geteuid(), os.getegid()
    flags = (CLONE_NEWUSER if plan.user_ns else 0) | (
        CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS if plan.namespaces else 0
    )
    if flags:
        _call("unshare", flags)
    if plan.user_ns:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    return target if plan.switch_uid else -1


def _become(uid: int) -> None:
    """Become ``uid`` (group too) for good; a root process loses every capability doing so."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def adopt_orphans() -> None:
    """Become the parent of this process's orphaned descendants (a job's runner whose keeper was killed)."""
    _call("prctl", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans() -> int:
    """Collect every descendant that has exited; how many."""
    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped += 1


def die_with_parent() -> None:
    """Be killed when the process that forked this one dies."""
    _call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# ---- the runner ----------------------------------------------------------------------------------------


def address_space() -> int:
    """This process's current virtual size in bytes (read before the root changes)."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def confine(plan: Plan, uid: int, limits: SandboxLimits, base: int) -> None:
    """In the runner (whose working folder is the scratch folder): own session, root there, no
    privileges, resource limits."""
    os.setsid()
    if plan.chroot:
        os.chroot(".")  # the scratch folder, entered by the keeper
        os.chdir("/")
    if plan.switch_uid and uid >= 0:
        _become(uid)
    elif plan.user_ns:
        _drop_capabilities()
    _call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    set_limits(limits, base)


def _drop_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _call("capset", ctypes.byref(header), ctypes.byref(data))


def set_limits(limits: SandboxLimits, base: int) -> None:
    """CPU time, address space, open files, processes, file size; no core files."""
    cpu = limits.cpu_seconds
    memory = base + limits.memory_mb * _MB
    size = limits.file_size_mb * _MB
    for which, soft, hard in (
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_NPROC, 1, 1),
        (resource.RLIMIT_FSIZE, size, size),
    ):
        resource.setrlimit(which, (soft, hard))


# ---- probing -------------------------------------------------------------------------------------------


def probe(plans: tuple[Plan, ...] = PLANS) -> Plan:
    """The strongest plan that works on this machine, tried in throw-away processes."""
    for plan in plans:
        if (plan.switch_uid or (plan.namespaces and not plan.user_ns)) and os.geteuid() != 0:
            continue
        if _works(plan):
            return plan
    return plans[-1]


def _works(plan: Plan) -> bool:
    with tempfile.TemporaryDirectory(prefix="quanta-probe-") as folder:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked probe
            os._exit(_probe_child(plan, Path(folder)))
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0


def _probe_child(plan: Plan, scratch: Path) -> int:  # pragma: no cover - forked
    try:
        uid = enter_namespaces(plan, scratch)
        pid = os.fork()
        if pid == 0:
            try:
                confine(plan, uid, SandboxLimits(), address_space())
            except OSError:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    except OSError:
        return 1
