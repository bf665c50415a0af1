"""SaveLedger: per pair, the change count handed to the saver and the one that landed on disk.

A learner's `changes` (PairLearner.changes) rises with every change a save must keep. The
runtime notes the count it hands over with each save (`handed_over`) and the saver reports the
count of each version that landed (`landed`, from a writer thread). From the two:
`since_handed_over` (how many changes a new save would add: the save cadence),
`not_handed_over` (what shutdown still has to queue) and `unsaved` (what is not on disk).
Counts are compared within one process only. Plain dicts; knows nothing of TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping


class SaveLedger:
    def __init__(self) -> None:
        self._submitted: dict[str, int] = {}  # changes at the last save handed to the saver
        self._durable: dict[str, int] = {}    # changes of the last version that landed

    def start(self, pair: str, changes: int) -> None:
        """A learner just restored or created: its state as it is counts as saved."""
        self._submitted[pair] = self._durable[pair] = changes

    def handed_over(self, pair: str, changes: int) -> None:
        self._submitted[pair] = changes

    def landed(self, pair: str, changes: int) -> None:
        """A version with `changes` landed; an older save landing later does not undo it."""
        self._durable[pair] = max(self._durable.get(pair, 0), changes)

    def since_handed_over(self, pair: str, changes: int) -> int:
        return changes - self._submitted[pair]

    def not_handed_over(self, changes: Mapping[str, int]) -> list[str]:
        """The pairs of `changes` (pair -> its learner's count now) changed since their last
        save was handed over, in the mapping's order."""
        return [p for p, count in changes.items() if count != self._submitted.get(p)]

    def unsaved(self, changes: Mapping[str, int]) -> list[str]:
        """The pairs of `changes` whose count now has not landed on disk."""
        return [p for p, count in changes.items() if count != self._durable.get(p)]
