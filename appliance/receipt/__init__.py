"""The applicant's receipt on paper: a bilingual page rendered here, printed by a driver."""
