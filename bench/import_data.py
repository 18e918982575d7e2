"""Files for bench/import_bench.py: an ideal import file and a realistic CRM export, both seeded.

Ideal: 16 known columns under their field names, every phone in one format, every email valid, no repeat,
no quoted field. Realistic: a CRM's export of 16 columns (12 known under their CRM names, 4 unknown),
mobiles in five common formats, ~1% invalid emails, ~0.5% invalid mobiles, ~0.5% repeats of an earlier
contact (their email in another case, their mobile in another format, a few lines to many batches back),
quoted cells holding commas and line breaks, accented names.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

IDEAL_HEADER = ["civility", "first_name", "last_name", "email", "fixed_phone", "mobile", "fax", "address_1",
                "address_2", "postal_code", "city", "state", "country", "birth_date", "company", "reference"]

REAL_HEADER = ["Salutation", "First Name", "Last Name", "Email", "Mobile Phone", "Phone", "Street Address",
               "Postal Code", "City", "Country", "Company", "Birthdate",
               "Lead Source", "Contact Owner", "Notes", "Last Activity Date"]  # the last four: no field

FIRST = ["Jean", "Hélène", "François", "Zoë", "Amélie", "Jérôme", "Léa", "Noël", "Maëlle", "Loïc", "Anaïs", "Gaëtan",
         "Björn", "Jürgen", "Søren", "Ana", "José", "Inès", "Chloé", "Théo", "Marie", "Pierre", "Sophie", "Lucas"]
LAST = ["Martin", "Bernard", "Dubois", "Müller", "Lefèvre", "Garçon", "Nuñez", "Da Silva", "O'Brien", "Rousseau",
        "Lambert", "Bonnet", "François", "Mercier", "Dupont", "Blanc", "Guérin", "Boyer", "Fontaine", "Chevalier"]
CITIES = ["Paris", "Lyon", "Marseille", "Saint-Étienne", "Besançon", "Orléans", "Nîmes", "Béziers", "Évry",
          "Clermont-Ferrand"]
STREETS = ["rue de la Paix", "avenue des Champs-Élysées", "boulevard Saint-Germain", "place de l'Église",
           "chemin des Prés", "allée des Tilleuls"]
SOURCES = ["Website", "Trade show", "Referral", "Cold call", "Partner", "LinkedIn"]
OWNERS = ["alice@corp.example", "bob@corp.example", "claire@corp.example"]
NOTES = ["", "", "", "Called, will call back", "Interested in the premium plan, asked for a quote",
         "Met at the fair\nwants a demo", "Prefers email, not calls; \"do not call\" before 10am"]
BAD_EMAILS = ["{u}@", "{u}.example.com", "{u}@example", "{u} x@example.com", "{u}@@example.com", "@example.com"]
MOBILE_PREFIXES = ("61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78")  # valid French mobiles
BAD_MOBILES = ["06 12 34", "+33 6 12 34 56 78 99", "0612-34-56", "12345", "+33 0 00 00 00 00"]


def ideal_row(i: int) -> list[str]:
    return ["M", f"First{i}", f"Last{i}", f"user{i}@example{i % 100}.com", "", f"06{i:08d}", "",
            f"{i} rue de la Paix", "", "75001", "Paris", "", "France", "1980-01-01", f"Acme {i % 50}", f"R{i}"]


def write_ideal(path: Path, n: int) -> None:
    with path.open("w") as out:
        out.write(",".join(IDEAL_HEADER) + "\n")
        for i in range(n):
            out.write(",".join(ideal_row(i)) + "\n")


def _mobile(digits: str, style: int) -> str:
    """A French mobile's 9 digits after the 0, written in one of the five formats of CRM exports."""
    pairs = " ".join(digits[k:k + 2] for k in range(1, 9, 2))
    if style == 0:
        return f"+33 {digits[0]} {pairs}"
    if style == 1:
        return "0" + digits
    if style == 2:
        return "0" + digits[0] + "." + pairs.replace(" ", ".")
    if style == 3:
        return "+33" + digits
    return f"0{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:9]}"


def real_rows(n: int, seed: int = 17):
    """The realistic file's rows (without the header)."""
    rnd = random.Random(seed)
    people: list[tuple[str, str, str, str]] = []  # (first, last, email, mobile digits) of rows so far
    for i in range(n):
        repeat = i > 100 and rnd.random() < 0.005
        if repeat:  # an earlier contact again: another case, another phone format, other cells
            first, last, email, digits = people[max(0, i - 1 - int(rnd.expovariate(1 / 8000)))]
            email = email.upper() if rnd.random() < 0.5 else email.capitalize()
        else:
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            email = f"{first[0].lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{i}@example{i % 97}.fr"
            email = email.encode("ascii", "ignore").decode()
            digits = rnd.choice(MOBILE_PREFIXES) + f"{i:07d}"
        people.append((first, last, email, digits))
        mobile = _mobile(digits, rnd.randrange(5))
        if rnd.random() < 0.01:
            email = rnd.choice(BAD_EMAILS).format(u=f"user{i}")
        if rnd.random() < 0.005:
            mobile = rnd.choice(BAD_MOBILES)
        phone = f"01 {rnd.randrange(10, 100)} {rnd.randrange(10, 100)} {rnd.randrange(10, 100)} {rnd.randrange(10, 100)}" \
            if rnd.random() < 0.3 else ""
        street = f"{rnd.randrange(1, 200)}, {rnd.choice(STREETS)}" + ("\nBâtiment B" if rnd.random() < 0.05 else "")
        yield [rnd.choice(("M.", "Mme", "")), first, last, email, mobile, phone, street, f"{rnd.randrange(1000, 96000):05d}",
               rnd.choice(CITIES), "France", f"{rnd.choice(LAST)}, {rnd.choice(('SARL', 'SA', 'SAS'))}",
               f"{rnd.randrange(1940, 2005)}-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}" if rnd.random() < 0.4 else "",
               rnd.choice(SOURCES), rnd.choice(OWNERS), rnd.choice(NOTES), f"2026-{rnd.randrange(1, 12):02d}-15 10:30"]


def write_real(path: Path, n: int, seed: int = 17) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)  # quotes the cells with commas, quotes and line breaks, as CRM exports do
        w.writerow(REAL_HEADER)
        w.writerows(real_rows(n, seed))


def write_xlsx(path: Path, n: int, realistic: bool) -> None:
    """With openpyxl, as spreadsheet apps write them (shared strings); run in a child process by the bench."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(REAL_HEADER if realistic else IDEAL_HEADER)
    for r in (real_rows(n) if realistic else map(ideal_row, range(n))):
        ws.append(r)
    wb.save(path)
