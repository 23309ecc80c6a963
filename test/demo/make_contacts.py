#!/usr/bin/env python3
"""Writes contacts.csv: ~200 fictional contacts from a three-day industry fair.

The CSV is committed; this script only documents how it was made and lets it be
remade (python3 make_contacts.py > contacts.csv). Fixed seed: same output every run.
Every company and person is invented; resemblance to real ones is accidental.
"""
import csv
import math
import random
import re
import sys
import unicodedata

rng = random.Random(20250408)

# (name, domain, industry, country, size class or fixed employee count)
# size classes: xs 1-9, s 10-49, m 50-499, l 500-4999, xl 5000+
COMPANIES = [
    # manufacturing
    ("Brandtner Maschinenbau GmbH", "brandtner-maschinenbau.de", "manufacturing", "DE", "l"),
    ("Kessberg Antriebstechnik GmbH", "kessberg-antriebe.de", "manufacturing", "DE", "m"),
    ("Holzmann Präzisionsteile GmbH", "holzmann-praezision.de", "manufacturing", "DE", "m"),
    ("Rheintal Fördertechnik AG", "rheintal-foerdertechnik.de", "manufacturing", "DE", "l"),
    ("Voss & Lindner Werkzeugbau GmbH", "voss-lindner.de", "manufacturing", "DE", "m"),
    ("Alpenhydraulik GmbH", "alpenhydraulik.at", "manufacturing", "AT", "m"),
    ("Steirer Metallverarbeitung GmbH", "steirer-metall.at", "manufacturing", "AT", "m"),
    ("Zürcher Feinmechanik AG", "zfm.ch", "manufacturing", "CH", "m"),
    ("Van der Berg Industrial Components B.V.", "vdberg-components.nl", "manufacturing", "NL", "l"),
    ("Meuse Machinery NV", "meusemachinery.be", "manufacturing", "BE", "m"),
    ("Ateliers Mécaniques du Rhône SAS", "amrhone.fr", "manufacturing", "FR", "m"),
    ("Nordlys Plastics A/S", "nordlysplastics.dk", "manufacturing", "DK", "m"),
    ("Wrocławskie Zakłady Mechaniczne Sp. z o.o.", "wzm.pl", "manufacturing", "PL", "l"),
    ("Brno Precision s.r.o.", "brnoprecision.cz", "manufacturing", "CZ", "m"),
    ("Officine Bertoni S.p.A.", "officinebertoni.it", "manufacturing", "IT", "m"),
    ("Schwarzwald Sensorik GmbH", "sw-sensorik.de", "manufacturing", "DE", "s"),
    ("Emsland Kunststofftechnik GmbH", "emsland-kunststoff.de", "manufacturing", "DE", "m"),
    ("Hegemann Stahlbau GmbH", "hegemann-stahlbau.de", "manufacturing", "DE", "m"),
    ("Midlands Fabrication Ltd", "midlandsfab.co.uk", "manufacturing", "GB", "m"),
    ("Baltic Pumps AB", "balticpumps.se", "manufacturing", "SE", "m"),
    ("Oberland Armaturen GmbH", "oberland-armaturen.de", "manufacturing", "DE", "m"),
    ("Lohmeyer Verpackungsmaschinen GmbH", "lohmeyer-vm.de", "manufacturing", "DE", "l"),
    ("Ostwald Gießerei GmbH", "ostwald-giesserei.de", "manufacturing", "DE", "m"),
    ("Tecnifab Ibérica S.L.", "tecnifab.es", "manufacturing", "ES", "m"),
    ("Ohio Tooling Inc.", "ohiotooling.com", "manufacturing", "US", "l"),
    ("Feinwerk Reutter GmbH", "feinwerk-reutter.de", "manufacturing", "DE", "s"),
    ("Kronach Elektrotechnik GmbH", "kronach-elektro.de", "manufacturing", "DE", "xl"),
    # software
    ("Datenwerk Solutions GmbH", "datenwerk-solutions.de", "software", "DE", "m"),
    ("Cloudbrücke GmbH", "cloudbruecke.de", "software", "DE", "s"),
    ("Helix Analytics B.V.", "helixanalytics.nl", "software", "NL", "m"),
    ("Quantivo SAS", "quantivo.fr", "software", "FR", "s"),
    ("Fjordsoft ApS", "fjordsoft.dk", "software", "DK", "s"),
    ("Limmat Software AG", "limmatsoftware.ch", "software", "CH", "m"),
    ("Wiener Codefabrik GmbH", "codefabrik.at", "software", "AT", "s"),
    ("Bytehaus GmbH", "bytehaus.io", "software", "DE", "xs"),
    ("Krakow Dev Studio Sp. z o.o.", "krakowdev.pl", "software", "PL", "s"),
    ("Sprintly Ltd", "sprintly.co.uk", "software", "GB", "s"),
    ("Pinecrest Software Inc.", "pinecrestsoftware.com", "software", "US", "l"),
    ("Pune Infotech Pvt Ltd", "puneinfotech.in", "software", "IN", "l"),
    ("Lexora Software GmbH", "lexora.de", "software", "DE", "m"),
    ("Leadforge GmbH", "leadforge.de", "software", "DE", "s"),  # a competitor
    ("Funnelwerk B.V.", "funnelwerk.nl", "software", "NL", "s"),  # a competitor
    # logistics
    ("Nordhafen Logistik AG", "nordhafen-logistik.de", "logistics", "DE", "l"),
    ("Spedition Albrecht GmbH & Co. KG", "spedition-albrecht.de", "logistics", "DE", "m"),
    ("Donau Cargo GmbH", "donaucargo.at", "logistics", "AT", "m"),
    ("Rotterdam Freight Partners B.V.", "rfpartners.nl", "logistics", "NL", "l"),
    ("Antwerp Port Services NV", "antwerpportservices.be", "logistics", "BE", "l"),
    ("Transports Delaunay SA", "delaunay-transports.fr", "logistics", "FR", "m"),
    ("Øresund Logistics A/S", "oresundlogistics.dk", "logistics", "DK", "m"),
    ("Rheinland Kontraktlogistik GmbH", "rk-logistik.de", "logistics", "DE", "m"),
    ("Alpentransit AG", "alpentransit.ch", "logistics", "CH", "m"),
    ("Eilbote Kurier GmbH", "eilbote-kurier.de", "logistics", "DE", "s"),
    ("Silesia Trans Sp. z o.o.", "silesiatrans.pl", "logistics", "PL", "m"),
    ("Anatolia Lojistik A.Ş.", "anatolialojistik.com.tr", "logistics", "TR", "l"),
    ("Lagerhaus Westfalen GmbH", "lagerhaus-westfalen.de", "logistics", "DE", "m"),
    ("Hanse Kühllogistik GmbH", "hanse-kuehllogistik.de", "logistics", "DE", "m"),
    # automotive
    ("Bergmann Automotive Systems GmbH", "bergmann-automotive.de", "automotive", "DE", "l"),
    ("Fahrwerktechnik Sauer GmbH", "fwt-sauer.de", "automotive", "DE", "m"),
    ("Altmühl Zulieferteile GmbH", "altmuehl-zt.de", "automotive", "DE", "m"),
    ("Grazer Fahrzeugkomponenten GmbH", "gfk-graz.at", "automotive", "AT", "l"),
    ("Lyon Équipements Auto SAS", "lea-auto.fr", "automotive", "FR", "m"),
    ("Brabant Mobility Parts B.V.", "brabantmobility.nl", "automotive", "NL", "m"),
    ("Mladá Autodíly s.r.o.", "mlada-autodily.cz", "automotive", "CZ", "m"),
    ("Torino Componenti Auto S.r.l.", "torinocomponenti.it", "automotive", "IT", "m"),
    ("Schwaben Elektromobilität GmbH", "schwaben-emobil.de", "automotive", "DE", "s"),
    ("Great Lakes Auto Parts Inc.", "greatlakesautoparts.com", "automotive", "US", "xl"),
    ("Weserland Karosseriebau GmbH", "weserland-karosserie.de", "automotive", "DE", "l"),
    # retail
    ("Kaufhaus Lindemann GmbH", "kaufhaus-lindemann.de", "retail", "DE", "m"),
    ("Modehaus Brenner KG", "modehaus-brenner.de", "retail", "DE", "s"),
    ("Biomarkt Grünfeld GmbH", "biomarkt-gruenfeld.de", "retail", "DE", "m"),
    ("Sportwelt Tirol GmbH", "sportwelt-tirol.at", "retail", "AT", "m"),
    ("Huis & Haard B.V.", "huisenhaard.nl", "retail", "NL", "m"),
    ("Maison Lefèvre SA", "maisonlefevre.fr", "retail", "FR", "l"),
    ("Hygge Home A/S", "hyggehome.dk", "retail", "DK", "s"),
    ("Baumarkt Krüger GmbH", "baumarkt-krueger.de", "retail", "DE", "l"),
    ("Klickkorb GmbH", "klickkorb.de", "retail", "DE", "s"),
    # healthcare
    ("Klinikum Am Stadtpark gGmbH", "klinikum-stadtpark.de", "healthcare", "DE", "l"),
    ("Donautal Medizintechnik GmbH", "donautal-medtech.de", "healthcare", "DE", "m"),
    ("Praxisnetz Nordheide eG", "praxisnetz-nordheide.de", "healthcare", "DE", "s"),
    ("Lucerna Diagnostics AG", "lucerna-diagnostics.ch", "healthcare", "CH", "m"),
    ("Zorggroep Veluwe", "zorggroepveluwe.nl", "healthcare", "NL", "l"),
    ("Clinique des Tilleuls SAS", "cliniquedestilleuls.fr", "healthcare", "FR", "m"),
    ("Pflegedienst Sonnenschein GmbH", "pflege-sonnenschein.de", "healthcare", "DE", "s"),
    # finance
    ("Hanseatische Privatbank AG", "hanseatische-privatbank.de", "finance", "DE", "m"),
    ("Kreditbank Oberpfalz eG", "kbo-bank.de", "finance", "DE", "m"),
    ("Alster Versicherungsmakler GmbH", "alster-makler.de", "finance", "DE", "s"),
    ("Genfer Vermögensverwaltung SA", "gva-geneve.ch", "finance", "CH", "s"),
    ("Amstel Capital B.V.", "amstelcapital.nl", "finance", "NL", "m"),
    ("Fintrix Payments Ltd", "fintrix.co.uk", "finance", "GB", "m"),
    ("Donauleasing GmbH", "donauleasing.at", "finance", "AT", "m"),
    # energy
    ("Stadtwerke Lindenau GmbH", "sw-lindenau.de", "energy", "DE", "m"),
    ("Windpark Friesland GmbH", "windpark-friesland.de", "energy", "DE", "s"),
    ("Solarfeld Bayern GmbH", "solarfeld-bayern.de", "energy", "DE", "m"),
    ("Energie Kempen NV", "energiekempen.be", "energy", "BE", "m"),
    ("Vestkyst Energi A/S", "vestkystenergi.dk", "energy", "DK", "l"),
    ("Alpen Wasserkraft AG", "alpenwasserkraft.ch", "energy", "CH", "m"),
    ("Énergies Provence SAS", "energies-provence.fr", "energy", "FR", "m"),
    ("Iberia Renovables S.L.", "iberiarenovables.es", "energy", "ES", "m"),
    # education
    ("Technische Hochschule Emsbach", "th-emsbach.de", "education", "DE", "l"),
    ("Universität Waldau", "uni-waldau.de", "education", "DE", "xl"),
    ("Berufsbildungszentrum Harz gGmbH", "bbz-harz.de", "education", "DE", "m"),
    ("Hogeschool Dijkstad", "hogeschooldijkstad.nl", "education", "NL", "l"),
    ("Logistik-Akademie Weser e.V.", "logistik-akademie-weser.de", "education", "DE", "s"),
    # public sector
    ("Landratsamt Kreis Talheim", "kreis-talheim.de", "public sector", "DE", "l"),
    ("Stadtverwaltung Hohenbruck", "hohenbruck.de", "public sector", "DE", "m"),
    ("Landesamt für Digitalisierung Nord", "lfd-nord.de", "public sector", "DE", "m"),
    ("Gemeente Veendijk", "veendijk.nl", "public sector", "NL", "m"),
    ("Mairie de Valcourt", "valcourt.fr", "public sector", "FR", "m"),
    ("Magistrat Kleinbergen", "kleinbergen.gv.at", "public sector", "AT", "m"),
    # others
    ("Chemiewerk Lahn GmbH", "chemiewerk-lahn.de", "chemicals", "DE", "l"),
    ("Rhodia-Sud Chimie SA", "rhodiasud-chimie.fr", "chemicals", "FR", "m"),
    ("Bauunternehmung Krämer GmbH", "kraemer-bau.de", "construction", "DE", "m"),
    ("Van Leeuwen Bouw B.V.", "vanleeuwenbouw.nl", "construction", "NL", "m"),
    ("Molkerei Alpenhof eG", "molkerei-alpenhof.de", "food & beverage", "DE", "m"),
    ("Brauerei Kastner GmbH", "brauerei-kastner.de", "food & beverage", "DE", "s"),
    ("Pixelkraft Werbeagentur GmbH", "pixelkraft.de", "consulting", "DE", "xs"),
    ("Kranich Consulting GmbH", "kranich-consulting.de", "consulting", "DE", "s"),
    ("Freelancer", None, "consulting", "DE", 1),
    ("Freelancer", None, "software", "NL", 1),
    ("Freelancer", None, "consulting", "AT", 1),
]
COMPETITORS = {"Leadforge GmbH", "Funnelwerk B.V."}
TARGET = {"manufacturing", "logistics", "automotive"}
DELIVERY = {"DE", "AT", "CH", "NL", "BE", "FR", "DK"}

FIRST = {
    "de": "Anna Lukas Julia Maximilian Sabine Thomas Katrin Michael Stefanie Jan Laura Tobias "
          "Christine Markus Lena Florian Petra Andreas Miriam Jörg Sophie Matthias Carina "
          "Dominik Heike Ralf Nina Felix Ute Sebastian Birgit Kerstin Jonas Sarah Martin".split(),
    "nl": "Daan Sanne Pieter Eva Bram Lotte Joris Fleur Thijs Anouk Wouter Els Koen Lieve".split(),
    "fr": "Camille Julien Chloé Nicolas Élodie Thomas Manon Antoine Claire Mathieu Léa Pierre".split(),
    "nordic": "Mads Freja Rasmus Ida Mikkel Sofie Jens Mette Anders Karin Erik Astrid".split(),
    "pl": "Katarzyna Piotr Agnieszka Tomasz Marta Paweł Jakub Magdalena".split(),
    "cz": "Jana Petr Lucie Tomáš Tereza Jakub Pavel Eliška".split(),
    "south": "Giulia Marco Francesca Luca Chiara Alessandro Lucía Javier Carmen Pablo".split(),
    "en": "Emma James Olivia Daniel Charlotte Michael Hannah Ryan Jessica David Emily".split(),
    "tr": "Ayşe Mehmet Elif Emre Zeynep Burak".split(),
    "in": "Priya Rahul Ananya Arjun Sneha Vikram".split(),
}
LAST = {
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
          "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
          "Hartmann Lange Schmitt Werner Krause Meier Lehmann Huber Gruber Steiner Moser "
          "Brunner Keller Baumann Frei".split(),
    "nl": ["de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Jong",
           "Mulder", "Peeters", "Janssens", "Maes", "Willems", "Claes", "Goossens"],
    "fr": "Martin Bernard Dubois Durand Lefebvre Moreau Laurent Simon Michel Garcia Roux Fontaine".split(),
    "nordic": "Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Johansson Lindqvist Berg".split(),
    "pl": "Nowak Kowalczyk Wójcik Lewandowski Zieliński Mazur".split(),
    "cz": "Novák Dvořák Svoboda Černý Procházka Kučera".split(),
    "south": "Rossi Bianchi Romano Colombo Ricci García Fernández López Martínez Sánchez".split(),
    "en": "Smith Jones Taylor Brown Wilson Evans Johnson Miller Davis Clarke Walker".split(),
    "tr": "Yılmaz Kaya Demir Şahin Çelik".split(),
    "in": "Sharma Patel Iyer Gupta Reddy Nair".split(),
}
NAMES_BY_COUNTRY = {"DE": "de", "AT": "de", "CH": "de", "NL": "nl", "BE": "nl", "FR": "fr",
                    "DK": "nordic", "SE": "nordic", "PL": "pl", "CZ": "cz", "IT": "south",
                    "ES": "south", "GB": "en", "US": "en", "TR": "tr", "IN": "in"}

# Titles in three tiers; the rules only see the text, so some tiers overlap on purpose
# ("Office Manager" reads like a manager, "Head of Internal Audit" contains "intern").
DECIDERS = ["Head of Engineering", "CTO", "CEO", "VP Sales", "Head of Operations",
            "Director Supply Chain", "Head of Procurement", "CIO", "COO", "Managing Director",
            "Head of Digital Transformation", "Vice President Operations", "Head of IT",
            "Chief Digital Officer", "CFO", "Head of Internal Audit"]
DECIDERS_DE = ["Geschäftsführer", "Geschäftsführerin", "IT-Leiter", "Leiterin Einkauf",
               "Leiter Logistik", "Werkleiter", "Leiter Instandhaltung", "IT-Leiterin"]
DECIDERS_FR = ["Directeur Industriel", "Directrice des Achats", "Directeur Général"]
MANAGERS = ["Procurement Manager", "IT Manager", "Product Manager", "Plant Manager",
            "Key Account Manager", "International Key Account Manager", "Operations Manager",
            "Supply Chain Manager", "Category Manager", "Fleet Manager", "Marketing Manager",
            "Innovation Manager"]
MANAGERS_DE = ["Projektmanager", "Einkaufsmanagerin", "Teamleitung Disposition"]
MANAGERS_FR = ["Responsable Logistique", "Responsable Achats"]
STAFF = ["Marketing Assistant", "Sales Representative", "Software Engineer", "Account Executive",
         "Business Development Representative", "Logistics Coordinator", "Quality Engineer",
         "Data Analyst", "Office Manager", "Consultant", "IT Administrator"]
STAFF_DE = ["Einkäufer", "Sachbearbeiterin Einkauf", "Projektingenieur",
            "Assistenz der Geschäftsführung", "Entwicklungsingenieurin", "Technischer Einkäufer",
            "Systemadministrator"]
STUDENTS = ["Working Student", "Intern", "Marketing Intern", "Student"]
STUDENTS_DE = ["Werkstudent Marketing", "Praktikantin Vertrieb", "Werkstudentin IT"]
SECTOR_STAFF = {
    "education": ["Professorin für Logistik", "Wissenschaftlicher Mitarbeiter", "Professor"],
    "public sector": ["Referentin Digitalisierung", "Amtsleiter", "Sachbearbeiter Vergabe"],
    "healthcare": ["Ärztlicher Direktor", "Pflegedienstleitung"],
}
FREEMAIL = ["gmail.com", "yahoo.com", "hotmail.com", "gmx.de", "web.de", "outlook.com"]

SIZE = {"xs": (1, 9), "s": (10, 49), "m": (50, 499), "l": (500, 4999), "xl": (5000, 40000)}
REVENUE_PER_HEAD = {"software": 140_000, "retail": 220_000, "finance": 300_000,
                    "energy": 450_000, "public sector": None, "education": None}


def ascii_mail(s):
    """Folds a name into the local part of an e-mail address."""
    s = s.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ø", "oe"),
                 ("å", "aa"), ("æ", "ae"), ("ł", "l"), ("ı", "i")):
        s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(c for c in s if c.isalnum())


def pick_employees(size):
    if isinstance(size, int):
        return size
    lo, hi = SIZE[size]
    # log-uniform inside the class, rounded the way people state it
    n = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    for step in (1000, 100, 10, 5, 1):
        if n >= step * 20 or step == 1:
            return max(lo, int(round(n / step) * step))
    return int(n)


def build_companies():
    out = []
    for name, domain, industry, country, size in COMPANIES:
        emp = pick_employees(size)
        per_head = REVENUE_PER_HEAD.get(industry, 190_000)
        if per_head is None or name == "Freelancer":
            revenue = None if name != "Freelancer" else rng.choice([60_000, 85_000, 120_000])
        else:
            revenue = round(emp * per_head * rng.uniform(0.6, 1.5), -4)
        # firmographics missing on some business cards
        if name != "Freelancer" and rng.random() < 0.05:
            emp = None
        if revenue is not None and name != "Freelancer" and rng.random() < 0.08:
            revenue = None
        out.append(dict(company=name, domain=domain, industry=industry, country=country,
                        employees=emp, annual_revenue=revenue, size=size))
    return out


def pick_title(c):
    de = c["country"] in ("DE", "AT", "CH")
    fr = c["country"] in ("FR",) or (c["country"] == "BE" and rng.random() < 0.4)
    if c["company"] == "Freelancer":
        return rng.choice(["Freelance Consultant", "Independent Consultant", "Founder & CEO"])
    if c["size"] in ("xs",) or (c["size"] == "s" and rng.random() < 0.25):
        return rng.choice(["Founder & CEO", "Geschäftsführer" if de else "Managing Director", "CTO"])
    r = rng.random()
    if c["industry"] in SECTOR_STAFF and r < 0.25:
        return rng.choice(SECTOR_STAFF[c["industry"]])
    r = rng.random()
    if r < 0.07 + (0.05 if c["industry"] in ("education", "software") else 0):
        return rng.choice(STUDENTS + (STUDENTS_DE if de else []))
    if r < 0.36:
        return rng.choice(DECIDERS + (DECIDERS_DE * 2 if de else []) + (DECIDERS_FR * 2 if fr else []))
    if r < 0.70:
        return rng.choice(MANAGERS + (MANAGERS_DE if de else []) + (MANAGERS_FR * 2 if fr else []))
    return rng.choice(STAFF + (STAFF_DE if de else []))


FEMALE = set("Anna Julia Sabine Katrin Stefanie Laura Christine Lena Petra Miriam Sophie Carina "
             "Heike Nina Ute Birgit Kerstin Sarah Sanne Eva Lotte Fleur Anouk Els Lieve Camille "
             "Chloé Élodie Manon Claire Léa Freja Ida Sofie Mette Karin Astrid Katarzyna "
             "Agnieszka Marta Magdalena Jana Lucie Tereza Eliška Giulia Francesca Chiara Lucía Carmen Emma Olivia "
             "Charlotte Hannah Jessica Emily Ayşe Elif Zeynep Priya Ananya Sneha".split())
MALE_TITLES = ("Geschäftsführer", "Leiter", "Werkleiter", "IT-Leiter", "Einkäufer", "Projektingenieur",
               "Systemadministrator", "Werkstudent", "Amtsleiter", "Sachbearbeiter", "Professor",
               "Wissenschaftlicher", "Technischer", "Ärztlicher", "Projektmanager", "Directeur")


def title_gender(title):
    """Returns 'f' or 'm' where a German or French title has a gender, else None."""
    first = title.split()[0]
    if first in MALE_TITLES:
        return "m"
    if re.search(r"(in|rice)\b", title.split()[0]) and first not in ("Intern",):
        return "f"
    return None


def surname(last, pool, female):
    """Gives Polish and Czech surnames their feminine form."""
    if not female:
        return last
    if pool == "pl" and last.endswith(("ski", "cki")):
        return last[:-1] + "a"
    if pool == "cz":
        if last.endswith("ý"):
            return last[:-1] + "á"
        return (last[:-1] if last.endswith("a") else last) + "ová"
    return last


def is_decider(title):
    t = title.lower()
    return any(w in t for w in ("head", "chief", "cto", "ceo", "cio", "coo", "cfo", "vp",
                                "vice president", "director", "directeur", "directrice",
                                "geschäftsführer", "leiter", "founder", "direktor"))


def is_student(title):
    t = title.lower()
    return any(w in t.split() for w in ("student", "intern")) or t.startswith(("werkstudent", "praktikant"))


def main():
    companies = build_companies()
    weights = []
    for c in companies:
        w = {"xs": 0.6, "s": 1.0, "m": 1.6, "l": 2.4, "xl": 2.6}.get(c["size"], 0.5)
        if c["industry"] in TARGET:
            w *= 1.25  # the fair's audience
        weights.append(w)

    # every company once, the rest drawn by weight
    picks = list(range(len(companies)))
    while len(picks) < 200:
        picks.append(rng.choices(range(len(companies)), weights)[0])
    rng.shuffle(picks)

    rows = []
    seen_mail = set()
    for ci in picks:
        c = companies[ci]
        pool = NAMES_BY_COUNTRY[c["country"]]
        if c["country"] == "BE" and rng.random() < 0.35:
            pool = "fr"
        while True:
            title = pick_title(c)
            gender = title_gender(title)
            names = [n for n in FIRST[pool]
                     if gender is None or (n in FEMALE) == (gender == "f")]
            first = rng.choice(names)
            last = surname(rng.choice(LAST[pool]), pool, first in FEMALE)
            student = is_student(title)
            small = c["employees"] is not None and c["employees"] < 50
            outside = c["country"] not in DELIVERY
            p_free = 0.04 + 0.45 * student + 0.12 * small + 0.10 * outside
            if c["domain"] is None or rng.random() < p_free:
                domain = rng.choice(FREEMAIL if c["country"] in ("DE", "AT", "CH") else
                                    [d for d in FREEMAIL if not d.endswith(".de")])
                local = rng.choice(["{f}.{l}", "{f}{l}", "{f}.{l}{n}", "{l}.{f}"])
            else:
                domain = c["domain"]
                local = rng.choice(["{f}.{l}", "{f}.{l}", "{f}.{l}", "{i}.{l}", "{i}{l}"])
            email = (local.format(f=ascii_mail(first), l=ascii_mail(last), i=ascii_mail(first)[0],
                                  n=rng.randint(70, 99)) + "@" + domain)
            if email not in seen_mail:
                seen_mail.add(email)
                break
        decider = is_decider(title)

        # a minority came to the booth with a project in mind
        fit = ((c["industry"] in TARGET) + (not outside) + decider
               + (c["employees"] is not None and 50 <= c["employees"] <= 5000))
        hot = not student and rng.random() < 0.05 + 0.06 * fit
        need = rng.random() < (0.75 if hot else 0.06)
        budget = rng.random() < (0.45 if hot else 0.02)
        authority = decider and rng.random() < (0.7 if hot else 0.15)
        timeline = rng.random() < (0.5 if hot else 0.03)
        if timeline:
            tdays = rng.choice([30, 45, 60, 90, 90, 120, 180])
        elif rng.random() < 0.12:
            tdays = rng.choice([90, 180, 180, 270, 365, 365])
        else:
            tdays = None

        # the outcome, weeks later: correlated with fit and intent, never certain
        z = (-3.6 + 0.9 * decider + 0.9 * (c["industry"] in TARGET)
             + 0.6 * (c["employees"] is not None and 50 <= c["employees"] <= 5000)
             + 1.4 * need + 0.9 * budget + 0.6 * timeline + 0.4 * authority
             - 2.5 * outside - 0.7 * (c["industry"] in ("public sector", "education"))
             - 0.5 * (domain in FREEMAIL) + rng.gauss(0, 0.8))
        converted = (not student and c["company"] not in COMPETITORS
                     and rng.random() < 1 / (1 + math.exp(-z)))

        day = rng.choice([0, 0, 1, 1, 1, 2])
        minute = rng.randint(9 * 60, 17 * 60 + 45)
        created = "2025-04-%02d %02d:%02d:00+02" % (8 + day, minute // 60, minute % 60)
        rows.append(dict(company=c["company"], first_name=first, last_name=last, email=email,
                         job_title=title, industry=c["industry"], country=c["country"],
                         employees=c["employees"], annual_revenue=c["annual_revenue"],
                         source="fair", budget_confirmed=budget,
                         authority_confirmed=authority, need_confirmed=need,
                         timeline_confirmed=timeline, timeline_days=tdays,
                         created_at=created, converted=converted))

    # a few scanned badges without a country
    for r in rng.sample(rows, 3):
        r["country"] = None

    rows.sort(key=lambda r: (r["created_at"], r["email"]))
    cols = ["id", "company", "first_name", "last_name", "email", "job_title", "industry",
            "country", "employees", "annual_revenue", "source", "budget_confirmed",
            "authority_confirmed", "need_confirmed", "timeline_confirmed", "timeline_days",
            "created_at", "converted"]
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(cols)
    for i, r in enumerate(rows, 1):
        r["id"] = i
        out = []
        for k in cols:
            v = r[k]
            if v is None:
                out.append(None)
            elif isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, float):
                out.append("%d" % v)
            else:
                out.append(v)
        w.writerow(out)


if __name__ == "__main__":
    main()
