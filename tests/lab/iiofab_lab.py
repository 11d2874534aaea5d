# SPDX-License-Identifier: MIT
"""The iiofab soft-RoCE lab: boots a board guest and N host guests under QEMU.

Every guest sees the machine's root read-only over 9p, the repository writable
at its own path, and a per-run directory (/run/lab) through which the harness
hands out commands and collects exit statuses. The board's NICs are
point-to-point QEMU socket links (the board listens, each host connects),
bridged on the board; rxe runs on the bridge and on each host's NIC.
"""

import argparse
import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(LAB_DIR))
SUBNET = "10.77.0."
BOARD_ADDR = SUBNET + "1"
MAX_HOSTS = 8
INITRAMFS_MODULES = ("netfs", "9pnet", "9pnet_virtio", "9p")
BOOT_TIMEOUT_DEFAULT = 180
PR_SET_PDEATHSIG = 1
RXE_MODES = ("stock", "dmabuf")
RXE_DMABUF_DIR = os.path.join(LAB_DIR, "rxe-dmabuf")
RXE_DMABUF_SHIM = "tests/lab/rxe-dmabuf/libiiofab_rxe_dmabuf.so"


class LabError(Exception):
    """A failure the harness reports with a message and a non-zero exit."""


def guest_name(index):
    return "board" if index == 0 else "host%d" % index


def guest_addr(index):
    return SUBNET + str(index + 1)


def guest_mac(index, nic):
    return "52:54:00:77:%02x:%02x" % (index, nic)


def parse_args(argv):
    top = argparse.ArgumentParser(
        prog="lab",
        description="Boot the iiofab soft-RoCE lab and run commands in it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EPILOG)
    sub = top.add_subparsers(dest="verb", required=True, metavar="run")
    run = sub.add_parser(
        "run", help="boot a board and N hosts, run commands, power off",
        description="Boot a board guest and N host guests, run CMD in the "
        "board, then the host CMD in every host (in parallel), then the "
        "--board-after CMD in the board. Exits 0 only if every command "
        "exited 0.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EPILOG)
    run.add_argument("--hosts", type=int, default=1, metavar="N",
                     help="host guests to boot, 0..%d (default 1)" % MAX_HOSTS)
    run.add_argument("--timeout", type=float, default=600, metavar="S",
                     help="whole-run limit in seconds, boot included "
                     "(default 600)")
    run.add_argument("--boot-timeout", type=float,
                     default=BOOT_TIMEOUT_DEFAULT, metavar="S",
                     help="limit for each guest to become ready "
                     "(default %d)" % BOOT_TIMEOUT_DEFAULT)
    run.add_argument("--out", metavar="DIR",
                     help="copy consoles, command logs and dmesg here")
    run.add_argument("--board", required=True, metavar="CMD",
                     help="command run first in the board guest; it may "
                     "leave daemons running")
    run.add_argument("--host", metavar="CMD",
                     help="command run in every host guest")
    run.add_argument("--board-after", metavar="CMD",
                     help="command run in the board after every host "
                     "finished")
    run.add_argument("--memory", type=int, default=1024, metavar="MIB",
                     help="memory per guest in MiB (default 1024)")
    run.add_argument("--accel", choices=("auto", "kvm", "tcg"),
                     default=os.environ.get("IIOFAB_LAB_ACCEL", "auto"),
                     help="auto uses KVM only where it really works "
                     "(default: $IIOFAB_LAB_ACCEL or auto)")
    run.add_argument("--kernel", metavar="VERSION_OR_PATH",
                     default=os.environ.get("IIOFAB_LAB_KERNEL"),
                     help="guest kernel (default: scripts/setup --kernel)")
    run.add_argument("--rxe", choices=RXE_MODES, default=os.environ.get(
                     "IIOFAB_LAB_RXE", "stock"),
                     help="stock: the guest kernel's rdma_rxe; dmabuf: the "
                     "lab's rxe with dma-buf MRs (tests/lab/rxe-dmabuf/, "
                     "built by scripts/setup) and its ibv_reg_dmabuf_mr "
                     "shim preloaded in every guest command (default: "
                     "$IIOFAB_LAB_RXE or stock)")
    run.add_argument("--append", default="", metavar="ARGS",
                     help="extra guest kernel command-line arguments")
    run.add_argument("--build-dir", metavar="DIR",
                     default=os.environ.get("IIOFAB_BUILD_DIR",
                                            os.path.join(REPO_DIR, "build")),
                     help="build tree exported to guests as "
                     "$IIOFAB_BUILD_DIR (default: <repo>/build)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="print every step and the QEMU command lines")
    args = top.parse_args(argv)
    if not 0 <= args.hosts <= MAX_HOSTS:
        top.error("--hosts must be between 0 and %d" % MAX_HOSTS)
    if args.timeout <= 0 or args.boot_timeout <= 0:
        top.error("timeouts must be positive")
    if args.host and args.hosts == 0:
        top.error("--host given with --hosts 0")
    return args


RUN_EPILOG = """\
Guests: board 10.77.0.1, hosts 10.77.0.2, .3, ...; each has rxe0 on its
fabric NIC (MTU 9000). Inside every guest: IIOFAB_BOARD_ADDR, IIOFAB_SELF_ADDR,
IIOFAB_GUEST (board, host1, ...), IIOFAB_SOURCE_DIR, IIOFAB_BUILD_DIR. Commands
run with bash as root in the repository, which is shared writable at the same
path; the machine's root is shared read-only.

Exit status: 0 when every command exited 0; 1 when a command failed, a guest
did not boot or the timeout passed (the failing command and the tail of its
guest's console are printed); 2 for usage errors.

With --rxe dmabuf every guest loads the lab's rdma_rxe.ko (dma-buf MRs)
instead of the kernel's, and runs its commands with LD_PRELOAD set to the
ibv_reg_dmabuf_mr shim; IIOFAB_LAB_RXE is set to the mode in every guest.
See tests/lab/rxe-dmabuf/README.md.

Environment: IIOFAB_LAB_ACCEL (auto, kvm, tcg), IIOFAB_LAB_KERNEL,
IIOFAB_LAB_RXE (stock, dmabuf), IIOFAB_BUILD_DIR, IIOFAB_LAB_CACHE
(initramfs cache directory).

Example:
  tests/lab/lab run --board 'rdma link' --host 'ibv_devinfo'
"""


def kernel_cmdline(index, hosts, repo, build_dir, extra=""):
    """The guest kernel command line that tells guest-init who it is."""
    role = "board" if index == 0 else "host"
    parts = [
        # no_timer_check: under a loaded TCG host the IO-APIC timer probe
        # misfires and panics or hangs the boot.
        "console=ttyS0", "panic=-1", "loglevel=4", "rdinit=/init",
        "no_timer_check",
        "iiofab.init=" + os.path.join(LAB_DIR, "guest-init"),
        "iiofab.role=" + role, "iiofab.name=" + guest_name(index),
        "iiofab.addr=" + guest_addr(index),
        "iiofab.board=" + BOARD_ADDR,
        "iiofab.nics=" + str(max(hosts, 1) if index == 0 else 1),
        "iiofab.repo=" + repo, "iiofab.build=" + build_dir,
    ]
    for value in (repo, build_dir):
        if re.search(r"\s", value):
            raise LabError("paths with spaces cannot pass the kernel command "
                           "line: %r" % value)
    if extra:
        parts.append(extra)
    return " ".join(parts)


def rxe_cmdline(mode, build_dir, module=None):
    """Kernel command-line words that make guest-init load the lab's rxe
    with dma-buf MRs and preload its shim; nothing for the stock rxe.
    Missing pieces fail here: a lab asked for dma-buf MRs never quietly
    boots the stock rxe."""
    if mode == "stock":
        return ""
    if module is None:
        res = subprocess.run([os.path.join(RXE_DMABUF_DIR, "build-module"),
                              "--path"], capture_output=True, text=True)
        if res.returncode != 0:
            raise LabError("cannot locate the dma-buf rxe: "
                           + res.stderr.strip())
        module = res.stdout.strip()
    if not os.path.exists(module):
        raise LabError("%s is not built; run scripts/setup" % module)
    shim = os.path.join(build_dir, RXE_DMABUF_SHIM)
    if not os.path.exists(shim):
        raise LabError("%s is not built; run scripts/build" % shim)
    for value in (module, shim):
        if re.search(r"\s", value):
            raise LabError("paths with spaces cannot pass the kernel "
                           "command line: %r" % value)
    return "iiofab.rxe_ko=%s iiofab.preload=%s" % (module, shim)


def board_nic_args(ports):
    """The board listens on one point-to-point link per host."""
    args = []
    for nic, port in enumerate(ports):
        args += ["-netdev", "socket,id=n%d,listen=127.0.0.1:%d" % (nic, port),
                 "-device", "virtio-net-pci,netdev=n%d,mac=%s"
                 % (nic, guest_mac(0, nic))]
    return args


def host_nic_args(index, port):
    return ["-netdev", "socket,id=n0,connect=127.0.0.1:%d" % port,
            "-device", "virtio-net-pci,netdev=n0,mac=%s" % guest_mac(index, 0)]


def qemu_argv(index, hosts, accel, kernel, initrd, memory, repo, build_dir,
              run_dir, console, ports, extra_append=""):
    argv = ["qemu-system-x86_64", "-name", "iiofab-" + guest_name(index),
            "-nodefaults", "-no-reboot", "-display", "none",
            "-machine", "q35", "-m", str(memory), "-smp", "1",
            "-serial", "file:" + console,
            "-kernel", kernel, "-initrd", initrd,
            "-append", kernel_cmdline(index, hosts, repo, build_dir,
                                      extra_append),
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,"
            "readonly=on,multidevs=remap",
            "-virtfs", "local,path=%s,mount_tag=repo,security_model=none,"
            "multidevs=remap" % repo,
            "-virtfs", "local,path=%s,mount_tag=labrun,security_model=none,"
            "multidevs=remap" % run_dir]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg,thread=multi", "-cpu", "max"]
    if index == 0:
        argv += board_nic_args(ports)
    else:
        argv += host_nic_args(index, ports[index - 1])
    return argv


def kvm_usable(dev="/dev/kvm", cpuinfo="/proc/cpuinfo"):
    """KVM only where the CPU shows hardware virtualisation: a paravirtual
    /dev/kvm without vmx/svm kills stock kernels in their decompressor."""
    if not os.access(dev, os.R_OK | os.W_OK):
        return False
    try:
        with open(cpuinfo) as f:
            flags = f.read()
    except OSError:
        return False
    return re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.M) is not None


def choose_accel(requested, usable=None):
    if requested != "auto":
        return requested
    if usable is None:
        usable = kvm_usable()
    return "kvm" if usable else "tcg"


def free_ports(count):
    """Ports the kernel just handed out, so concurrent labs do not collide."""
    socks, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def port_listening(port, tcp_table="/proc/net/tcp"):
    want = ":%04X" % port
    try:
        with open(tcp_table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1].endswith(want) and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def read_rc(path):
    """A phase's exit status, or None while it has not finished."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise LabError("%s holds %r, not an exit status" % (path, text))


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no %s)\n" % path


def default_kernel_version():
    res = subprocess.run([os.path.join(REPO_DIR, "scripts", "setup"),
                          "--kernel"], capture_output=True, text=True)
    if res.returncode != 0:
        raise LabError("no guest kernel: " + res.stderr.strip()
                       + " (run scripts/setup)")
    return res.stdout.strip()


def find_kernel(spec):
    """vmlinuz path and module version for a version, a path, or the default.
    A path whose name carries no installed version boots with the default
    kernel's modules."""
    if spec and os.path.sep in spec:
        version = os.path.basename(spec).replace("vmlinuz-", "")
        if not os.path.isdir("/lib/modules/" + version):
            version = default_kernel_version()
        return spec, version
    version = spec or default_kernel_version()
    path = "/boot/vmlinuz-" + version
    if not os.path.exists(path):
        raise LabError("guest kernel %s not found" % path)
    return path, version


def cache_dir(build_dir):
    return os.environ.get("IIOFAB_LAB_CACHE",
                          os.path.join(build_dir, "lab-cache"))


def build_initramfs(version, cache):
    """busybox + the 9p modules + our first-stage init, cached by content."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    moddir = "/lib/modules/" + version
    modules = []
    for name in INITRAMFS_MODULES:
        found = None
        for root, _, files in os.walk(moddir):
            for f in files:
                if re.fullmatch(re.escape(name) + r"\.ko(\.xz|\.zst|\.gz)?", f):
                    found = os.path.join(root, f)
                    break
            if found:
                break
        if not found:
            raise LabError("module %s not found under %s" % (name, moddir))
        modules.append((name, found))
    init = os.path.join(LAB_DIR, "initramfs-init")
    digest = hashlib.sha256()
    for path in [busybox, init] + [m[1] for m in modules]:
        with open(path, "rb") as f:
            digest.update(f.read())
    out = os.path.join(cache, "initramfs-%s-%s.cpio.gz"
                       % (version, digest.hexdigest()[:12]))
    if os.path.exists(out):
        return out
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as root:
        for d in ("bin", "dev", "proc", "sys", "lib/modules", "newroot"):
            os.makedirs(os.path.join(root, d))
        shutil.copy(busybox, os.path.join(root, "bin", "busybox"))
        shutil.copy(init, os.path.join(root, "init"))
        os.chmod(os.path.join(root, "init"), 0o755)
        for name, path in modules:
            dest = os.path.join(root, "lib", "modules", name + ".ko")
            decompress(path, dest)
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            find = subprocess.Popen(["find", "."], cwd=root,
                                    stdout=subprocess.PIPE)
            cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"],
                                    cwd=root, stdin=find.stdout,
                                    stdout=subprocess.PIPE)
            gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=f)
            find.stdout.close()
            cpio.stdout.close()
            if gz.wait() or cpio.wait() or find.wait():
                raise LabError("building the initramfs failed")
        os.rename(tmp, out)
    return out


def decompress(src, dest):
    tools = {".xz": ["xz", "-dc"], ".zst": ["zstd", "-dc"],
             ".gz": ["gzip", "-dc"]}
    ext = os.path.splitext(src)[1]
    if ext not in tools:
        shutil.copy(src, dest)
        return
    with open(dest, "wb") as f:
        if subprocess.run(tools[ext] + [src], stdout=f).returncode:
            raise LabError("cannot decompress " + src)


def set_pdeathsig():
    """Guests die with the harness, even when it is SIGKILLed."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgrp()


class Guest:
    def __init__(self, index, argv, console):
        self.index = index
        self.name = guest_name(index)
        self.argv = argv
        self.console = console
        self.proc = None

    def start(self, verbose):
        if verbose:
            print("lab: starting %s: %s" % (self.name, " ".join(
                "'%s'" % a if " " in a else a for a in self.argv)),
                file=sys.stderr)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=set_pdeathsig)

    def exited(self):
        return self.proc is not None and self.proc.poll() is not None

    def qemu_output(self):
        if self.proc is None or self.proc.poll() is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


class Lab:
    POLL = 0.2

    def __init__(self, args):
        self.args = args
        self.guests = []
        self.started = time.monotonic()
        self.deadline = self.started + args.timeout
        self.run_dir = None

    def log(self, msg):
        if self.args.verbose:
            print("lab: %6.1fs %s" % (time.monotonic() - self.started, msg),
                  file=sys.stderr)

    def remaining(self):
        return self.deadline - time.monotonic()

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def kill_all(self):
        for g in self.guests:
            g.kill()

    def guest_failure(self, guest, why):
        text = "%s: %s\n--- last lines of %s's console ---\n%s" % (
            guest.name, why, guest.name, tail(guest.console))
        out = guest.qemu_output()
        if out.strip():
            text += "--- qemu ---\n" + out
        bootfail = self.path(guest.name + ".bootfail")
        if os.path.exists(bootfail):
            text += "--- boot failure ---\n" + tail(bootfail)
        return LabError(text)

    def write_cmd(self, phase, cmd):
        with open(self.path(phase + ".cmd"), "w") as f:
            f.write("set -o pipefail\n" + cmd + "\n")

    def start_guests(self, kernel, initrd):
        a = self.args
        repo = REPO_DIR
        build_dir = os.path.abspath(a.build_dir)
        accel = choose_accel(a.accel)
        self.log("accelerator: " + accel)
        append = " ".join(x for x in (rxe_cmdline(a.rxe, build_dir),
                                      a.append) if x)
        self.log("rxe: " + a.rxe)
        ports = free_ports(max(a.hosts, 1))
        for index in range(a.hosts + 1):
            console = self.path(guest_name(index) + ".console")
            argv = qemu_argv(index, a.hosts, accel, kernel, initrd, a.memory,
                             repo, build_dir, self.run_dir, console, ports,
                             append)
            self.guests.append(Guest(index, argv, console))
        board = self.guests[0]
        board.start(a.verbose)
        # Hosts connect to the board's sockets; QEMU's connect does not retry.
        while not all(port_listening(p) for p in ports):
            if board.exited():
                raise self.guest_failure(board, "QEMU exited at start")
            if self.remaining() <= 0:
                raise self.guest_failure(board, "QEMU never listened")
            time.sleep(0.05)
        for g in self.guests[1:]:
            g.start(a.verbose)

    def wait_until(self, what, ready, guests, done=lambda g: False):
        """Wait for ready(), failing on a guest that died before done(g)
        (one that finished its part powers off) or on the deadline."""
        while True:
            if ready():
                return
            for g in guests:
                if g.exited() and not done(g):
                    raise self.guest_failure(
                        g, "guest stopped while waiting for " + what)
            if self.remaining() <= 0:
                raise LabError("timeout (%gs) while waiting for %s\n%s" % (
                    self.args.timeout, what, "".join(
                        "--- %s console ---\n%s" % (g.name, tail(g.console, 15))
                        for g in guests)))
            time.sleep(self.POLL)

    def wait_booted(self):
        limit = time.monotonic() + self.args.boot_timeout
        pending = list(self.guests)
        while pending:
            for g in list(pending):
                if os.path.exists(self.path(g.name + ".booted")):
                    self.log("%s ready" % g.name)
                    pending.remove(g)
                elif g.exited():
                    raise self.guest_failure(g, "guest did not boot")
            if pending and time.monotonic() > min(limit, self.deadline):
                raise self.guest_failure(pending[0], "guest did not boot "
                                         "within %gs" % self.args.boot_timeout)
            time.sleep(self.POLL)

    def phase_failure(self, phase, guest, rc):
        return LabError("%s command exited %d\n--- %s output (tail) ---\n%s"
                        "--- %s console (tail) ---\n%s" % (
                            phase, rc, phase, tail(self.path(phase + ".log")),
                            guest.name, tail(guest.console, 20)))

    def run(self):
        a = self.args
        kernel, version = find_kernel(a.kernel)
        initrd = build_initramfs(version, cache_dir(a.build_dir))
        self.run_dir = tempfile.mkdtemp(prefix="iiofab-lab-")
        board = self.guests
        self.write_cmd("board", a.board)
        for i in range(1, a.hosts + 1):
            self.write_cmd(guest_name(i), a.host or "true")
        if a.board_after:
            self.write_cmd("board-after", a.board_after)
        failures = []
        try:
            self.start_guests(kernel, initrd)
            board = self.guests[0]
            self.wait_booted()
            self.wait_until("the board command",
                            lambda: read_rc(self.path("board.rc")) is not None,
                            [board])
            rc = read_rc(self.path("board.rc"))
            self.log("board command exited %d" % rc)
            if rc != 0:
                failures.append(self.phase_failure("board", board, rc))
            else:
                hosts = self.guests[1:]
                def host_done(h):
                    return read_rc(self.path(h.name + ".rc")) is not None
                self.wait_until("the host commands",
                                lambda: all(host_done(h) for h in hosts),
                                hosts, host_done)
                self.log("host commands finished")
                for h in hosts:
                    rc = read_rc(self.path(h.name + ".rc"))
                    if rc != 0:
                        failures.append(self.phase_failure(h.name, h, rc))
            open(self.path("board-after.go"), "w").close()
            self.wait_until("the board-after command", lambda: read_rc(
                self.path("board-after.rc")) is not None, [board])
            rc = read_rc(self.path("board-after.rc"))
            self.log("board-after command exited %d" % rc)
            if rc != 0:
                failures.append(self.phase_failure("board-after", board, rc))
            # Give guests a moment to write dmesg and power off by themselves.
            end = time.monotonic() + 15
            while time.monotonic() < end and not all(
                    g.exited() for g in self.guests):
                time.sleep(self.POLL)
        except LabError as e:
            failures.append(e)
        finally:
            self.kill_all()
            self.collect()
        for phase in ["board"] + [g.name for g in self.guests[1:]] + [
                "board-after"]:
            log = self.path(phase + ".log")
            if os.path.exists(log) and os.path.getsize(log):
                print("=== %s ===" % phase)
                with open(log, errors="replace") as f:
                    sys.stdout.write(f.read())
        sys.stdout.flush()
        if failures:
            for f in failures:
                print("lab: FAILED: %s" % f, file=sys.stderr)
            return 1
        return 0

    def collect(self):
        if self.run_dir is None:
            return
        if self.args.out:
            os.makedirs(self.args.out, exist_ok=True)
            shutil.copytree(self.run_dir, self.args.out, dirs_exist_ok=True)


def main(argv):
    args = parse_args(argv)
    lab = Lab(args)

    def on_signal(signum, frame):
        lab.kill_all()
        raise SystemExit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        return lab.run()
    except LabError as e:
        print("lab: FAILED: %s" % e, file=sys.stderr)
        return 1
    finally:
        lab.kill_all()
        if lab.run_dir and not os.environ.get("IIOFAB_LAB_KEEP"):
            shutil.rmtree(lab.run_dir, ignore_errors=True)
