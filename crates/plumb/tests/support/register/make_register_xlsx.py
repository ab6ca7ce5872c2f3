"""Writes register.xlsx, the fixed-asset register `tests/it/register.rs` reads: a workbook made by
a spreadsheet library (openpyxl), not by plumb, with the same lines as the test's CSV but German
headers (so the test maps them), an asset number typed as a number, and an empty row.

    pip install openpyxl==3.1.5 && python3 make_register_xlsx.py
"""

import datetime

import openpyxl

book = openpyxl.Workbook()
sheet = book.active
sheet.title = "Anlagen"
sheet.append(["Anlage", "Bezeichnung", "Serialnummer", "Standort", "Status", "Aktiviert am"])
rows = [
    ["FA-1", "Dell R760", "SRV-1", "DC1", "in use"],
    [100234, "Dell R660", None, "DC2", "in use"],
    ["FA-3", "MacBook Pro", "c02 ab", "London", "in use"],
    ["FA-6", "HP DL380", None, None, "in use"],
    [None, None, None, None, None],
    ["FA-7", "Switch", None, None, "in use"],
    ["FA-8", "Firewall", None, None, "in use"],
    ["FA-8", "Firewall spare", None, None, "in use"],
    ["FA-9", "Old NAS", None, "DC1", "Scrapped"],
]
for row in rows:
    sheet.append(row + [datetime.date(2024, 3, 11)] if row[0] else row)
# Fixed times, so running the script again writes the same file.
book.properties.created = datetime.datetime(2026, 12, 1)
book.properties.modified = datetime.datetime(2026, 12, 1)
book.save("register.xlsx")
