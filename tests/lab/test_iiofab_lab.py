# SPDX-License-Identifier: MIT
"""Unit tests for the lab harness's own logic (no QEMU is started)."""
import os
import socket
import tempfile
import unittest

import iiofab_lab as lab


class Addressing(unittest.TestCase):
    def test_names_and_addresses(self):
        self.assertEqual(lab.guest_name(0), "board")
        self.assertEqual(lab.guest_name(3), "host3")
        self.assertEqual(lab.guest_addr(0), "10.77.0.1")
        self.assertEqual(lab.guest_addr(2), "10.77.0.3")

    def test_macs_unique(self):
        macs = {lab.guest_mac(i, n) for i in range(9) for n in range(9)}
        self.assertEqual(len(macs), 81)


class Cmdline(unittest.TestCase):
    def test_board_gets_one_nic_per_host(self):
        line = lab.kernel_cmdline(0, 3, "/r", "/r/build")
        self.assertIn("iiofab.role=board", line)
        self.assertIn("iiofab.nics=3", line)
        self.assertIn("iiofab.addr=10.77.0.1", line)

    def test_board_alone_still_has_a_nic(self):
        self.assertIn("iiofab.nics=1", lab.kernel_cmdline(0, 0, "/r", "/b"))

    def test_host(self):
        line = lab.kernel_cmdline(2, 3, "/r", "/b", "foo=1")
        self.assertIn("iiofab.role=host", line)
        self.assertIn("iiofab.name=host2", line)
        self.assertIn("iiofab.board=10.77.0.1", line)
        self.assertTrue(line.endswith("foo=1"))

    def test_spaces_rejected(self):
        with self.assertRaises(lab.LabError):
            lab.kernel_cmdline(0, 1, "/a b", "/b")


class RxeMode(unittest.TestCase):
    def test_stock_adds_nothing(self):
        self.assertEqual(lab.rxe_cmdline("stock", "/b"), "")

    def test_dmabuf_names_module_and_shim(self):
        with tempfile.TemporaryDirectory() as d:
            ko = os.path.join(d, "rdma_rxe.ko")
            shim = os.path.join(d, lab.RXE_DMABUF_SHIM)
            os.makedirs(os.path.dirname(shim))
            open(ko, "w").close()
            open(shim, "w").close()
            line = lab.rxe_cmdline("dmabuf", d, ko)
            self.assertIn("iiofab.rxe_ko=" + ko, line)
            self.assertIn("iiofab.preload=" + shim, line)

    def test_dmabuf_missing_pieces_fail(self):
        with tempfile.TemporaryDirectory() as d:
            ko = os.path.join(d, "rdma_rxe.ko")
            with self.assertRaises(lab.LabError):
                lab.rxe_cmdline("dmabuf", d, ko)
            open(ko, "w").close()
            with self.assertRaises(lab.LabError):
                lab.rxe_cmdline("dmabuf", d, ko)


class QemuArgv(unittest.TestCase):
    def argv(self, index, accel="tcg"):
        return lab.qemu_argv(index, 2, accel, "/k", "/i", 512, "/r", "/r/b",
                             "/run", "/c", [4001, 4002])

    def test_board_listens_on_every_port(self):
        a = " ".join(self.argv(0))
        self.assertIn("listen=127.0.0.1:4001", a)
        self.assertIn("listen=127.0.0.1:4002", a)
        self.assertNotIn("connect=", a)

    def test_host_connects_to_its_port(self):
        a = " ".join(self.argv(2))
        self.assertIn("connect=127.0.0.1:4002", a)
        self.assertNotIn("listen=", a)

    def test_root_is_read_only_repo_is_not(self):
        a = self.argv(1)
        shares = [a[i + 1] for i, v in enumerate(a) if v == "-virtfs"]
        root = [s for s in shares if "mount_tag=hostroot" in s][0]
        repo = [s for s in shares if "mount_tag=repo" in s][0]
        self.assertIn("readonly=on", root)
        self.assertNotIn("readonly", repo)

    def test_accel(self):
        self.assertIn("tcg,thread=multi", self.argv(0, "tcg"))
        self.assertIn("kvm", self.argv(0, "kvm"))
        self.assertIn("-no-reboot", self.argv(0))


class Accel(unittest.TestCase):
    def test_explicit_wins(self):
        self.assertEqual(lab.choose_accel("tcg", usable=True), "tcg")
        self.assertEqual(lab.choose_accel("kvm", usable=False), "kvm")

    def test_auto(self):
        self.assertEqual(lab.choose_accel("auto", usable=True), "kvm")
        self.assertEqual(lab.choose_accel("auto", usable=False), "tcg")

    def test_paravirtual_kvm_without_vmx_is_not_used(self):
        with tempfile.NamedTemporaryFile("w") as cpu, \
                tempfile.NamedTemporaryFile() as dev:
            cpu.write("flags\t\t: fpu sse2 hypervisor\n")
            cpu.flush()
            self.assertFalse(lab.kvm_usable(dev.name, cpu.name))
            cpu.write("flags\t\t: fpu vmx sse2\n")
            cpu.flush()
            self.assertTrue(lab.kvm_usable(dev.name, cpu.name))


class Ports(unittest.TestCase):
    def test_free_ports_distinct_and_bindable(self):
        ports = lab.free_ports(4)
        self.assertEqual(len(set(ports)), 4)
        for p in ports:
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            s.close()

    def test_port_listening(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        self.assertFalse(lab.port_listening(port))
        s.listen()
        try:
            self.assertTrue(lab.port_listening(port))
        finally:
            s.close()


class ExitStatus(unittest.TestCase):
    def test_read_rc(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.rc")
            self.assertIsNone(lab.read_rc(p))
            with open(p, "w") as f:
                f.write("3\n")
            self.assertEqual(lab.read_rc(p), 3)
            with open(p, "w") as f:
                f.write("")
            self.assertIsNone(lab.read_rc(p))
            with open(p, "w") as f:
                f.write("garbage")
            with self.assertRaises(lab.LabError):
                lab.read_rc(p)


class Arguments(unittest.TestCase):
    def test_defaults(self):
        a = lab.parse_args(["run", "--board", "true"])
        self.assertEqual(a.hosts, 1)
        self.assertIsNone(a.host)

    def test_rejects(self):
        for argv in (["run"], ["run", "--board", "x", "--hosts", "99"],
                     ["run", "--board", "x", "--hosts", "0", "--host", "y"],
                     ["run", "--board", "x", "--timeout", "0"]):
            with self.assertRaises(SystemExit):
                lab.parse_args(argv)


if __name__ == "__main__":
    unittest.main()
