"""The default aliases: headers of the exports people have, matched to built-in fields (see fields.fold)."""

from __future__ import annotations

from .models import BUILTIN_FIELDS

# Headers of common exports (HubSpot, Salesforce, Mailchimp, Brevo, Google Contacts, Outlook, Zoho; English and
# French) and v3-style attribute names (FNAME, LNAME, SMS). Each seed is added to an account once, in order:
# a new account receives them all, an account seeded earlier receives the later ones (account column
# aliases_seeded holds how many it has). An alias already taken in the account (moved, or added by the
# user) or named like a custom field is skipped; a default the user removed is never put back.
ALIAS_SEEDS: tuple[dict[str, tuple[str, ...]], ...] = (
    {  # 1: the first defaults, less "Title"/"Titre" for civility (a job title in Salesforce and Zoho exports)
        "ext_id": ("External id", "External ID", "CRM id", "Identifiant externe"),
        "email": ("E-mail", "Email address", "E-mail address", "Mail", "Courriel", "Adresse email", "Adresse e-mail",
                  "Adresse mail"),
        "mobile": ("Mobile phone", "Mobile number", "Cell", "Cell phone", "Cellphone", "Portable",
                   "Téléphone portable", "Tel portable", "Numéro de portable", "Numéro mobile", "GSM"),
        "fixed_phone": ("Phone", "Phone number", "Telephone", "Téléphone", "Tel", "Téléphone fixe", "Fixe",
                        "Landline", "Home phone", "Work phone"),
        "fax": ("Fax number", "Télécopie"),
        "civility": ("Salutation", "Civilité"),
        "first_name": ("First name", "Firstname", "Given name", "Prénom"),
        "last_name": ("Last name", "Lastname", "Surname", "Family name", "Nom", "Nom de famille"),
        "address_1": ("Address", "Address line 1", "Street", "Adresse", "Adresse 1", "Rue"),
        "address_2": ("Address line 2", "Adresse 2", "Complément d'adresse"),
        "postal_code": ("Zip", "Zip code", "Postcode", "Post code", "Code postal", "CP"),
        "city": ("Town", "Ville", "Commune"),
        "state": ("Region", "Province", "County", "Région"),
        "country": ("Pays", "Country code"),
        "birth_date": ("Birthday", "Date of birth", "DOB", "Birthdate", "Date de naissance"),
        "company": ("Organization", "Organisation", "Company name", "Société", "Entreprise", "Raison sociale"),
        "reference": ("Ref", "Référence", "Customer number", "Numéro client"),
    },
    {  # 2: the exports people have (HubSpot's mobiles were dropped) and v3-style attribute names
        "email": ("E-mail 1 - Value", "Adresse de messagerie", "Adresse électronique"),
        "mobile": ("Mobile Phone Number", "SMS", "Phone 1 - Value", "Tél. mobile", "Téléphone mobile",
                   "Numéro de mobile"),
        "fixed_phone": ("LANDLINE_NUMBER", "Business Phone", "Téléphone (bureau)", "Téléphone (domicile)",
                        "Téléphone domicile", "Téléphone professionnel"),
        "fax": ("Business Fax", "Télécopie (bureau)"),
        "civility": ("Name Prefix", "Prefix"),
        "first_name": ("FNAME",),
        "last_name": ("LNAME",),
        "address_1": ("Street Address", "Mailing Street", "Business Street", "Address 1 - Street", "Rue (bureau)",
                      "Adresse postale"),
        "address_2": ("Address 1 - Extended Address", "Business Street 2", "Rue (bureau) 2"),
        "postal_code": ("Mailing Zip/Postal Code", "Mailing Zip", "Mailing Postal Code", "Zip/Postal Code",
                        "Address 1 - Postal Code", "Business Postal Code", "Code postal (bureau)"),
        "city": ("Mailing City", "Address 1 - City", "Business City", "Ville (bureau)"),
        "state": ("State/Region", "Mailing State/Province", "Mailing State", "State/Province", "Address 1 - Region",
                  "Business State", "Dép/Région (bureau)"),
        "country": ("Country/Region", "Mailing Country", "Address 1 - Country", "Business Country/Region",
                    "Pays/Région (bureau)", "Pays/Région", "CC"),
        "birth_date": ("Anniversaire",),
        "company": ("Account Name", "Organization Name", "Organization 1 - Name", "Nom du compte",
                    "Nom de l'entreprise"),
    },
)
SEED_VERSION = len(ALIAS_SEEDS)
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    name: tuple(a for seed in ALIAS_SEEDS for a in seed.get(name, ())) for name in ("ext_id", *BUILTIN_FIELDS)}
