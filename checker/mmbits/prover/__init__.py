"""The prover: is this bit free? Proved over every config of a domain.

    from mmbits.prover import check
    result = check(proposal, domain=load_domain("default"))
    result.verdict, result.findings

`engine` runs the domain proof, `analyse` answers for one config, `site`
says where a word sits and what it is for, `rules` holds one analysis per
word role, `expr` prepares the C expression, `facts` loads the data they
read, `lifecycle` hands set/test/clear steps to the emulator, `text` and
`explain` print the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbits.prover.engine import check
    from mmbits.prover.result import CheckResult

__all__ = ["CheckResult", "check"]


def __getattr__(name: str) -> Any:
    # lazy: printing a cached answer (mmbits.prover.cache) must not import the engine
    if name == "check":
        from mmbits.prover.engine import check

        return check
    if name == "CheckResult":
        from mmbits.prover.result import CheckResult

        return CheckResult
    raise AttributeError(name)
