#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unit.exports: the functions declared in iiofab.h, the names the export
map lists and the functions libiiofab.so exports are the same three sets.

    check_exports.py HEADER MAP LIBRARY
"""
import re
import subprocess
import sys


def header_functions(path):
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)
    names = set()
    # A declaration ends at ';' at file scope (the header has no bodies).
    for decl in text.split(";"):
        decl = " ".join(decl.split())
        if decl.startswith("typedef") or "(" not in decl:
            continue
        m = re.search(r"\b(iiofab_\w+)\s*\(", decl)
        if m and not re.search(r"\(\s*\*\s*" + m.group(1), decl):
            names.add(m.group(1))
    return names


def map_names(path):
    text = re.sub(r"/\*.*?\*/", " ", open(path).read(), flags=re.S)
    glob = text.split("global:", 1)[1].split("local:", 1)[0]
    names = [n.strip() for n in glob.split(";") if n.strip()]
    bad = [n for n in names if not re.fullmatch(r"iiofab_\w+", n)]
    if bad:
        sys.exit("export map: patterns or odd names %s: list each symbol" % bad)
    return set(names)


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWi":
            names.add(parts[2].split("@")[0])
    return names


def main(argv):
    hdr, mp, lib = header_functions(argv[1]), map_names(argv[2]), exported(argv[3])
    ok = True
    for what, a, b in (("declared in the header but not in the map", hdr, mp),
                       ("in the map but not declared in the header", mp, hdr),
                       ("declared but not exported by the library", hdr, lib),
                       ("exported but not declared in the header", lib, hdr)):
        missing = sorted(a - b)
        if missing:
            ok = False
            print("%s: %s" % (what, ", ".join(missing)))
    print("%d functions declared, %d in the map, %d exported" % (len(hdr), len(mp), len(lib)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
