"""Chip authenticity of travel documents: passive, active and chip authentication.

``read_chip`` (:mod:`.read`) reads a chip through a document reader;
``verify_chip`` (:mod:`.verdict`) turns the reading into verdicts:
passive authentication of EF.SOD against the CSCA trust store (:mod:`.trust`),
every data group's hash, DG1 against the optically read MRZ, and Active
Authentication (DG15) when the chip has it.
"""
