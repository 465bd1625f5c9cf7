"""Three-letter codes allowed for the issuing state and the nationality in an MRZ.

ICAO Doc 9303 part 3, section 5: the ISO 3166-1 alpha-3 codes, plus the codes
ICAO adds for Germany (``D``), the United Kingdom's other classes of national,
the United Nations, the European Union, stateless persons and refugees,
Kosovo and listed international organisations. ``UTO`` (Utopia) is the
fictitious state of ICAO's specimens: it is accepted and flagged as specimen.
"""

from __future__ import annotations

ISO_3166_ALPHA3 = frozenset(
    """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA
    BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN
    CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU
    EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB
    GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL
    ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO
    LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR
    MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER
    PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM
    SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK
    TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM
    VUT WLF WSM YEM ZAF ZMB ZWE
    """.split()
)

#: Codes ICAO Doc 9303 part 3 adds to ISO 3166-1, with their meaning.
ICAO_SPECIAL: dict[str, str] = {
    "D": "Germany",
    "EUE": "European Union",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNA": "specialized agency of the United Nations",
    "UNK": "resident of Kosovo, UN interim administration (UNMIK)",
    "UNO": "United Nations Organization",
    "RKS": "Kosovo",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XDC": "Southern African Development Community",
    "XEC": "Economic Community of West African States",
    "XES": "Organisation of Eastern Caribbean States",
    "XMP": "Parliamentary Assembly of the Mediterranean",
    "XOM": "Sovereign Military Order of Malta",
    "XPO": "International Criminal Police Organization (Interpol)",
    "XXA": "stateless person (1954 Convention)",
    "XXB": "refugee (1951 Convention)",
    "XXC": "refugee (other)",
    "XXX": "unspecified nationality",
}

SPECIMEN_CODES = frozenset({"UTO"})

KNOWN_CODES = ISO_3166_ALPHA3 | frozenset(ICAO_SPECIAL) | SPECIMEN_CODES


def is_known_code(code: str) -> bool:
    """True for a code ICAO allows (fillers already removed: ``D<<`` is ``D``)."""
    return code in KNOWN_CODES
