"""Publishing model images: contract tests, guarded pushes, and (for notebooks) service builds.

- :mod:`.contract`: ``mlk test``: every manifest example through the platform's
  executor, the contract checked (:func:`contract_test`, :class:`ContractReport`).
- :mod:`.publish`: ``mlk push``: only tested images, never over another digest,
  ``:latest`` to the highest version (:func:`publish`, :class:`PublishRefused`).
- :mod:`.records`: what the store keeps of builds, tests and pushes.
"""

from mlrun_kernel.builds.contract import ContractReport, ContractTestError, ExampleResult, contract_test
from mlrun_kernel.builds.publish import Published, PublishRefused, publish

__all__ = [
    "ContractReport",
    "ContractTestError",
    "ExampleResult",
    "PublishRefused",
    "Published",
    "contract_test",
    "publish",
]
