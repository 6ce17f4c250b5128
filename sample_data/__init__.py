"""The synthetic bank generator of moneytrail and its small shipped sample (`sample_data/bank`).

`generate(customers, days, seed, out)` writes transactions, customers, accounts, the reference
lists used and, separately, the planted truth (scenarios S1-S8 and benign look-alikes of
typologies.md §7).
"""

from sample_data.generator import GeneratedBank, generate

__all__ = ["GeneratedBank", "generate"]
