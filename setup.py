"""The import package `pagebits` lives in checker/ (the design card's name) and
ships the declarative layouts from layouts/ as package data."""

from pathlib import Path

from setuptools import setup

here = Path(__file__).parent
subpackages = sorted(
    "pagebits." + ".".join(p.parent.relative_to(here / "checker").parts)
    for p in (here / "checker").rglob("__init__.py")
    if p.parent != here / "checker"
)
setup(
    packages=["pagebits", *subpackages, "pagebits.layouts"],
    package_dir={"pagebits": "checker", "pagebits.layouts": "layouts"},
    package_data={"pagebits.layouts": ["*/*.yaml", "*.md"]},
    include_package_data=False,
)
