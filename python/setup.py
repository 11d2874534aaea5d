# SPDX-License-Identifier: MIT
# pip install ./python: the pure-Python binding alone, which finds
# libiiofab through IIOFAB_LIBRARY or the loader (cmake --install installs
# the package next to the library and records the library's path instead).
from setuptools import setup

setup(
    name="iiofab",
    version="0.1.0",
    description="Samples of a remote Linux IIO converter over RDMA, as numpy arrays",
    license="MIT",
    packages=["iiofab"],
    python_requires=">=3.9",
    install_requires=["numpy"],
)
