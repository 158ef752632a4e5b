"""CDISC out: ADaM datasets (XPT v5, Dataset-JSON 1.1, CSV), Define-XML 2.1 and the cards ARD, built from an output folder."""
