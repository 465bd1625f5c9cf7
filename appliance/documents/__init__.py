"""Document engines: the chip of a passport or residence permit (and the MRZ)."""
