"""Test shim standing in for TRex's trex_stl_lib package (see ../README.md).

Used only by tests/loadtest when TRex's own library is absent, and alongside it to compare.
"""
SHIM = True
