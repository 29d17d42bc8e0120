"""A fixed UTC offset (whole hours) per country, for "night in the account's own country".

Why fixed and coarse: the hour-of-day histogram is kept per UTC hour, so local time is a shift of
whole hours. Daylight saving is ignored (standard time); countries spanning several zones get the
zone where most people live (US: Eastern; Russia: Moscow; Brazil: Brasilia; Australia: Sydney;
Canada: Eastern; China: one zone); half-hour zones are rounded half up (India +5:30 -> +6).
A night window of 6 hours tolerates the one-hour error these choices make.
"""

from __future__ import annotations

COUNTRY_UTC_OFFSET: dict[str, int] = {
    # Americas
    "US": -5, "CA": -5, "MX": -6, "BR": -3, "AR": -3, "CL": -4, "CO": -5, "PE": -5,
    "VE": -4, "EC": -5, "UY": -3, "PY": -4, "BO": -4, "CR": -6, "PA": -5, "GT": -6,
    "DO": -4, "CU": -5, "PR": -4, "JM": -5,
    # Europe
    "GB": 0, "IE": 0, "PT": 0, "IS": 0, "ES": 1, "FR": 1, "DE": 1, "IT": 1, "NL": 1, "BE": 1,
    "LU": 1, "CH": 1, "AT": 1, "PL": 1, "CZ": 1, "SK": 1, "HU": 1, "SE": 1, "NO": 1, "DK": 1,
    "SI": 1, "HR": 1, "RS": 1, "BA": 1, "ME": 1, "MK": 1, "AL": 1, "MT": 1, "FI": 2, "EE": 2,
    "LV": 2, "LT": 2, "UA": 2, "RO": 2, "BG": 2, "GR": 2, "CY": 2, "MD": 2, "BY": 3, "RU": 3,
    "TR": 3,
    # Middle East and Africa
    "IL": 2, "PS": 2, "JO": 3, "LB": 2, "SY": 3, "IQ": 3, "SA": 3, "AE": 4, "QA": 3, "KW": 3,
    "BH": 3, "OM": 4, "IR": 4, "EG": 2, "ZA": 2, "NG": 1, "KE": 3, "ET": 3, "GH": 0, "MA": 1,
    "DZ": 1, "TN": 1, "SN": 0, "CI": 0, "CM": 1, "UG": 3, "TZ": 3, "RW": 2, "ZW": 2,
    # Asia and Oceania
    "IN": 6, "PK": 5, "BD": 6, "LK": 6, "NP": 6, "AF": 5, "KZ": 5, "UZ": 5, "GE": 4, "AM": 4,
    "AZ": 4, "CN": 8, "HK": 8, "MO": 8, "TW": 8, "JP": 9, "KR": 9, "KP": 9, "MN": 8, "SG": 8,
    "MY": 8, "PH": 8, "ID": 7, "TH": 7, "VN": 7, "KH": 7, "LA": 7, "MM": 7, "AU": 10, "NZ": 12,
}

