"""Runs a command under the seccomp filters systemd installs for RestrictAddressFamilies= and
RestrictNamespaces= (allow-lists), so nix/check.sh can try the agent's bwrap sandbox under the
module's hardening without systemd: socket() with a family not listed fails with EAFNOSUPPORT;
clone() and unshare() asking for a namespace type not listed fail with EPERM; clone3() fails with
ENOSYS (its flags are behind a pointer, so systemd refuses it and the C library falls back to
clone()). x86_64 only, stdlib only.

    python3 nix/systemd-filter.py --families "AF_UNIX AF_INET" --namespaces "user mnt pid" -- CMD...
"""

import argparse
import ctypes
import os
import socket
import struct
import sys

AUDIT_ARCH_X86_64 = 0xC000003E
NR = {"socket": 41, "clone": 56, "unshare": 272, "clone3": 435}
NAMESPACES = {
    "cgroup": 0x02000000,
    "ipc": 0x08000000,
    "net": 0x40000000,
    "mnt": 0x00020000,
    "pid": 0x20000000,
    "user": 0x10000000,
    "uts": 0x04000000,
}
ALL_NAMESPACES = sum(NAMESPACES.values())
EAFNOSUPPORT, EPERM, ENOSYS = 97, 1, 38

# BPF opcodes (linux/filter.h, linux/seccomp.h).
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def program(families, namespaces):
    """The filter as (code, jt, jf, k) tuples; jumps are relative, resolved from labels."""
    denied_ns = ALL_NAMESPACES & ~sum(NAMESPACES[n] for n in namespaces)
    ops = []  # (code, jt_label_or_offset, jf_label_or_offset, k)
    label = {}

    def op(code, k=0, jt=0, jf=0):
        ops.append([code, jt, jf, k])

    op(LD_W_ABS, 4)  # arch
    op(JEQ_K, AUDIT_ARCH_X86_64, 0, "allow")
    op(LD_W_ABS, 0)  # syscall number
    op(JEQ_K, NR["socket"], "socket", 0)
    op(JEQ_K, NR["clone"], "namespaces", 0)
    op(JEQ_K, NR["unshare"], "namespaces", 0)
    op(JEQ_K, NR["clone3"], "enosys", "allow")
    label["socket"] = len(ops)
    op(LD_W_ABS, 16)  # args[0], low half: the address family
    for family in families:
        op(JEQ_K, family, "allow", 0)
    op(RET_K, RET_ERRNO | EAFNOSUPPORT)
    label["namespaces"] = len(ops)
    op(LD_W_ABS, 16)  # args[0], low half: the CLONE_NEW* flags
    op(JSET_K, denied_ns, "eperm", "allow")
    label["eperm"] = len(ops)
    op(RET_K, RET_ERRNO | EPERM)
    label["enosys"] = len(ops)
    op(RET_K, RET_ERRNO | ENOSYS)
    label["allow"] = len(ops)
    op(RET_K, RET_ALLOW)

    out = b""
    for i, (code, jt, jf, k) in enumerate(ops):
        jt = label[jt] - i - 1 if isinstance(jt, str) else jt
        jf = label[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("<HBBI", code, jt, jf, k)
    return out, len(ops)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", required=True, help='e.g. "AF_UNIX AF_INET AF_INET6"')
    parser.add_argument("--namespaces", required=True, help='e.g. "user mnt pid net"')
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if os.uname().machine != "x86_64" or not command:
        sys.exit("systemd-filter.py: x86_64 only, and a command is needed")
    families = [getattr(socket, name) for name in args.families.split()]
    code, length = program(families, args.namespaces.split())
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(length, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        sys.exit(f"prctl(SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
