"""mmbits: proofs about bits in Linux page descriptors.

Kept import-light on purpose: the console script and the pytest plugin import
this package at start-up, so nothing heavy may be imported here.
"""

__version__ = "0.1.0"
