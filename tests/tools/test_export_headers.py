"""Default aliases: the CSV exports people have (HubSpot, Salesforce, Mailchimp, Brevo, Google Contacts, Outlook,
Zoho; English and French) are imported through the MCP client with every contact column in its field."""

import sqlite3

import pytest
from mcp import Client

from contacts_mcp.core.aliases import ALIAS_SEEDS, DEFAULT_ALIASES
from contacts_mcp.core.fields import ALL_BUILTINS, fold
from contacts_mcp.server.app import build_server

from ..conftest import call, raw_db
from .test_imports import contacts, run_import

# The conftest adds the anyio marker after collection, too late for parametrized coroutine tests.
pytestmark = pytest.mark.anyio

# Each source: its real header row, one contact line, the fields the contact must hold, and the columns
# that must not be reported unknown (every contact column of the export).
SOURCES = {
    "hubspot": (
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Street Address,City,State/Region,"
        "Postal Code,Country/Region,Company Name,Job Title,Contact owner,Lifecycle Stage,Create Date",
        "101,Ann,Lee,ann@example.com,01 44 55 66 77,06 12 34 56 78,1 rue Vieille,Paris,IDF,75004,France,Acme,"
        "CEO,Bob,lead,2024-01-02",
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "fixed_phone": "+33144556677",
         "mobile": "+33612345678", "address_1": "1 rue Vieille", "city": "Paris", "state": "IDF",
         "postal_code": "75004", "country": "France", "company": "Acme"},
    ),
    "salesforce report": (
        "Contact ID,Salutation,First Name,Last Name,Title,Account Name,Email,Phone,Mobile,Fax,Mailing Street,"
        "Mailing City,Mailing State/Province,Mailing Zip/Postal Code,Mailing Country,Birthdate,Lead Source,"
        "Contact Owner",
        "003xx,Ms.,Ann,Lee,CEO,Acme,ann@example.com,01 44 55 66 77,06 12 34 56 78,01 44 55 66 78,1 Main St,"
        "Lyon,ARA,69001,France,1990-05-17,Web,Bob",
        {"civility": "Ms.", "first_name": "Ann", "last_name": "Lee", "company": "Acme", "email": "ann@example.com",
         "fixed_phone": "+33144556677", "mobile": "+33612345678", "fax": "+33144556678", "address_1": "1 Main St",
         "city": "Lyon", "state": "ARA", "postal_code": "69001", "country": "France", "birth_date": "1990-05-17"},
    ),
    "salesforce data loader": (
        "Id,Salutation,FirstName,LastName,Title,Email,Phone,MobilePhone,HomePhone,Fax,MailingStreet,MailingCity,"
        "MailingState,MailingPostalCode,MailingCountry,Birthdate,AccountId",
        "003xx,Mr.,Bob,Ray,CTO,bob@example.com,,0612345678,01 44 55 66 77,,2 Main St,Nice,PACA,06000,France,"
        "1985-01-31,001xx",
        {"civility": "Mr.", "first_name": "Bob", "last_name": "Ray", "email": "bob@example.com",
         "mobile": "+33612345678", "fixed_phone": "+33144556677", "address_1": "2 Main St", "city": "Nice",
         "state": "PACA", "postal_code": "06000", "country": "France", "birth_date": "1985-01-31"},
    ),
    "mailchimp": (
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,"
        "CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,"
        "TAGS",
        'ann@example.com,Ann,Lee,"1 rue Vieille  Paris  75004 FR",06 12 34 56 78,,2,2024-01-02 10:00:00,,'
        "2024-01-02 10:01:00,,48.8,2.3,1,2,Europe/Paris,FR,IDF,2024-02-01 10:00:00,123,abc,,",
        {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
         "address_1": "1 rue Vieille  Paris  75004 FR", "fixed_phone": "+33612345678", "country": "FR",
         "state": "IDF"},
    ),
    "brevo": (
        "CONTACT ID,EMAIL,FIRSTNAME,LASTNAME,SMS,LANDLINE_NUMBER,WHATSAPP,EXT_ID,JOB_TITLE,ADDED_TIME,MODIFIED_TIME",
        "7,ann@example.com,Ann,Lee,33612345678,0144556677,,crm-7,CEO,2024-01-02,2024-02-01",
        {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee", "mobile": "+33612345678",
         "fixed_phone": "+33144556677", "ext_id": "crm-7"},
    ),
    "brevo french": (
        "EMAIL;NOM;PRENOM;SMS;CIVILITE;DATE_DE_NAISSANCE;FNAME;LNAME",
        "ann@example.com;Lee;Ann;+33612345678;Mme;17/05/1990;;",
        {"email": "ann@example.com", "last_name": "Lee", "first_name": "Ann", "mobile": "+33612345678",
         "civility": "Mme", "birth_date": "1990-05-17"},
    ),
    "google contacts": (
        "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,Phonetic Last Name,Name Prefix,"
        "Name Suffix,Nickname,File As,Organization Name,Organization Title,Organization Department,Birthday,Notes,"
        "Photo,Labels,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Address 1 - Label,"
        "Address 1 - Formatted,Address 1 - Street,Address 1 - City,Address 1 - PO Box,Address 1 - Region,"
        "Address 1 - Postal Code,Address 1 - Country,Address 1 - Extended Address",
        "Ann,,Lee,,,,Dr,,,,Acme,CEO,,1990-05-17,,,* myContacts,* Home,ann@example.com,Mobile,+33 6 12 34 56 78,"
        "Home,,1 rue Vieille,Paris,,IDF,75004,France,Bât. B",
        {"first_name": "Ann", "last_name": "Lee", "civility": "Dr", "company": "Acme", "birth_date": "1990-05-17",
         "email": "ann@example.com", "mobile": "+33612345678", "address_1": "1 rue Vieille", "city": "Paris",
         "state": "IDF", "postal_code": "75004", "country": "France", "address_2": "Bât. B"},
    ),
    "google contacts (older export)": (
        "Name,Given Name,Additional Name,Family Name,Name Prefix,Birthday,Group Membership,E-mail 1 - Type,"
        "E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Address 1 - Type,Address 1 - Street,Address 1 - City,"
        "Address 1 - Postal Code,Address 1 - Country,Organization 1 - Type,Organization 1 - Name,"
        "Organization 1 - Title",
        "Ann Lee,Ann,,Lee,,,* myContacts,* Home,ann@example.com,Mobile,06 12 34 56 78,Home,1 rue Vieille,Paris,"
        "75004,France,,Acme,CEO",
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "mobile": "+33612345678",
         "address_1": "1 rue Vieille", "city": "Paris", "postal_code": "75004", "country": "France",
         "company": "Acme"},
    ),
    "outlook": (
        "First Name,Middle Name,Last Name,Title,Suffix,Nickname,E-mail Address,E-mail 2 Address,Home Phone,"
        "Business Phone,Mobile Phone,Business Fax,Job Title,Department,Company,Business Street,Business Street 2,"
        "Business City,Business State,Business Postal Code,Business Country/Region,Home Street,Home City,"
        "Home Postal Code,Home Country/Region,Birthday,Notes",
        "Ann,,Lee,Ms.,,,ann@example.com,,,01 44 55 66 77,06 12 34 56 78,01 44 55 66 78,CEO,Sales,Acme,"
        "1 rue Vieille,Bât. B,Paris,IDF,75004,France,,,,,1990-05-17,",
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "fixed_phone": "+33144556677",
         "mobile": "+33612345678", "fax": "+33144556678", "company": "Acme", "address_1": "1 rue Vieille",
         "address_2": "Bât. B", "city": "Paris", "state": "IDF", "postal_code": "75004", "country": "France",
         "birth_date": "1990-05-17"},
    ),
    "outlook french": (
        "Titre;Prénom;Deuxième prénom;Nom;Suffixe;Société;Service;Fonction;Rue (bureau);Rue (bureau) 2;"
        "Ville (bureau);Dép/Région (bureau);Code postal (bureau);Pays/Région (bureau);Rue (domicile);"
        "Ville (domicile);Télécopie (bureau);Téléphone (bureau);Téléphone (domicile);Tél. mobile;Anniversaire;"
        "Adresse de messagerie;Notes",
        "Mme;Ann;;Lee;;Acme;Ventes;PDG;1 rue Vieille;Bât. B;Paris;IDF;75004;France;;;01 44 55 66 78;"
        "01 44 55 66 77;;06 12 34 56 78;17/05/1990;ann@example.com;",
        {"first_name": "Ann", "last_name": "Lee", "company": "Acme", "address_1": "1 rue Vieille",
         "address_2": "Bât. B", "city": "Paris", "state": "IDF", "postal_code": "75004", "country": "France",
         "fax": "+33144556678", "fixed_phone": "+33144556677", "mobile": "+33612345678",
         "birth_date": "1990-05-17", "email": "ann@example.com"},
    ),
    "zoho": (
        "Record Id,Contact Owner,Lead Source,First Name,Last Name,Account Name,Email,Title,Department,Phone,"
        "Home Phone,Other Phone,Fax,Mobile,Date of Birth,Salutation,Secondary Email,Mailing Street,Other Street,"
        "Mailing City,Other City,Mailing State,Other State,Mailing Zip,Other Zip,Mailing Country,Other Country,"
        "Description",
        "zcrm_1,Bob,Web,Ann,Lee,Acme,ann@example.com,CEO,Sales,01 44 55 66 77,,,,06 12 34 56 78,1990-05-17,Ms.,,"
        "1 rue Vieille,,Paris,,IDF,,75004,,France,,",
        {"first_name": "Ann", "last_name": "Lee", "company": "Acme", "email": "ann@example.com",
         "fixed_phone": "+33144556677", "mobile": "+33612345678", "birth_date": "1990-05-17", "civility": "Ms.",
         "address_1": "1 rue Vieille", "city": "Paris", "state": "IDF", "postal_code": "75004",
         "country": "France"},
    ),
    "zoho french": (
        "Civilité;Prénom;Nom;Nom du compte;E-mail;Titre;Téléphone;Téléphone domicile;Mobile;Fax;Date de naissance;"
        "Adresse;Ville;Code postal;Pays",
        "Mme;Ann;Lee;Acme;ann@example.com;PDG;01 44 55 66 77;;06 12 34 56 78;;17/05/1990;1 rue Vieille;Paris;"
        "75004;France",
        {"civility": "Mme", "first_name": "Ann", "last_name": "Lee", "company": "Acme", "email": "ann@example.com",
         "fixed_phone": "+33144556677", "mobile": "+33612345678", "birth_date": "1990-05-17",
         "address_1": "1 rue Vieille", "city": "Paris", "postal_code": "75004", "country": "France"},
    ),
}


@pytest.mark.parametrize("source", list(SOURCES))
async def test_an_export_of_each_common_source_lands_every_contact_column_in_its_field(client, source):
    header, line, expected = SOURCES[source]
    job = await run_import(client, csv_text=f"{header}\n{line}\n")
    assert (job["status"], job["created"], job["invalid"]) == ("completed", 1, 0), job
    [contact] = await contacts(client)
    assert {f: contact.get(f) for f in expected} == expected
    # Each of those columns is mapped by header (what is reported unknown has no field here: job titles,
    # owners, the CRM's own ids and dates).
    assert set(expected) <= set(job["mapping"].values())


def test_default_aliases_are_unique_across_fields_once_folded():
    owner: dict[str, str] = {fold(f): f for f in ALL_BUILTINS}
    clashes = []
    for f, aliases in DEFAULT_ALIASES.items():
        for alias in aliases:
            if owner.setdefault(fold(alias), f) != f:
                clashes.append((alias, f, owner[fold(alias)]))
    assert clashes == []
    # A later seed adds only new names: an alias a user removed is never seeded again.
    first = {fold(a) for a in (a for names in ALIAS_SEEDS[0].values() for a in names)}
    assert all(fold(a) not in first for seed in ALIAS_SEEDS[1:] for names in seed.values() for a in names)


async def test_an_account_seeded_before_receives_the_new_defaults_but_keeps_its_own_changes(settings):
    async with Client(build_server(settings)) as c:
        await call(c, "manage_fields", {"action": "create", "name": "sms_consent", "type": "boolean"})
        await call(c, "set_field_alias", {"field": "mobile", "alias": "SMS", "remove": True})
        await call(c, "set_field_alias", {"field": "sms_consent", "alias": "SMS"})
        await call(c, "set_field_alias", {"field": "mobile", "alias": "Portable", "remove": True})
    # Make the account look seeded by the first defaults only (as every account was before seed 2).
    later = [fold(a) for seed in ALIAS_SEEDS[1:] for names in seed.values() for a in names if a != "SMS"]
    with raw_db(settings) as db:
        db.execute("UPDATE accounts SET aliases_seeded = 1")
        db.executemany("DELETE FROM field_aliases WHERE alias_key = ?", [(k,) for k in later])
    async with Client(build_server(settings)) as c:
        fields = {f["name"]: f for f in (await call(c, "get_fields", {"limit": 100}))["fields"]}
        assert "Mobile Phone Number" in fields["mobile"]["aliases"]  # the new default arrived
        assert "Portable" not in fields["mobile"]["aliases"]  # the removed default stays removed
        assert "SMS" in fields["sms_consent"]["aliases"] and "SMS" not in fields["mobile"]["aliases"]
        job = await run_import(c, csv_text="Email,Mobile Phone Number,SMS\nann@example.com,0612345678,yes\n")
        assert job["mapping"] == {"Email": "email", "Mobile Phone Number": "mobile", "SMS": "sms_consent"}
    with raw_db(settings) as db:
        assert db.execute("SELECT aliases_seeded FROM accounts").fetchone()[0] == len(ALIAS_SEEDS)
