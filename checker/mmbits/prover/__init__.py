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

from mmbits.prover.engine import CheckResult, check

__all__ = ["CheckResult", "check"]
