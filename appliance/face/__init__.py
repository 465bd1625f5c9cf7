"""Face capture quality: ICAO 9303 / ISO/IEC 39794-5 compliance measured with the
ISO/IEC 29794-5 component set (as BSI's OFIQ implements it), live guidance and
the ISO/IEC 19794-5 token image.

Import the submodules directly; this package keeps its import light.
"""
