"""Short titles of the sources rules cite (the keys of typologies.md §0.1)."""

from __future__ import annotations

__all__ = ["SOURCE_TITLES", "source_title"]

SOURCE_TITLES = {
    "FIN20": "FinCEN FIN-2020-A008, Supplemental Advisory on Human Trafficking (2020)",
    "FIN14": "FinCEN FIN-2014-A008, Human Smuggling and Trafficking Red Flags (2014)",
    "FATF18": "FATF-APG, Financial Flows from Human Trafficking (2018)",
    "FTR16": "FINTRAC-2016-OA003, Laundering of proceeds of sexual exploitation (2016)",
    "FTR21": "FINTRAC-2021-OA001, Updated indicators, sexual exploitation (2021)",
    "AUS-FSS": "AUSTRAC / Fintel Alliance, Detecting and stopping forced sexual servitude (2022)",
    "AUS-CSE": "AUSTRAC, Combating the sexual exploitation of children for financial gain",
    "AUS-THAI": "AUSTRAC case study, Human trafficking syndicate disrupted",
    "POL": "Polaris, On-Ramps, Intersections, and Exit Routes (2018)",
    "FAST": "FAST, Unlocking Potential: A Blueprint for Mobilizing Finance Against Slavery",
    "RUSI": "RUSI, Disrupting Human Trafficking: The Role of Financial Institutions (2017)",
    "JMLIT": "UK JMLIT expert working group on human trafficking",
    "EBA17": "European Bankers Alliance human-trafficking toolkit (2017)",
    "STT": "STOP THE TRAFFIK, Finance Against Trafficking red flags; Traffik Analysis Hub",
    "EUROPOL": "Europol, The THB Financial Business Model (2015)",
    "MEKONG": "The Mekong Club, Modern Slavery Typologies for Financial Services Providers",
    "ACAMS": "ACAMS Today, Project Protect review; Forced Labour risk indicators",
    "USB19": "ABA Banking Journal, U.S. Bank at the Super Bowl (2019)",
    "AMLW": "Altman et al., Realistic Synthetic Financial Transactions for AML (NeurIPS 2023)",
    "AMLSim": "IBM AMLSim transaction simulator",
    "SAMLD": "Oztas et al., SAML-D synthetic transaction monitoring dataset (2023)",
    "MCC": "Merchant Category Code descriptions",
}


def source_title(key: str) -> str:
    """The title of a source key, or the key itself when unknown."""
    return SOURCE_TITLES.get(key, key)
