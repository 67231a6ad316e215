"""The seeds development has used, in one place, and the seed a record (the confirmation run) starts at.

A run at base seed ``s`` draws seeds ``s, s + 1, …`` (one per replicate). Development ran at the bases
below (quick at 0, the stability check at 11, 22 and 33, scratch runs at 0) with at most ``SPAN``
replicates, so every seed under ``RECORD`` has been seen by development, and a record, which starts at
``RECORD``, draws only seeds that no rule was tuned on.
"""
DEVELOPMENT_BASES = (0, 11, 22, 33)
STABILITY = (11, 22, 33)        # picked once, never tuned on: a quick verdict must not move between them
SPAN = 100                      # replicates a run may draw from its base seed, at most
RECORD = 1000                   # the record's base seed


def development() -> set[int]:
    return {base + i for base in DEVELOPMENT_BASES for i in range(SPAN)}


def is_development(seed: int) -> bool:
    return seed < RECORD
