"""python -m mmbits.schemas > docs/json-schemas.md"""

from mmbits.schemas import markdown

print(markdown(), end="")
