"""Deterministic, realistic port-of-entry traffic with a planted watchlist and ground truth.

    sim = Simulator(seed=7)
    for kind, event in sim.events():     # infinite; kind is crossings | seizures | biometrics
        ...
    sim.watchlist_entities()             # the planted watchlist as FollowTheMoney entity dicts
    sim.truth()                          # where the planted items have appeared so far
    write_dataset(10_000, "data/sim", seed=7)

Events are JSON-ready dicts in the form the ingest gateway takes: schema field names,
ISO 8601 timestamps with offset, "YYYY-MM-DD" dates, decimals as strings, enum symbols,
unions as plain values.

Determinism: every draw comes from generators seeded by ``seed`` (and the start instant), so
the same arguments give the same events, ids, watchlist and truth. The watchlist and its FtM
ids are drawn from their own generator and do not depend on how many events are consumed.
One Simulator holds one stream state: iterate one ``events()`` generator at a time.

Planted ground truth: with probability ``truth_rate`` a step of the stream is an appearance
of a planted item (a wanted person, a lost/stolen document, a vehicle, a vessel, an
organisation's phone, a listed phone, or a namesake who must NOT alert), taken round-robin
from a fixed plan so every item appears early and then recurs with fresh variants.
``truth()`` records only events that have actually been yielded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import unicodedata
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import phonenumbers
from stdnum import imo as stdnum_imo
from stdnum import iso6346

from borderhub.domain.mrz import make_td1, make_td3
from borderhub.domain.ports import known_ports

__all__ = ["KINDS", "TrafficPort", "Simulator", "load_ports", "make_mrz", "write_dataset", "container_number"]

KINDS = ("crossings", "seizures", "biometrics")
DEFAULT_START = datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)
DEFAULT_TRUTH_RATE = 0.02
# One step is a seizure with p=1/18 and a crossing otherwise; a crossing is followed by a
# biometric capture with p=10/85. That gives crossings:seizures:biometrics = 85:5:10.
SEIZURE_STEP_P = 1 / 18
BIOMETRIC_AFTER_CROSSING_P = 10 / 85
PLANTED_BIOMETRIC_P = 0.6  # planted travellers are captured more often, so biometric truth exists
PERSON_ITEM_KINDS = ("wanted_person", "lost_stolen_document", "namesake")
# A step (one car, cabin, walker or seizure, plus captures) yields ~1.6 events on average
# (measured over 50k events); used to turn events_per_second into the gap between steps.
EVENTS_PER_STEP = 1.6


# ---------------------------------------------------------------------------- ports

@dataclass(frozen=True)
class TrafficPort:
    """A port of entry (``borderhub.domain.ports.Port``) as the simulator sends traffic through
    it: the travel modes it handles and its share of the traffic."""

    locode: str
    name: str
    country: str
    lat: float
    lon: float
    modes: tuple[str, ...]  # CrossingEvent TravelMode symbols handled at this port
    weight: float = 1.0


# The ports the scenario centres on carry ~70% of traffic; the rest of the domain's ports of
# entry share the remainder evenly. UN/LOCODE: San Ysidro is USSYO and Otay Mesa USOYM
# (USSYS is Sayville NY, USOTM Ottumwa IA).
HEAVY_PORTS = {"USMIA": 22.0, "USSYO": 20.0, "USLGB": 12.0, "USOYM": 10.0, "USSAN": 8.0}
SPREAD_SHARE = 28.0
_MODES_OF_FUNCTION = {"air": ("AIR",), "sea": ("SEA",), "land": ("LAND", "PEDESTRIAN")}  # rail is not simulated


def load_ports() -> list[TrafficPort]:
    """Ports of entry from ``borderhub.domain.ports`` with travel modes and traffic weights."""
    spread = [p for p in known_ports() if p.locode not in HEAVY_PORTS]
    ports = []
    for port in sorted(known_ports(), key=lambda p: p.locode):
        modes = tuple(m for f in ("air", "land", "sea") if f in port.functions for m in _MODES_OF_FUNCTION[f])
        if modes:
            weight = HEAVY_PORTS.get(port.locode, SPREAD_SHARE / len(spread))
            ports.append(TrafficPort(port.locode, port.name, port.country, port.lat, port.lon, modes, weight))
    return ports


# ---------------------------------------------------------------------------- identifiers

def container_number(rng: random.Random, owner: str | None = None) -> str:
    """An ISO 6346 freight container number with a valid check digit, e.g. MSCU1234565."""
    base = (owner or rng.choice(_CONTAINER_OWNERS)) + f"{rng.randrange(10**6):06d}"
    return base + iso6346.calc_check_digit(base)


_CONTAINER_OWNERS = "MSCU MAEU CMAU HLXU COSU OOLU EGHU TGHU TCLU SEGU GESU CAIU TRLU FCIU BMOU ONEU".split()
# Maritime identification digits (first three digits of an MMSI) by flag state.
_MIDS = {"PA": [351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373], "LR": [636], "MH": [538],
         "MT": [215, 229, 248, 249, 256], "BS": [308, 309, 311], "SG": [563, 564, 565, 566], "HK": [477],
         "CN": [412, 413, 414], "GR": [237, 239, 240, 241], "US": [338, 366, 367, 368, 369], "MX": [345],
         "CO": [730], "NL": [244, 245, 246], "CY": [209, 210, 212], "EC": [735]}
_FLAG_WEIGHTS = {"PA": 24, "LR": 18, "MH": 14, "MT": 8, "BS": 6, "SG": 6, "HK": 6, "CN": 4, "GR": 4,
                 "US": 3, "MX": 2, "CO": 2, "NL": 1, "CY": 1, "EC": 1}
_PASSPORT_FORMATS = {"US": "A99999999", "MX": "A99999999", "CA": "AA999999", "GB": "999999999",
                     "DE": "C@@@@@@@@", "FR": "99AA99999", "ES": "AAA999999", "CN": "E99999999", "RU": "999999999",
                     "UA": "AA999999", "KR": "M99999999", "VN": "A9999999", "BR": "AA999999", "CO": "AQ9999999",
                     "GT": "999999999", "TR": "U99999999", "PL": "AA9999999", "PH": "P9999999A"}
_ID_CARD_FORMATS = {"US": "C99999999", "DE": "L@@@@@@@@", "FR": "@@@@@@@@@", "ES": "AAA999999",
                    "PT": "999999999", "PL": "AAA999999", "GR": "AA9999999"}
_ID_CARD_COUNTRIES = {"US", "DE", "FR", "ES", "PT", "PL", "AT", "BE", "NL", "GR", "CY", "IT"}
# German document numbers use a reduced alphabet without vowels and ambiguous letters.
_DE_ALPHABET = "CFGHJKLMNPRTVWXYZ0123456789"


def _from_pattern(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "9":
            out.append(rng.choice("0123456789"))
        elif ch == "A":
            out.append(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ"))
        elif ch == "@":
            out.append(rng.choice(_DE_ALPHABET))
        else:
            out.append(ch)
    return "".join(out)


def _phone(rng: random.Random, country: str) -> str | None:
    """A valid E.164 mobile number of the country: the libphonenumber example with random digits."""
    example = (phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
               or phonenumbers.example_number(country))
    if example is None:
        return None
    national = str(example.national_number)
    tail = min(6, len(national) - 2)
    for _ in range(25):
        digits = national[:-tail] + "".join(rng.choice("0123456789") for _ in range(tail))
        number = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(digits),
                                          italian_leading_zero=example.italian_leading_zero)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


_PLATE_FORMATS = {"US": ["9AAA999", "AAA9999", "AAA999", "9AA9999"], "MX": ["AAA999A", "AAA9999", "AA99999"],
                  "CA": ["AAAA999", "AAA999"], "GT": ["P999AAA"], "DE": ["AA9999"]}


def _plate(rng: random.Random, country: str) -> str:
    return _from_pattern(rng, rng.choice(_PLATE_FORMATS.get(country, ["AA9999AA"])))


def _format_plate(plate: str, country: str) -> str:
    """How the plate is printed: 'ABC123A' (MX) -> 'ABC-123-A'; used for the plate_format variant."""
    if country == "MX" and len(plate) == 7:
        return f"{plate[:3]}-{plate[3:6]}-{plate[6]}"
    return f"{plate[:len(plate) // 2]} {plate[len(plate) // 2:]}"


# OCR confusions seen on licence-plate readers.
_OCR_SWAPS = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2"}


# ---------------------------------------------------------------------------- MRZ

def make_mrz(doc_type: str, country: str, family: str, given: str, number: str, nationality: str,
             dob: date, sex: str, expiry: date) -> list[str]:
    """TD3 lines for a passport, TD1 for an identity card; names in Latin script (ICAO-transliterated)."""
    build = make_td3 if doc_type == "PASSPORT" else make_td1
    return build(document_number=number, issuing_state=country, nationality=nationality, family_names=family,
                 given_names=given, birth_date=dob, sex=sex, expiry_date=expiry,
                 document_code="P" if doc_type == "PASSPORT" else "I")


# ---------------------------------------------------------------------------- people

@dataclass(frozen=True)
class Culture:
    script: str                  # Unicode script the names are printed in
    countries: dict[str, float]  # nationalities, weighted
    male: list[tuple[str, tuple[str, ...]]]    # (printed, Latin romanisations, preferred first)
    female: list[tuple[str, tuple[str, ...]]]
    surnames: list[tuple[str, tuple[str, ...]]]
    female_surnames: list[tuple[str, tuple[str, ...]]] | None = None
    two_surnames: float = 0.0    # share of people with two surnames (Spanish naming)
    middle_name: float = 0.0     # share of people with a second given name
    family_first: bool = False   # full name written family name first
    feminine: str = ""           # surname rule for women: "slavic" (-ov -> -ova), "polish" (-ski -> -ska)


def _names(spec: str) -> list[tuple[str, tuple[str, ...]]]:
    """'Иванов=Ivanov/Ivanoff, ...' -> [('Иванов', ('Ivanov', 'Ivanoff'))]; Latin names map to themselves."""
    out = []
    for item in spec.split(","):
        printed, _, latin = item.strip().partition("=")
        out.append((printed, tuple(latin.split("/")) if latin else (printed,)))
    return out


CULTURES: dict[str, Culture] = {
    "english": Culture("Latin", {"US": 82, "GB": 7, "CA": 8, "AU": 3},
        _names("James, John, Robert, Michael, William, David, Richard, Joseph, Thomas, Christopher, Daniel, Matthew, Anthony, Kevin, Brian, Tyler"),
        _names("Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica, Sarah, Karen, Nancy, Ashley, Emily, Megan, Brittany"),
        _names("Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, Jackson, Martin, Thompson, White, Harris, Clark, O'Connor, Walker"),
        middle_name=0.45),
    "spanish": Culture("Latin", {"MX": 62, "GT": 8, "HN": 7, "SV": 6, "CO": 6, "VE": 4, "CU": 3, "DO": 2, "EC": 1, "ES": 1},
        _names("José Luis, Juan Carlos, Jesús, Miguel Ángel, Francisco, Alejandro, Jorge, Óscar, Ramón, Sebastián, Andrés, Héctor, Raúl, Joaquín, Martín"),
        _names("María Fernanda, Guadalupe, Ana Sofía, Verónica, Lucía, Mónica, Ximena, Araceli, Itzel, María José, Beatriz, Rocío"),
        _names("García, Hernández, Martínez, López, González, Rodríguez, Pérez, Sánchez, Ramírez, Flores, Gómez, Díaz, Cruz, Morales, Gutiérrez, Ortiz, Chávez, Jiménez, Núñez, Ibáñez, Muñoz, Peña"),
        two_surnames=0.9),
    "portuguese": Culture("Latin", {"BR": 75, "PT": 20, "AO": 5},
        _names("João, José, António, Luís, Gonçalo, Thiago, Vinícius, Paulo, Sérgio, Mário"),
        _names("Maria, Ana, Inês, Beatriz, Fernanda, Gabriela, Letícia, Conceição, Luísa"),
        _names("da Silva, dos Santos, Oliveira, Souza, Pereira, Gonçalves, Araújo, Fernandes, Magalhães, Carvalho, Rodrigues, Simões"),
        two_surnames=0.4, middle_name=0.4),
    "french": Culture("Latin", {"FR": 60, "HT": 25, "CA": 10, "BE": 5},
        _names("Jean-Pierre, François, Stéphane, Jérôme, Benoît, Théo, Loïc, Mathéo, Wilner, Jean-Baptiste"),
        _names("Hélène, Céline, Élodie, Françoise, Anaïs, Maëlle, Chloé, Marie-Claire, Nadège, Guerline"),
        _names("Lefèvre, Dubois, Moreau, Girard, Bonnet, Mercier, Rousseau, Faure, Fontaine, Chevalier, Pierre-Louis, Joseph, Désir"),
        middle_name=0.3),
    "german": Culture("Latin", {"DE": 75, "AT": 15, "CH": 10},
        _names("Jürgen, Günther, Matthias, Jörg, Lukas, Maximilian, Klaus-Dieter, Sören, Björn"),
        _names("Käthe, Anja, Sabine, Jana, Lena, Hannah, Brigitte, Ursula, Jülide"),
        _names("Müller, Schröder, Schäfer, Weiß, Groß, Köhler, Schmidt, Schneider, Fischer, Wagner, Krüger, Hoffmann, Strauß"),
        middle_name=0.35),
    "polish": Culture("Latin", {"PL": 100},
        _names("Łukasz, Paweł, Wojciech, Grzegorz, Michał, Krzysztof, Jakub, Tomasz"),
        _names("Małgorzata, Agnieszka, Katarzyna, Żaneta, Joanna, Magdalena, Ewa, Jolanta"),
        _names("Kowalski, Wiśniewski, Wójcik, Kamiński, Lewandowski, Zieliński, Szymański, Woźniak, Dąbrowski, Nowak, Kozłowski, Mazur"),
        middle_name=0.2, feminine="polish"),
    "turkish": Culture("Latin", {"TR": 92, "DE": 4, "CY": 4},
        _names("Mehmet, Mustafa, Ahmet, Hüseyin, Çağlar, Şükrü, İbrahim, Oğuz, Gökhan, Ömer"),
        _names("Ayşe, Fatma, Emine, Hülya, Gülşen, Özlem, Şeyma, Büşra, Çiğdem"),
        _names("Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir, Arslan, Doğan, Kılıç, Çetin, Koç")),
    "vietnamese": Culture("Latin", {"VN": 85, "US": 15},
        _names("Văn An, Văn Hùng, Minh Tuấn, Đức Thắng, Quốc Bảo, Hữu Phước, Thanh Sơn, Văn Đạt"),
        _names("Thị Lan, Thị Hương, Ngọc Anh, Thu Trang, Thị Mai, Phương Linh, Bích Ngọc, Thị Hằng"),
        _names("Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, Dương"),
        family_first=True),
    "russian": Culture("Cyrillic", {"RU": 90, "KZ": 5, "BY": 5},
        _names("Александр=Aleksandr/Alexander, Дмитрий=Dmitrii/Dmitry, Сергей=Sergei/Sergey, Андрей=Andrei/Andrey, "
               "Алексей=Aleksei/Alexey, Юрий=Iurii/Yuri, Михаил=Mikhail/Michail, Николай=Nikolai/Nikolay, Евгений=Evgenii/Yevgeny"),
        _names("Елена=Elena/Yelena, Наталья=Natalia/Natalya, Ольга=Olga, Татьяна=Tatiana/Tatyana, Юлия=Iuliia/Yulia, "
               "Екатерина=Ekaterina/Yekaterina, Анастасия=Anastasiia/Anastasia, Ирина=Irina"),
        _names("Иванов=Ivanov, Смирнов=Smirnov, Кузнецов=Kuznetsov/Kouznetsov, Попов=Popov, Соколов=Sokolov, Лебедев=Lebedev, "
               "Козлов=Kozlov, Новиков=Novikov, Морозов=Morozov, Волков=Volkov, Соловьёв=Solovev/Solovyov, Васильев=Vasilev/Vasiliev"),
        feminine="slavic"),
    "ukrainian": Culture("Cyrillic", {"UA": 100},
        _names("Олександр=Oleksandr/Aleksandr, Андрій=Andrii/Andriy, Володимир=Volodymyr/Vladimir, Тарас=Taras, "
               "Богдан=Bohdan/Bogdan, Юрій=Yurii/Yuriy, Микола=Mykola/Nikolai, Сергій=Serhii/Sergiy"),
        _names("Оксана=Oksana, Ірина=Iryna/Irina, Наталія=Nataliia/Natalia, Олена=Olena/Elena, Юлія=Yuliia/Yulia, "
               "Тетяна=Tetiana/Tatiana, Галина=Halyna/Galina"),
        _names("Шевченко=Shevchenko, Коваленко=Kovalenko, Бондаренко=Bondarenko, Ткаченко=Tkachenko, Кравчук=Kravchuk, "
               "Мельник=Melnyk/Melnik, Олійник=Oliinyk/Oleynik, Лисенко=Lysenko/Lisenko, Петренко=Petrenko, Гончаренко=Honcharenko/Goncharenko")),
    "arabic": Culture("Arabic", {"EG": 20, "SA": 12, "JO": 10, "LB": 10, "SY": 10, "IQ": 10, "MA": 10, "AE": 6, "YE": 6, "DZ": 6},
        _names("محمد=Mohammed/Muhammad/Mohamed, أحمد=Ahmed/Ahmad, علي=Ali, عمر=Omar/Umar, خالد=Khaled/Khalid, "
               "يوسف=Youssef/Yusuf, حسن=Hassan/Hasan, إبراهيم=Ibrahim, عبد الله=Abdullah/Abdallah, مصطفى=Mustafa/Moustafa"),
        _names("فاطمة=Fatima/Fatma, عائشة=Aisha/Aicha, مريم=Maryam/Mariam, نور=Nour/Noor, ليلى=Layla/Leila, "
               "سارة=Sara/Sarah, زينب=Zainab/Zeinab, هدى=Huda/Hoda"),
        _names("الحسن=Al-Hassan/Alhasan/El Hassan, المصري=Al-Masri/El Masry, العلي=Al-Ali, الخطيب=Al-Khatib/El Khatib, "
               "حداد=Haddad, منصور=Mansour/Mansur, الشامي=Al-Shami/Alshami, النجار=Al-Najjar/Elnaggar, "
               "عبد الرحمن=Abdelrahman/Abdul Rahman, سليمان=Suleiman/Sulaiman")),
    "chinese": Culture("Han", {"CN": 82, "TW": 8, "HK": 5, "SG": 5},
        _names("伟=Wei, 强=Qiang/Chiang, 磊=Lei, 军=Jun/Chun, 洋=Yang, 勇=Yong/Yung, 杰=Jie/Chieh, 俊杰=Junjie/Chun-chieh, "
               "建华=Jianhua/Chien-hua, 志明=Zhiming/Chih-ming"),
        _names("芳=Fang, 娜=Na, 静=Jing/Ching, 丽=Li/Lee, 敏=Min, 秀英=Xiuying/Hsiu-ying, 婷=Ting, 雪=Xue/Hsueh"),
        _names("王=Wang, 李=Li/Lee, 张=Zhang/Chang, 刘=Liu/Lau, 陈=Chen/Chan, 杨=Yang/Yeung, 黄=Huang/Wong, "
               "赵=Zhao/Chao, 吴=Wu/Ng, 周=Zhou/Chow, 林=Lin/Lam, 郑=Zheng/Cheng"),
        family_first=True),
    "greek": Culture("Greek", {"GR": 85, "CY": 15},
        _names("Γεώργιος=Georgios/Yorgos, Κωνσταντίνος=Konstantinos/Constantinos, Δημήτριος=Dimitrios/Demetrios, "
               "Ιωάννης=Ioannis/Yannis, Νικόλαος=Nikolaos/Nicholas, Παναγιώτης=Panagiotis/Panayiotis, Χρήστος=Christos/Hristos"),
        _names("Μαρία=Maria, Ελένη=Eleni/Helen, Αικατερίνη=Aikaterini/Ekaterini, Βασιλική=Vasiliki/Vassiliki, "
               "Σοφία=Sofia/Sophia, Αναστασία=Anastasia, Δέσποινα=Despoina/Despina"),
        _names("Παπαδόπουλος=Papadopoulos, Οικονόμου=Oikonomou/Economou, Γεωργίου=Georgiou, Βλάχος=Vlachos, "
               "Αντωνίου=Antoniou, Καραγιάννης=Karagiannis/Karayannis, Μακρής=Makris/Macris, Νικολάου=Nikolaou"),
        female_surnames=_names("Παπαδοπούλου=Papadopoulou, Οικονόμου=Oikonomou/Economou, Γεωργίου=Georgiou, Βλάχου=Vlachou, "
                               "Αντωνίου=Antoniou, Καραγιάννη=Karagianni/Karayanni, Μακρή=Makri, Νικολάου=Nikolaou")),
    "korean": Culture("Hangul", {"KR": 100},
        _names("민준=Min-jun/Minjun, 서준=Seo-jun/Seojun, 도윤=Do-yun/Doyoon, 지훈=Ji-hoon/Jihun, 현우=Hyun-woo/Hyeonu, 성민=Sung-min/Seongmin"),
        _names("서연=Seo-yeon/Seoyeon, 지우=Ji-woo/Jiwoo, 민서=Min-seo/Minseo, 수빈=Su-bin/Soobin, 지민=Ji-min/Jimin, 은지=Eun-ji/Eunji"),
        _names("김=Kim/Gim, 이=Lee/Yi/Rhee, 박=Park/Bak, 최=Choi/Choe, 정=Jung/Jeong, 강=Kang/Gang, 조=Cho/Jo, "
               "윤=Yoon/Yun, 장=Jang/Chang, 임=Lim/Im"),
        family_first=True),
    "filipino": Culture("Latin", {"PH": 100},
        _names("Jose Maria, Mark Anthony, John Paul, Rodrigo, Ramon, Emmanuel, Jericho, Rommel"),
        _names("Mary Grace, Kristine Joy, Rowena, Analyn, Jennylyn, Maricel, Rosario"),
        _names("Dela Cruz, Santos, Reyes, Bautista, Villanueva, Mendoza, Aquino, Macaraeg, Dizon, Manalo, Pascual")),
}
# Travellers through US ports: mostly US and Mexican, then the rest of the world.
CULTURE_WEIGHTS = {"english": 28, "spanish": 34, "filipino": 4, "chinese": 5, "vietnamese": 4, "korean": 3,
                   "portuguese": 4, "french": 4, "german": 2.5, "polish": 1.5, "turkish": 1.5, "russian": 2,
                   "ukrainian": 2, "arabic": 3, "greek": 1.5}
_CULTURE_OF_COUNTRY = {c: name for name, culture in CULTURES.items() for c in culture.countries}
_CULTURE_OF_COUNTRY.update({"US": "english", "MX": "spanish", "CA": "english"})


def _feminine(culture: Culture, name: tuple[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
    printed, latin = name
    if culture.feminine == "slavic" and re.search(r"(ов|ев|ёв|ин)$", printed):
        return printed + "а", tuple(n + "a" for n in latin)
    if culture.feminine == "polish" and re.search(r"(ski|cki|dzki)$", printed):
        return printed[:-1] + "a", tuple(n[:-1] + "a" for n in latin)
    return name


def _is_latin(text: str) -> bool:
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in text)


def _fold(text: str) -> str:
    """ASCII without diacritics: 'Müller' -> 'Muller'."""
    return unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L").replace("đ", "d")
                                 .replace("Đ", "D").replace("ı", "i")).encode("ascii", "ignore").decode()


@dataclass
class SimDocument:
    doc_type: str  # PASSPORT | ID_CARD
    number: str
    country: str
    expiry: date


@dataclass
class SimPerson:
    culture: str
    sex: str
    given: str                  # as printed, any script
    family: str
    given_latin: str            # Latin form (equal to the printed one for Latin-script names)
    family_latin: str
    given_alts: tuple[str, ...]   # other romanisations of the given names
    family_alts: tuple[str, ...]
    dob: date
    nationality: str
    phone: str | None
    bio_seed: int               # seeds this person's biometric base vectors
    traveller_id: str | None
    documents: list[SimDocument] = field(default_factory=list)

    @property
    def latin_script(self) -> bool:
        return _is_latin(self.given + self.family)

    def full_name(self) -> str:
        family_first = CULTURES[self.culture].family_first
        if self.culture in ("chinese", "korean"):
            return self.family + self.given
        return f"{self.family} {self.given}" if family_first else f"{self.given} {self.family}"

    def full_name_latin(self) -> str:
        if CULTURES[self.culture].family_first:
            return f"{self.family_latin} {self.given_latin}"
        return f"{self.given_latin} {self.family_latin}"


@dataclass
class Presented:
    """A person as one event records them: names and document may differ from the truth."""

    given: str
    family: str
    given_latin: str
    family_latin: str
    dob: date
    sex: str
    nationality: str
    document: SimDocument | None
    phones: list[str]
    traveller_id: str | None
    bio_seed: int  # whose face/fingers are at the booth


def _present(person: SimPerson, document: SimDocument | None = None) -> Presented:
    return Presented(person.given, person.family, person.given_latin, person.family_latin, person.dob,
                     person.sex, person.nationality, document, [person.phone] if person.phone else [],
                     person.traveller_id, person.bio_seed)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _seed_int(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(instant: datetime) -> str:
    return instant.isoformat(timespec="milliseconds")


def _money(amount: float | Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{Decimal(str(amount)).quantize(Decimal('0.01'))}", "currency": currency}


# ---------------------------------------------------------------------------- biometrics

MODALITIES = {"FACE": ("arcface-r100", "2.1", 512), "FINGERPRINT": ("fingernet-embed", "1.4", 256),
              "IRIS": ("osiris-embed", "4.1", 256)}
MODALITY_WEIGHTS = {"FACE": 70, "FINGERPRINT": 25, "IRIS": 5}


def base_template(bio_seed: int, modality: str) -> np.ndarray:
    """The person's noise-free unit vector for one modality (random high-dim vectors are ~orthogonal)."""
    dimension = MODALITIES[modality][2]
    vector = np.random.default_rng([bio_seed, list(MODALITIES).index(modality)]).standard_normal(dimension)
    return vector / np.linalg.norm(vector)


def capture_template(base: np.ndarray, quality: int, noise: np.random.Generator) -> np.ndarray:
    # Noise norm 0.1..0.3 of the unit base, larger at low quality: cosine to the base stays
    # >= 0.95 and between two captures of one person >= 0.9.
    ratio = 0.1 + 0.2 * (99 - quality) / 79
    jitter = noise.standard_normal(base.shape[0])
    vector = base + jitter * (ratio / np.linalg.norm(jitter))
    return vector / np.linalg.norm(vector)


# ---------------------------------------------------------------------------- seizure tables

SEIZURE_MIX = {
    "SEA": {"NARCOTICS": 40, "PRECURSOR_CHEMICALS": 14, "COUNTERFEIT_GOODS": 14, "WILDLIFE": 10, "FIREARMS": 4,
            "AMMUNITION": 4, "CURRENCY": 4, "SMUGGLED_PERSONS": 6, "TRAFFICKED_PERSONS": 1, "FRAUDULENT_DOCUMENTS": 3},
    "LAND": {"NARCOTICS": 52, "FIREARMS": 8, "AMMUNITION": 5, "CURRENCY": 8, "SMUGGLED_PERSONS": 12,
             "TRAFFICKED_PERSONS": 2, "FRAUDULENT_DOCUMENTS": 5, "WILDLIFE": 3, "PRECURSOR_CHEMICALS": 5},
    "AIR": {"NARCOTICS": 30, "CURRENCY": 15, "COUNTERFEIT_GOODS": 10, "WILDLIFE": 8, "FRAUDULENT_DOCUMENTS": 20,
            "FIREARMS": 2, "AMMUNITION": 3, "TRAFFICKED_PERSONS": 7, "PRECURSOR_CHEMICALS": 5},
    "PEDESTRIAN": {"NARCOTICS": 60, "FRAUDULENT_DOCUMENTS": 18, "CURRENCY": 12, "WILDLIFE": 4, "AMMUNITION": 6},
}
# substance: kg range per mode and wholesale USD per kg at the border
DRUGS = {
    "cocaine": ({"SEA": (5, 800), "LAND": (1, 60), "AIR": (0.5, 8), "PEDESTRIAN": (0.3, 3)}, (15000, 28000)),
    "fentanyl": ({"LAND": (0.5, 20), "PEDESTRIAN": (0.2, 3), "AIR": (0.1, 2), "SEA": (0.5, 20)}, (15000, 40000)),
    "methamphetamine": ({"LAND": (2, 400), "PEDESTRIAN": (0.5, 5), "AIR": (0.5, 10), "SEA": (20, 1500)}, (1500, 5000)),
    "cannabis": ({"LAND": (20, 2000), "SEA": (50, 3000), "AIR": (2, 40), "PEDESTRIAN": (0.5, 5)}, (400, 2000)),
    "heroin": ({"LAND": (1, 30), "SEA": (5, 150), "AIR": (0.5, 6), "PEDESTRIAN": (0.2, 2)}, (25000, 60000)),
}
DRUG_MIX = {"SEA": {"cocaine": 60, "methamphetamine": 12, "cannabis": 20, "heroin": 8},
            "LAND": {"fentanyl": 35, "methamphetamine": 33, "cocaine": 12, "cannabis": 12, "heroin": 8},
            "AIR": {"cocaine": 50, "cannabis": 20, "methamphetamine": 12, "fentanyl": 6, "heroin": 12},
            "PEDESTRIAN": {"fentanyl": 45, "methamphetamine": 35, "cocaine": 10, "heroin": 10}}
PRECURSORS = [("Phenyl-2-propanone (P2P)", "L", 50, 5000), ("Methylamine solution", "L", 100, 8000),
              ("4-Anilinopiperidine (4-AP)", "KG", 5, 500), ("1-Boc-4-AP", "KG", 5, 300),
              ("Sodium cyanide", "KG", 100, 4000), ("N-phenethyl-4-piperidone (NPP)", "KG", 5, 250)]
FIREARMS = [("Semi-automatic rifle", "Colt AR-15", 900, 1600), ("Semi-automatic rifle", "AK-47 pattern", 700, 1400),
            ("Pistol", "Glock 19", 500, 900), ("Pistol", "FN Five-seveN", 1200, 1600),
            ("Anti-materiel rifle", "Barrett M82 .50 BMG", 9000, 12000), ("Unserialised pistol frame", "Polymer80 PF940", 150, 400),
            ("Rifle", "Ruger AR-556", 700, 1100), ("Pistol", "Smith & Wesson M&P9", 450, 800)]
CALIBERS = ["5.56x45mm NATO", "7.62x39mm", "9x19mm Parabellum", ".50 BMG", ".223 Remington", "5.7x28mm", ".38 Super"]
COUNTERFEITS = [("Counterfeit luxury watches", "watches", 50, 4000, 80), ("Counterfeit designer handbags", "handbags", 40, 3000, 60),
                ("Counterfeit sildenafil tablets", "sildenafil", 2000, 200000, 0.8), ("Counterfeit vehicle airbags", "airbags", 20, 800, 150),
                ("Counterfeit branded sneakers", "footwear", 100, 6000, 45), ("Counterfeit cigarettes", "cigarettes", 10000, 2000000, 0.3)]
WILDLIFE = [("Pangolin scales", "Manis spp. scales", "KG", 10, 3000, 600), ("Elephant ivory", "Loxodonta africana ivory", "KG", 5, 500, 1500),
            ("Totoaba swim bladders", "Totoaba macdonaldi maw", "KG", 2, 80, 20000), ("Live parrots", "Amazona spp.", "UNITS", 5, 60, 1500),
            ("Dried sea cucumber", "Isostichopus fuscus", "KG", 20, 900, 300), ("Shark fins", "Sphyrna spp. fins", "KG", 10, 1200, 250)]
CURRENCIES = {"USD": (60, 10000, 3000000, 100), "MXN": (15, 200000, 20000000, 500), "EUR": (10, 10000, 1500000, 50),
              "COP": (5, 40000000, 4000000000, 50000), "GBP": (4, 10000, 600000, 50), "CAD": (6, 10000, 800000, 100)}
DETECTION = {  # by mode; intelligence-led cases are more common at sea
    "SEA": {"NON_INTRUSIVE_INSPECTION": 40, "INTELLIGENCE": 30, "CANINE": 12, "MANUAL_SEARCH": 15, "ION_SCANNER": 3},
    "LAND": {"NON_INTRUSIVE_INSPECTION": 38, "CANINE": 28, "MANUAL_SEARCH": 20, "INTELLIGENCE": 8, "ION_SCANNER": 6},
    "AIR": {"NON_INTRUSIVE_INSPECTION": 30, "CANINE": 20, "MANUAL_SEARCH": 25, "INTELLIGENCE": 15, "ION_SCANNER": 10},
    "PEDESTRIAN": {"CANINE": 35, "MANUAL_SEARCH": 35, "ION_SCANNER": 15, "NON_INTRUSIVE_INSPECTION": 10, "INTELLIGENCE": 5},
}
CONCEALMENT = {
    "SEA": ["Rip-on/rip-off bags behind container doors", "Deep concealment in reefer unit", "Commingled with banana boxes",
            "Parasitic compartment below the waterline", "Inside coffee sacks", "False ceiling in crew cabin", "Sea chest"],
    "LAND": ["Non-factory compartment in fuel tank", "False floor", "Spare tyre", "Dashboard compartment", "Rocker panels",
             "Commingled with produce load", "Rebuilt bumper", "Seat cushions", "Battery casing", "Trailer roof"],
    "AIR": ["False-bottom suitcase", "Body carry", "Internal carry (ingested pellets)", "Inside food tins",
            "Checked baggage, wrapped in clothing", "Air cargo, declared as machine parts"],
    "PEDESTRIAN": ["Body carry, taped to legs", "Underwear", "Shoe soles", "Backpack lining", "Child's stroller"],
}
AGENCIES = {"US": "CBP", "MX": "ANAM", "CA": "CBSA", "CO": "DIAN", "NL": "DOUANE", "BE": "AAD", "ES": "AEAT",
            "FR": "DGDDI", "DE": "ZOLL", "PA": "ANA", "EC": "SENAE", "TR": "GTB", "AE": "DXBC", "KR": "KCS"}
AIRLINES = {"US": ["AA", "DL", "UA", "B6", "NK", "WN", "AS"], "MX": ["AM", "Y4", "VB"], "CO": ["AV"], "PA": ["CM"],
            "CA": ["AC", "WS"], "FR": ["AF"], "DE": ["LH"], "TR": ["TK"], "AE": ["EK"], "NL": ["KL"], "ES": ["IB"],
            "CN": ["MU", "CA"], "KR": ["KE", "OZ"], "GB": ["BA", "VS"]}
VESSEL_WORDS = ("OCEAN PACIFIC ATLANTIC CARIBBEAN NORDIC GOLDEN SILVER BLUE CAPE SEA SOUTHERN EASTERN",
                "PIONEER SPIRIT GLORY HARMONY VOYAGER TRADER EXPRESS HORIZON FORTUNE BREEZE DAWN MERIDIAN STAR")
VEHICLES = ["white Ford F-150 pickup", "grey Nissan NP300 pickup", "black Chevrolet Tahoe", "silver Honda Odyssey minivan",
            "red Toyota Tacoma pickup", "blue Volkswagen Jetta", "white Freightliner Cascadia tractor", "beige Toyota Camry"]


@dataclass(frozen=True)
class SimVessel:
    name: str
    imo: str
    mmsi: str
    flag: str
    vessel_type: str  # cargo | cruise | fishing


@dataclass(frozen=True)
class SimVehicle:
    plate: str
    country: str
    description: str


@dataclass
class Planted:
    """One planted watchlist item and where it appeared."""

    item_id: str
    kind: str      # wanted_person | lost_stolen_document | vehicle | vessel | organisation | phone | namesake
    entity_id: str
    schema: str
    expect: str    # alert | should_not_alert
    label: str
    repeats: int = 1  # appearances per round of the plan
    person: SimPerson | None = None
    document: SimDocument | None = None
    document_entity_ids: dict[str, str] = field(default_factory=dict)  # document number -> FtM id
    vehicle: SimVehicle | None = None
    vessel: SimVessel | None = None
    phone: str | None = None
    appearances: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Queued:
    kind: str
    event: dict[str, Any]
    marks: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # item, variant, detail, via


# ---------------------------------------------------------------------------- simulator

class Simulator:
    """Deterministic traffic generator for one seed; see the module docstring."""

    def __init__(self, seed: int = 0, start: datetime | None = None, truth_rate: float = DEFAULT_TRUTH_RATE,
                 events_per_second: float = 0.8):
        """start: first simulated instant (default DEFAULT_START, so runs are reproducible; pass
        ``datetime.now(UTC)`` for live publishing). events_per_second: the simulated clock's
        average event rate; a publisher pacing at the same rate keeps timestamps near wall time."""
        self.seed = seed
        start = start or DEFAULT_START
        self.start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        self.truth_rate = truth_rate
        self.mean_step_seconds = EVENTS_PER_STEP / events_per_second
        self._rng = random.Random(f"borderhub-sim:{seed}")
        self._noise = np.random.default_rng(_seed_int("borderhub-noise", seed))
        self._clock = self.start
        self.ports = load_ports()
        self._queue: deque[_Queued] = deque()
        self._regulars: list[SimPerson] = []
        self._fleet = [self._new_vessel(self._rng, kind) for kind in ["cargo"] * 30 + ["cruise"] * 8 + ["fishing"] * 6]
        self._case_seq: dict[str, int] = {}
        self.counts = dict.fromkeys(KINDS, 0)
        self._planted: dict[str, Planted] = {}
        self._entities: list[dict[str, Any]] = []
        self._build_watchlist()
        self._plan = [item.item_id for item in self._planted.values() for _ in range(item.repeats)]
        random.Random(f"borderhub-plan:{seed}").shuffle(self._plan)
        self._plan_pos = 0

    # ------------------------------------------------------------------ public API

    def events(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Infinite stream of (kind, event) with kind in KINDS, in time order of generation."""
        while True:
            if not self._queue:
                self._step()
                continue
            queued = self._queue.popleft()
            self.counts[queued.kind] += 1
            for item_id, variant, detail, via in queued.marks:
                self._planted[item_id].appearances.append(
                    {"event_id": queued.event["event_id"], "event_kind": queued.kind, "variant": variant,
                     "detail": detail, "matched_via": via})
            yield queued.kind, queued.event

    def crossings(self) -> Iterator[dict[str, Any]]:
        return (event for kind, event in self.events() if kind == "crossings")

    def seizures(self) -> Iterator[dict[str, Any]]:
        return (event for kind, event in self.events() if kind == "seizures")

    def biometrics(self) -> Iterator[dict[str, Any]]:
        return (event for kind, event in self.events() if kind == "biometrics")

    def watchlist_entities(self) -> list[dict[str, Any]]:
        """The planted watchlist as FollowTheMoney entity dicts (ids stable for the seed)."""
        return json.loads(json.dumps(self._entities))

    def template_for(self, entity_id: str, modality: str = "FACE") -> list[float]:
        """The noise-free biometric template of a planted person (for loading a biometric watchlist)."""
        for item in self._planted.values():
            if item.entity_id == entity_id and item.person is not None:
                return [round(float(x), 6) for x in base_template(item.person.bio_seed, modality)]
        raise KeyError(entity_id)

    def truth(self) -> dict[str, Any]:
        """Ground truth of the events yielded so far (shape documented in write_dataset)."""
        items, expected, not_expected = [], [], []
        for item in self._planted.values():
            items.append({
                "item_id": item.item_id, "kind": item.kind, "expect": item.expect, "entity_id": item.entity_id,
                "entity_schema": item.schema, "label": item.label,
                "related_entity_ids": sorted(set(item.document_entity_ids.values())),
                "event_ids": list(dict.fromkeys(a["event_id"] for a in item.appearances)),
                "appearances": list(item.appearances),
            })
            for appearance in item.appearances:
                row = {"event_id": appearance["event_id"], "event_kind": appearance["event_kind"],
                       "entity_id": item.entity_id, "item_id": item.item_id, "variant": appearance["variant"]}
                if item.expect == "alert":
                    expected.append(row | {"matched_via": appearance["matched_via"]})
                else:
                    not_expected.append(row)
        return {"seed": self.seed, "start": _iso(self.start), "truth_rate": self.truth_rate,
                "event_counts": dict(self.counts), "items": items,
                "expected_alerts": expected, "should_not_alert": not_expected}

    # ------------------------------------------------------------------ stream steps

    def _step(self) -> None:
        rng = self._rng
        self._clock += timedelta(seconds=rng.expovariate(1 / self.mean_step_seconds))
        if self._plan and rng.random() < self.truth_rate:
            item = self._planted[self._plan[self._plan_pos % len(self._plan)]]
            self._plan_pos += 1
            self._emit_planted(item)
        elif rng.random() < SEIZURE_STEP_P:
            self._queue_seizure()
        else:
            self._queue_crossing_scene()

    def _pick_port(self, mode: str | None = None) -> TrafficPort:
        ports = [p for p in self.ports if mode is None or mode in p.modes]
        return self._rng.choices(ports, weights=[p.weight for p in ports])[0]

    def _pick_mode(self, port: TrafficPort) -> str:
        weights = {"AIR": 10, "SEA": 3, "LAND": 10, "PEDESTRIAN": 3}
        if port.locode == "USMIA":
            weights["SEA"] = 4  # cruise terminals next to a busy airport
        modes = list(port.modes)
        return self._rng.choices(modes, weights=[weights.get(m, 1) for m in modes])[0]

    # ------------------------------------------------------------------ people

    def _new_person(self, rng: random.Random, culture: str | None = None, *, sex: str | None = None,
                    nationality: str | None = None) -> SimPerson:
        culture = culture or _weighted(rng, CULTURE_WEIGHTS)
        c = CULTURES[culture]
        sex = sex or ("M" if rng.random() < 0.56 else "F")
        given_pool = c.male if sex == "M" else c.female
        given = [rng.choice(given_pool)]
        if rng.random() < c.middle_name:
            second = rng.choice(given_pool)
            if second != given[0]:
                given.append(second)
        surnames = c.female_surnames if sex == "F" and c.female_surnames else c.surnames
        family = [rng.choice(surnames)]
        if rng.random() < c.two_surnames:
            family.append(rng.choice([s for s in surnames if s != family[0]]))
        if sex == "F":
            family = [_feminine(c, name) for name in family]
        # Alternative romanisations: vary one name part at a time.
        given_alts = tuple(dict.fromkeys(
            " ".join(alt if j == i else p[1][0] for j, p in enumerate(given))
            for i, part in enumerate(given) for alt in part[1][1:]))
        family_alts = tuple(dict.fromkeys(
            " ".join(alt if j == i else p[1][0] for j, p in enumerate(family))
            for i, part in enumerate(family) for alt in part[1][1:]))
        year = min(2008, int(rng.triangular(1950, 2009, 1988)))  # born 1950-2008, most in their 30s
        dob = date(year, rng.randint(1, 12), rng.randint(1, 28))
        if nationality is None:
            nationality = _weighted(rng, c.countries) if rng.random() < 0.88 else rng.choice(["US", "US", "CA", "MX", "ES", "GB"])
        phone = _phone(rng, nationality if rng.random() < 0.75 else "US") if rng.random() < 0.7 else None
        traveller_id = f"TRV{rng.getrandbits(40):010X}" if rng.random() < 0.8 else None
        return SimPerson(culture, sex, " ".join(p[0] for p in given), " ".join(p[0] for p in family),
                         " ".join(p[1][0] for p in given), " ".join(p[1][0] for p in family),
                         given_alts, family_alts, dob, nationality,
                         phone, rng.getrandbits(63), traveller_id)

    def _new_document(self, rng: random.Random, person: SimPerson, doc_type: str = "PASSPORT") -> SimDocument:
        country = person.nationality
        formats = _PASSPORT_FORMATS if doc_type == "PASSPORT" else _ID_CARD_FORMATS
        number = _from_pattern(rng, formats.get(country, "AA9999999" if doc_type == "PASSPORT" else "A99999999"))
        age_years = (self.start.date() - person.dob).days / 365.25
        validity = 10 if age_years >= 16 else 5
        issued = self.start.date() - timedelta(days=rng.randint(30, int(validity * 365 - 60)))
        expiry = date(issued.year + validity, issued.month, min(issued.day, 28))
        document = SimDocument(doc_type, number, country, expiry)
        person.documents.append(document)
        return document

    def _document_for(self, person: SimPerson, mode: str, port: TrafficPort) -> SimDocument:
        """The document a person shows: US passport cards at land/sea, EU ID cards in Europe."""
        rng = self._rng
        wants_card = person.nationality in _ID_CARD_COUNTRIES and (
            (person.nationality == "US" and mode in ("LAND", "PEDESTRIAN", "SEA") and rng.random() < 0.35)
            or (person.nationality != "US" and port.country in _ID_CARD_COUNTRIES | {"TR"} and rng.random() < 0.5))
        doc_type = "ID_CARD" if wants_card else "PASSPORT"
        for document in person.documents:
            if document.doc_type == doc_type:
                return document
        return self._new_document(rng, person, doc_type)

    def _traveller(self, port: TrafficPort, mode: str) -> SimPerson:
        """A fresh traveller or a regular (commuters and crews recur)."""
        rng = self._rng
        if self._regulars and rng.random() < (0.45 if mode in ("LAND", "PEDESTRIAN") else 0.15):
            return rng.choice(self._regulars)
        culture = None
        if port.country != "US" and rng.random() < 0.4:
            culture = _CULTURE_OF_COUNTRY.get(port.country)
        person = self._new_person(rng, culture, nationality=port.country if culture else None)
        if len(self._regulars) < 600:
            self._regulars.append(person)
        return person

    # ------------------------------------------------------------------ JSON shapes

    @staticmethod
    def _traveller_json(pr: Presented) -> dict[str, Any]:
        latin = None
        if not _is_latin(pr.given + pr.family):
            latin = f"{pr.family_latin.upper()}, {pr.given_latin}"
        return {"traveller_id": pr.traveller_id, "given_names": pr.given, "family_names": pr.family,
                "names_latin": latin, "date_of_birth": pr.dob.isoformat(), "sex": pr.sex,
                "nationality": pr.nationality, "phone_numbers": list(pr.phones)}

    @staticmethod
    def _document_json(pr: Presented) -> dict[str, Any] | None:
        doc = pr.document
        if doc is None:
            return None
        mrz = make_mrz(doc.doc_type, doc.country, pr.family_latin, pr.given_latin, doc.number,
                       pr.nationality, pr.dob, pr.sex, doc.expiry)
        return {"document_type": doc.doc_type, "number": doc.number, "issuing_country": doc.country,
                "expiry_date": doc.expiry.isoformat(), "mrz_lines": mrz}

    def _conveyance(self, port: TrafficPort, mode: str, *, vehicle: SimVehicle | None = None,
                    vessel: SimVessel | None = None, containers: int = 0, plate_text: str | None = None,
                    imo_text: str | None = None, vessel_name: str | None = None,
                    drop_imo: bool = False) -> dict[str, Any] | None:
        rng = self._rng
        base: dict[str, Any] = {"vehicle_plate": None, "vehicle_country": None, "vehicle_vin": None,
                                "vessel_name": None, "vessel_imo": None, "vessel_mmsi": None,
                                "flight_number": None, "container_numbers": []}
        if mode == "AIR":
            airline = rng.choice(AIRLINES.get(port.country, []) + rng.choice(list(AIRLINES.values())))
            base["flight_number"] = f"{airline}{rng.randint(1, 2999)}"
        elif mode == "SEA":
            vessel = vessel or rng.choice([v for v in self._fleet if port.locode in ("USMIA", "USLGB", "USSAN")
                                           or v.vessel_type != "cruise"])
            base.update(vessel_name=vessel_name or vessel.name, vessel_imo=None if drop_imo else (imo_text or vessel.imo),
                        vessel_mmsi=vessel.mmsi)
        elif mode == "LAND":
            if vehicle is None:
                country = self._plate_country(port)
                vehicle = SimVehicle(_plate(rng, country), country, rng.choice(VEHICLES))
            base.update(vehicle_plate=plate_text or vehicle.plate, vehicle_country=vehicle.country)
        else:
            return None
        base["container_numbers"] = [container_number(rng) for _ in range(containers)]
        return base

    def _plate_country(self, port: TrafficPort) -> str:
        neighbour = {"US": "MX" if port.lat < 34 else "CA", "MX": "US", "CA": "US"}.get(port.country, port.country)
        return port.country if self._rng.random() < 0.55 else neighbour

    def _lane(self, mode: str) -> str:
        rng = self._rng
        if mode == "AIR":
            return rng.choice([f"Booth {rng.randint(1, 40)}", f"eGate {rng.randint(1, 24)}"])
        if mode == "SEA":
            return f"Terminal {rng.choice('ABCDEFG')}"
        if mode == "PEDESTRIAN":
            return f"Ped {rng.choice(['East', 'West'])} {rng.randint(1, 12)}"
        return rng.choice([f"Lane {rng.randint(1, 26):02d}", f"SENTRI Lane {rng.randint(1, 6)}", f"Cargo Lane {rng.randint(1, 10)}"])

    def _source_system(self, port: TrafficPort, mode: str, what: str = "poe") -> str:
        return f"{port.locode.lower()}-{mode.lower()}-{what}"

    # ------------------------------------------------------------------ crossings

    def _queue_crossing_scene(self, port: TrafficPort | None = None, mode: str | None = None,
                              people: list[tuple[Presented, list[tuple[str, str, str, list[str]]]]] | None = None,
                              conveyance: dict[str, Any] | None = None, extra_passengers: bool = True,
                              capture_p: float = BIOMETRIC_AFTER_CROSSING_P) -> list[dict[str, Any]]:
        """Queue the crossings of one scene (a car, a cabin, a walker) and their captures."""
        rng = self._rng
        port = port or self._pick_port()
        mode = mode or self._pick_mode(port)
        if mode not in port.modes:
            port = self._pick_port(mode)
        people = list(people or [])
        if not people or extra_passengers:
            extra = {"LAND": rng.choice([0, 0, 1, 1, 2, 3]), "SEA": rng.choice([0, 0, 1]),
                     "AIR": rng.choice([0, 0, 0, 1]), "PEDESTRIAN": 0}.get(mode, 0)
            for _ in range(extra + (0 if people else 1)):
                person = self._traveller(port, mode)
                people.append((_present(person, self._document_for(person, mode, port)), []))
        if conveyance is None:
            trucks = mode == "LAND" and port.locode in ("USOYM", "USLRD", "USPFX") and rng.random() < 0.5
            conveyance = self._conveyance(port, mode, containers=1 if trucks else 0)
            if trucks:
                people = people[:1]  # a truck driver travels alone
        group = f"GRP-{rng.getrandbits(48):012X}" if len(people) > 1 else None
        direction = _weighted(rng, {"ENTRY": 75, "EXIT": 22, "TRANSIT": 3 if mode == "AIR" else 0})
        lane, occurred = self._lane(mode), self._clock
        events = []
        for presented, marks in people:
            occurred += timedelta(milliseconds=rng.randint(200, 9000))
            event = {
                "event_id": _uuid(rng), "occurred_at": _iso(occurred), "port_locode": port.locode,
                "lane": lane, "direction": direction, "mode": mode,
                "traveller": self._traveller_json(presented), "document": self._document_json(presented),
                "conveyance": conveyance, "travel_group_id": group,
                "declared_currency": [_money(rng.choice([10500, 12000, 15000, 25000, 48000]), "USD")]
                if rng.random() < 0.015 else [],
                "source_system": self._source_system(port, mode),
            }
            self._queue.append(_Queued("crossings", event, marks))
            events.append(event)
            # Captures of planted people are truth too; they carry the crossing's document, so
            # they can hit the listed document entities (the person entity only via templates).
            person_marks = [m for m in marks if self._planted[m[0]].kind in PERSON_ITEM_KINDS]
            if rng.random() < (PLANTED_BIOMETRIC_P if person_marks else capture_p):
                capture = self._biometric(event, presented, port, occurred)
                capture_marks = []
                for item_id, variant, _, via in person_marks:
                    documents = set(self._planted[item_id].document_entity_ids.values())
                    capture_marks.append((item_id, variant, f"capture at crossing {event['event_id']}",
                                          [v for v in via if v in documents]))
                self._queue.append(_Queued("biometrics", capture, capture_marks))
        return events

    def _biometric(self, crossing: dict[str, Any], presented: Presented, port: TrafficPort,
                   occurred: datetime) -> dict[str, Any]:
        rng = self._rng
        modality = _weighted(rng, MODALITY_WEIGHTS)
        algorithm, version, dimension = MODALITIES[modality]
        quality = int(min(99, max(20, rng.gauss(72, 14))))
        vector = capture_template(base_template(presented.bio_seed, modality), quality, self._noise)
        return {
            "event_id": _uuid(rng), "captured_at": _iso(occurred + timedelta(seconds=rng.uniform(1, 20))),
            "port_locode": port.locode,
            "template": {"modality": modality, "algorithm": algorithm, "algorithm_version": version,
                         "dimension": dimension, "vector": [round(float(x), 6) for x in vector]},
            "quality": quality, "document": crossing["document"],
            "traveller_id": crossing["traveller"]["traveller_id"], "crossing_event_id": crossing["event_id"],
            "source_system": self._source_system(port, crossing["mode"], "biometrics"),
        }

    # ------------------------------------------------------------------ seizures

    def _case_reference(self, country: str) -> str:
        agency = AGENCIES.get(country, f"{country}CUS")
        seq = self._case_seq.setdefault(agency, self._rng.randint(100, 900)) + 1
        self._case_seq[agency] = seq
        return f"{agency}-{self._clock.year}-{seq:06d}"

    def _seizure_items(self, category: str, mode: str) -> tuple[list[dict[str, Any]], int]:
        """Inventory lines for a category; the int is how many smuggled persons to list."""
        rng = self._rng

        def item(description, substance, quantity, unit, value=None):
            return {"description": description, "substance": substance, "quantity": round(quantity, 3),
                    "unit": unit, "estimated_value": value}

        if category == "NARCOTICS":
            drug = _weighted(rng, DRUG_MIX[mode])
            ranges, (low, high) = DRUGS[drug]
            if drug == "fentanyl" and rng.random() < 0.4:  # counterfeit "M30" oxycodone pills
                pills = rng.randint(2000, 400000)
                return [item("Blue 'M30' pills containing fentanyl", "fentanyl", pills, "UNITS",
                             _money(pills * rng.uniform(0.5, 3), "USD"))], 0
            kg = rng.uniform(*ranges[mode])
            form = {"cocaine": "Brick-shaped packages of cocaine hydrochloride", "fentanyl": "Fentanyl powder",
                    "methamphetamine": "Crystal methamphetamine", "cannabis": "Compressed cannabis bales",
                    "heroin": "Black tar heroin"}[drug]
            lines = [item(form, drug, kg, "KG", _money(kg * rng.uniform(low, high), "USD"))]
            if drug == "methamphetamine" and rng.random() < 0.2:
                lines.append(item("Liquid methamphetamine in tequila bottles", drug, rng.uniform(5, 200), "L"))
            return lines, 0
        if category == "PRECURSOR_CHEMICALS":
            name, unit, low, high = rng.choice(PRECURSORS)
            return [item(f"{name} in industrial drums", name, rng.uniform(low, high), unit)], 0
        if category == "FIREARMS":
            lines = []
            for _ in range(rng.randint(1, 3)):
                description, make, low, high = rng.choice(FIREARMS)
                units = rng.randint(1, 25)
                lines.append(item(description, make, units, "UNITS", _money(units * rng.uniform(low, high), "USD")))
            return lines, 0
        if category == "AMMUNITION":
            rounds = rng.choice([rng.randint(50, 2000), rng.randint(2000, 60000)])
            return [item("Loose and boxed cartridges", rng.choice(CALIBERS), rounds, "ROUNDS",
                         _money(rounds * rng.uniform(0.3, 2.5), "USD"))], 0
        if category == "CURRENCY":
            currency = rng.choices(list(CURRENCIES), weights=[c[0] for c in CURRENCIES.values()])[0]
            _, low, high, denomination = CURRENCIES[currency]
            amount = round(rng.uniform(low, high) / denomination) * denomination
            return [item("Undeclared bulk cash in vacuum-sealed bundles", f"{currency} banknotes",
                         amount // denomination, "UNITS", _money(amount, currency))], 0
        if category == "COUNTERFEIT_GOODS":
            description, substance, low, high, unit_value = rng.choice(COUNTERFEITS)
            units = rng.randint(low, high)
            return [item(description, substance, units, "UNITS", _money(units * unit_value, "USD"))], 0
        if category == "WILDLIFE":
            description, species, unit, low, high, unit_value = rng.choice(WILDLIFE)
            quantity = rng.uniform(low, high) if unit == "KG" else rng.randint(low, high)
            return [item(description, species, quantity, unit, _money(quantity * unit_value, "USD"))], 0
        if category in ("SMUGGLED_PERSONS", "TRAFFICKED_PERSONS"):
            count = rng.randint(1, 25) if category == "SMUGGLED_PERSONS" else rng.randint(1, 8)
            word = "Undocumented migrants concealed" if category == "SMUGGLED_PERSONS" else "Victims of trafficking"
            return [item(word, None, count, "PERSONS")], count
        if category == "FRAUDULENT_DOCUMENTS":
            units = rng.randint(1, 40)
            what = rng.choice(["Counterfeit passports", "Altered identity cards", "Fraudulently obtained visas",
                               "Photo-substituted passports", "Stolen blank passports"])
            return [item(what, None, units, "UNITS")], 0
        return [item("Undeclared goods", None, 1, "OTHER")], 0

    def _queue_seizure(self, *, port: TrafficPort | None = None, mode: str | None = None, category: str | None = None,
                       carriers: list[Presented] | None = None, vehicle: SimVehicle | None = None,
                       vessel: SimVessel | None = None, phones: list[str] | None = None,
                       documents: list[dict[str, Any]] | None = None, plate_text: str | None = None,
                       imo_text: str | None = None, vessel_name: str | None = None, drop_imo: bool = False,
                       marks: list[tuple[str, str, str, list[str]]] | None = None) -> dict[str, Any]:
        rng = self._rng
        port = port or self._pick_port()
        mode = mode or self._pick_mode(port)
        if mode not in port.modes:
            port = self._pick_port(mode)
        category = category or _weighted(rng, SEIZURE_MIX[mode])
        items, smuggled = self._seizure_items(category, mode)
        if carriers is None:
            carriers = []
            count = rng.choice([0, 1, 1, 1, 2] if mode != "SEA" else [0, 0, 1, 2])
            for _ in range(count):
                person = self._new_person(rng)
                carriers.append(_present(person, self._document_for(person, mode, port)))
        persons = [self._traveller_json(p) for p in carriers]
        doc_list = [d for d in (self._document_json(p) for p in carriers) if d]
        for _ in range(smuggled):  # smuggled and trafficked people, mostly without documents
            person = self._new_person(rng, _weighted(rng, {"spanish": 70, "chinese": 10, "english": 2, "arabic": 5,
                                                          "vietnamese": 5, "ukrainian": 3, "french": 5}))
            persons.append(self._traveller_json(_present(person)))
        if category == "FRAUDULENT_DOCUMENTS":
            for _ in range(min(int(items[0]["quantity"]), rng.randint(1, 4))):
                holder = self._new_person(rng)
                doc_list.append(self._document_json(_present(holder, self._new_document(rng, holder))))
        doc_list += documents or []
        phone_numbers = [n for p in carriers for n in p.phones]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):  # handsets seized with the goods
            phone_numbers.append(_phone(rng, rng.choice(["MX", "MX", "US", "US", "CO", "GT", port.country])))
        phone_numbers += phones or []
        jitter = 0.08 if mode == "SEA" else 0.02
        containers = rng.randint(1, 3) if mode == "SEA" and vessel is None and rng.random() < 0.7 else 0
        if mode == "SEA" and vessel is not None and rng.random() < 0.5:
            containers = 1
        event = {
            "event_id": _uuid(rng), "occurred_at": _iso(self._clock), "port_locode": port.locode,
            "location": {"lat": round(port.lat + rng.uniform(-jitter, jitter), 5),
                         "lon": round(port.lon + rng.uniform(-jitter, jitter), 5)},
            "category": category, "items": items,
            "detection_method": _weighted(rng, DETECTION[mode]),
            "concealment": rng.choice(CONCEALMENT[mode]),
            "conveyance": self._conveyance(port, mode, vehicle=vehicle, vessel=vessel, containers=containers,
                                           plate_text=plate_text, imo_text=imo_text, vessel_name=vessel_name,
                                           drop_imo=drop_imo),
            "persons": persons, "documents": doc_list,
            "phone_numbers": [p for p in dict.fromkeys(phone_numbers) if p],
            "case_reference": self._case_reference(port.country),
            "source_system": self._source_system(port, mode, "seizures"),
        }
        self._queue.append(_Queued("seizures", event, list(marks or [])))
        return event

    # ------------------------------------------------------------------ watchlist

    def _entity_id(self, role: str, index: int) -> str:
        return f"bh-{role}-{hashlib.sha1(f'{self.seed}:{role}:{index}'.encode()).hexdigest()[:12]}"

    def _new_vessel(self, rng: random.Random, vessel_type: str) -> SimVessel:
        first, second = (words.split() for words in VESSEL_WORDS)
        name = f"{rng.choice(first)} {rng.choice(second)}"
        if vessel_type == "cruise":
            name = f"SEA {rng.choice(second)}"
        elif vessel_type == "fishing":
            name = f"DON {rng.choice(['PEDRO', 'MANUEL', 'JOSE', 'LUCHO', 'RAFA'])} {rng.randint(1, 9)}"
        six = "9" + f"{rng.randrange(10**5):05d}"
        flag = _weighted(rng, _FLAG_WEIGHTS) if vessel_type != "fishing" else rng.choice(["MX", "CO", "EC", "PA"])
        mmsi = f"{rng.choice(_MIDS[flag])}{rng.randrange(10**6):06d}"
        return SimVessel(name, six + stdnum_imo.calc_check_digit(six), mmsi, flag, vessel_type)

    def _build_watchlist(self) -> None:
        rng = random.Random(f"borderhub-watchlist:{self.seed}")
        modified = _iso(self.start - timedelta(days=3)).replace(".000", "")

        def add(entity_id: str, schema: str, **props: Any) -> dict[str, Any]:
            entity = {"id": entity_id, "schema": schema,
                      "properties": {k: v if isinstance(v, list) else [v] for k, v in props.items()
                                     if v not in (None, [], "")}}
            entity["properties"]["modifiedAt"] = [modified]
            self._entities.append(entity)
            return entity

        def plant(item: Planted) -> Planted:
            self._planted[item.item_id] = item
            return item

        # Wanted persons, a spread of cultures; several non-Latin to exercise transliteration.
        offences = [(["wanted", "crime.traffick.drug"], "Arrest warrant: conspiracy to import cocaine and methamphetamine"),
                    (["wanted", "crime.traffick.human"], "Arrest warrant: alien smuggling resulting in death"),
                    (["wanted", "crime.traffick.drug"], "Arrest warrant: distribution of fentanyl"),
                    (["wanted", "crime.fin"], "Arrest warrant: laundering of narcotics proceeds"),
                    (["crime.traffick.drug"], "Suspected courier for a cross-border trafficking network"),
                    (["wanted", "crime.traffick"], "Arrest warrant: firearms trafficking to Mexico")]
        nicknames = {"spanish": {"M": ["El Flaco", "El Güero", "Chapito", "El Tío", "Lobo"], "F": ["La Güera", "La Jefa"]},
                     "russian": {"M": ["Dima", "Sasha"], "F": ["Masha"]}, "ukrainian": {"M": ["Sasha"], "F": ["Lesia"]},
                     "arabic": {"M": ["Abu Khalil"], "F": ["Umm Ali"]}, "english": {"M": ["Big Mike"], "F": ["Red"]}}
        cultures = ["spanish", "spanish", "russian", "arabic", "chinese", "vietnamese", "ukrainian", "english",
                    "korean", "greek", "spanish", "turkish"]
        self._wanted: list[Planted] = []
        for i, culture in enumerate(cultures):
            person = self._new_person(rng, culture)
            if culture == "spanish" and " " not in person.given and i % 2 == 0:
                second = rng.choice(CULTURES[culture].male if person.sex == "M" else CULTURES[culture].female)
                person = replace(person, given=f"{person.given} {second[0]}", given_latin=f"{person.given_latin} {second[1][0]}")
            person.phone = person.phone or _phone(rng, person.nationality)
            topics, notes = offences[i % len(offences)]
            pid = self._entity_id("person", i)
            names = [person.full_name()] + ([person.full_name_latin()] if not person.latin_script else [])
            latin_parts = {} if not person.latin_script else {"firstName": person.given, "lastName": person.family}
            add(pid, "Person", name=names, **latin_parts, birthDate=person.dob.isoformat(),
                nationality=person.nationality.lower(), gender="male" if person.sex == "M" else "female",
                phone=person.phone, topics=topics, notes=f"{notes}. Warrant ref. {rng.randint(10**6, 10**7 - 1)}.",
                weakAlias=rng.choice(nicknames[culture][person.sex]) if culture in nicknames and rng.random() < 0.6 else None)
            item = plant(Planted(f"wanted-{i + 1:02d}", "wanted_person", pid, "Person", "alert",
                                 f"{person.full_name()} ({person.dob}, {person.nationality})", repeats=2, person=person))
            passport = self._new_document(rng, person, "PASSPORT")
            doc_id = self._entity_id("passport", i)
            add(doc_id, "Passport", holder=pid, number=passport.number, passportNumber=passport.number,
                country=passport.country.lower(), type="passport", surname=person.family_latin,
                givenName=person.given_latin, birthDate=person.dob.isoformat(), endDate=passport.expiry.isoformat())
            item.document, item.document_entity_ids[passport.number] = passport, doc_id
            if person.nationality in _ID_CARD_COUNTRIES and rng.random() < 0.6:
                card = self._new_document(rng, person, "ID_CARD")
                card_id = self._entity_id("idcard", i)
                add(card_id, "Identification", holder=pid, number=card.number, country=card.country.lower(),
                    type="identity card", endDate=card.expiry.isoformat())
                item.document_entity_ids[card.number] = card_id
            self._wanted.append(item)

        # Lost and stolen documents (SLTD-style): the holder is not in the feed.
        for i in range(8):
            owner = self._new_person(rng)
            doc_type = "ID_CARD" if owner.nationality in _ID_CARD_COUNTRIES and i % 3 == 0 else "PASSPORT"
            document = self._new_document(rng, owner, doc_type)
            status = rng.choice(["stolen", "stolen", "lost"])
            reported = (self.start - timedelta(days=rng.randint(20, 700))).date().isoformat()
            doc_id = self._entity_id("sltd", i)
            common = dict(holder=self._entity_id("sltd-holder", i), number=document.number,
                          country=document.country.lower(), endDate=document.expiry.isoformat(),
                          summary=f"Reported {status} on {reported} by the issuing authority")
            if doc_type == "PASSPORT":
                add(doc_id, "Passport", **common, type="passport", passportNumber=document.number,
                    surname=owner.family_latin, givenName=owner.given_latin, birthDate=owner.dob.isoformat(),
                    gender="male" if owner.sex == "M" else "female")
            else:
                add(doc_id, "Identification", **common, type="identity card")
            plant(Planted(f"sltd-{i + 1:02d}", "lost_stolen_document", doc_id, "Passport" if doc_type == "PASSPORT"
                          else "Identification", "alert", f"{doc_type} {document.country} {document.number} ({status})",
                          person=owner, document=document, document_entity_ids={document.number: doc_id}))

        # A front company with a phone, owning one of the listed vehicles.
        org_id = self._entity_id("org", 0)
        org_phone = _phone(rng, "MX")
        add(org_id, "Company", name="Transportes Fronterizos del Pacífico S.A. de C.V.",
            alias="TFP Logística", jurisdiction="mx", registrationNumber=f"TFP{rng.randint(100000, 999999)}AB1",
            phone=org_phone, topics=["crime.traffick.drug"],
            notes="Freight company used to move fentanyl precursors and bulk cash across the San Diego border")
        plant(Planted("org-01", "organisation", org_id, "Company", "alert",
                      "Transportes Fronterizos del Pacífico S.A. de C.V.", repeats=2, phone=org_phone))

        # Vehicles seen in several seizures (ANPR reads vary in format and OCR).
        for i in range(4):
            country = ["MX", "US", "MX", "US"][i]
            vehicle = SimVehicle(_plate(rng, country), country, rng.choice(VEHICLES))
            vid = self._entity_id("vehicle", i)
            add(vid, "Vehicle", name=vehicle.description, registrationNumber=vehicle.plate, country=country.lower(),
                topics=["crime.traffick.drug"], owner=org_id if i == 0 else None,
                notes="Vehicle used in repeated narcotics smuggling attempts")
            plant(Planted(f"vehicle-{i + 1:02d}", "vehicle", vid, "Vehicle", "alert",
                          f"{vehicle.plate} ({country}) {vehicle.description}", repeats=3, vehicle=vehicle))

        # A cargo vessel under investigation.
        vessel = self._new_vessel(rng, "cargo")
        vessel_id = self._entity_id("vessel", 0)
        add(vessel_id, "Vessel", name=vessel.name, imoNumber=vessel.imo, mmsi=vessel.mmsi, flag=vessel.flag.lower(),
            type="General cargo", topics=["crime.traffick.drug"],
            notes="Vessel linked to container rip-on cocaine shipments from Guayaquil and Cartagena")
        plant(Planted("vessel-01", "vessel", vessel_id, "Vessel", "alert", f"{vessel.name} IMO {vessel.imo}",
                      repeats=3, vessel=vessel))

        # Phone-only listings: burner handsets recovered in earlier cases.
        for i in range(3):
            number = _phone(rng, ["MX", "US", "CO"][i])
            phone_id = self._entity_id("phone", i)
            add(phone_id, "LegalEntity", name=number, phone=number, topics=["crime.traffick.drug"],
                notes="Handset number recovered from seized phones in earlier narcotics cases")
            plant(Planted(f"phone-{i + 1:02d}", "phone", phone_id, "LegalEntity", "alert", number,
                          repeats=3, phone=number))

        # Namesakes: same printed name as a wanted person, born 20 years apart, another nationality.
        for i, listed in enumerate(self._wanted[:5]):
            person = listed.person
            years = 20 if person.dob.year + 20 <= 2008 else -20
            others = [c for c in CULTURES[person.culture].countries if c != person.nationality] or ["US"]
            nationality = rng.choice(others + (["US"] if person.nationality != "US" else ["CA"]))
            twin = replace(person, dob=person.dob.replace(year=person.dob.year + years), nationality=nationality,
                           phone=_phone(rng, nationality), bio_seed=rng.getrandbits(63),
                           traveller_id=f"TRV{rng.getrandbits(40):010X}", documents=[])
            self._new_document(rng, twin, "PASSPORT")
            plant(Planted(f"namesake-{i + 1:02d}", "namesake", listed.entity_id, "Person", "should_not_alert",
                          f"namesake of {listed.item_id}: {twin.full_name()} ({twin.dob}, {nationality})", person=twin))

    # ------------------------------------------------------------------ planted appearances

    def _emit_planted(self, item: Planted) -> None:
        handler = {"wanted_person": self._plant_wanted, "lost_stolen_document": self._plant_document,
                   "vehicle": self._plant_vehicle, "vessel": self._plant_vessel, "organisation": self._plant_phone,
                   "phone": self._plant_phone, "namesake": self._plant_namesake}[item.kind]
        handler(item)

    def _name_variant(self, person: SimPerson, pr: Presented, variant: str) -> str:
        """Apply a name variant to a presentation in place; returns the detail for truth."""
        rng = self._rng
        if variant == "order_swapped":
            pr.given, pr.family = pr.family, pr.given
            pr.given_latin, pr.family_latin = pr.family_latin, pr.given_latin
            return "given and family names swapped"
        if variant == "missing_middle":
            if len(pr.given.split()) > 1:
                old, pr.given = pr.given, pr.given.split()[0]
                pr.given_latin = pr.given_latin.split()[0]
                return f"given names {old!r} recorded as {pr.given!r}"
            old, pr.family = pr.family, pr.family.split()[0]
            pr.family_latin = pr.family_latin.split()[0]
            return f"family names {old!r} recorded as {pr.family!r}"
        if variant == "typo":
            field_name = "family" if len(pr.family_latin) >= 4 else "given"
            old = getattr(pr, f"{field_name}_latin")
            new = _typo(rng, old)
            setattr(pr, f"{field_name}_latin", new)
            if person.latin_script:
                setattr(pr, field_name, new)
            return f"{field_name} name {old!r} recorded as {new!r}"
        if variant == "translit":
            if not person.latin_script:
                options = [("given", alt) for alt in person.given_alts] + [("family", alt) for alt in person.family_alts]
                field_name, alt = rng.choice(options)
                old = getattr(pr, f"{field_name}_latin")
                setattr(pr, f"{field_name}_latin", alt)
                return f"{field_name} name romanised {alt!r} instead of {old!r}"
            old = f"{pr.given} {pr.family}"
            pr.given, pr.family = _fold(pr.given), _fold(pr.family)
            pr.given_latin, pr.family_latin = pr.given, pr.family
            return f"name {old!r} recorded without diacritics as {pr.given + ' ' + pr.family!r}"
        return "exact"

    def _variants_for(self, person: SimPerson) -> list[str]:
        variants = ["exact", "exact", "order_swapped", "typo", "other_document"]
        if person.latin_script and (len(person.given.split()) > 1 or len(person.family.split()) > 1):
            variants.append("missing_middle")
        if (not person.latin_script and (person.given_alts or person.family_alts)) or (
                person.latin_script and _fold(person.given + person.family) != person.given + person.family):
            variants += ["translit", "translit"]
        return variants

    def _plant_wanted(self, item: Planted) -> None:
        rng, person = self._rng, item.person
        variant = rng.choice(self._variants_for(person))
        document, via = item.document, [item.entity_id, item.document_entity_ids[item.document.number]]
        detail = ""
        if variant == "other_document":
            # a second nationality's passport or a renewal not yet on the list
            country = rng.choice([person.nationality, "US" if person.nationality != "US" else "MX"])
            twin = replace(person, nationality=country, documents=[])
            document, via = self._new_document(rng, twin, "PASSPORT"), [item.entity_id]
            detail = f"unlisted passport {country} {document.number}"
        pr = _present(person, document)
        if variant == "other_document":
            pr.nationality = document.country
        else:
            detail = self._name_variant(person, pr, variant)
        if not pr.phones or rng.random() < 0.5:
            pr.phones = []  # the listed phone is not always declared
        marks = [(item.item_id, variant, detail, via)]
        if rng.random() < 0.8:
            self._queue_crossing_scene(people=[(pr, marks)], extra_passengers=rng.random() < 0.3)
        else:  # caught as the carrier in a seizure
            self._queue_seizure(carriers=[pr], marks=[(item.item_id, variant, f"carrier in seizure; {detail}", via)])

    def _plant_document(self, item: Planted) -> None:
        rng, owner, document = self._rng, item.person, item.document
        via = [item.entity_id]
        roll = rng.random()
        if roll < 0.15:  # found among fraudulent documents in a seizure
            carrier = self._new_person(rng)
            pr = _present(carrier, document)
            pr.nationality = document.country
            self._queue_seizure(category="FRAUDULENT_DOCUMENTS", documents=[self._document_json(pr)],
                                marks=[(item.item_id, "seized", "listed document among seized documents", via)])
            return
        carrier = self._new_person(rng, owner.culture if roll < 0.6 else None)
        if roll < 0.6:
            # impostor: a look-alike travels on the genuine document, so every printed field is the owner's
            pr = _present(owner, document)
            pr.bio_seed, pr.traveller_id, pr.phones = carrier.bio_seed, carrier.traveller_id, (
                [carrier.phone] if carrier.phone else [])
            variant, detail = "impostor", "look-alike carries the genuine document (biometrics differ from the owner)"
        else:
            # data-page substitution: the carrier's own details on the listed document number
            pr = _present(carrier, document)
            pr.nationality = document.country
            variant, detail = "altered", f"carrier {carrier.full_name_latin()} on the listed document number"
        self._queue_crossing_scene(people=[(pr, [(item.item_id, variant, detail, via)])])

    def _plant_vehicle(self, item: Planted) -> None:
        rng, vehicle = self._rng, item.vehicle
        variant = rng.choice(["exact", "exact", "plate_format", "ocr_misread"])
        plate, detail = vehicle.plate, "exact plate read"
        if variant == "plate_format":
            plate = _format_plate(vehicle.plate, vehicle.country)
            detail = f"plate read as {plate!r}"
        elif variant == "ocr_misread":
            positions = [i for i, ch in enumerate(plate) if ch in _OCR_SWAPS]
            if positions:
                i = rng.choice(positions)
                plate = plate[:i] + _OCR_SWAPS[plate[i]] + plate[i + 1:]
                detail = f"ANPR misread {vehicle.plate!r} as {plate!r}"
            else:
                variant = "exact"
        port = self._pick_port("LAND")
        marks = [(item.item_id, variant, detail, [item.entity_id])]
        if rng.random() < 0.5:
            conveyance = self._conveyance(port, "LAND", vehicle=vehicle, plate_text=plate)
            driver = self._traveller(port, "LAND")
            self._queue_crossing_scene(port, "LAND", [(_present(driver, self._document_for(driver, "LAND", port)), marks)],
                                       conveyance=conveyance)
        else:
            category = _weighted(rng, {"NARCOTICS": 70, "CURRENCY": 15, "FIREARMS": 10, "SMUGGLED_PERSONS": 5})
            self._queue_seizure(port=port, mode="LAND", category=category, vehicle=vehicle, plate_text=plate,
                                marks=marks)

    def _plant_vessel(self, item: Planted) -> None:
        rng, vessel = self._rng, item.vessel
        variant = rng.choice(["exact", "imo_prefix", "renamed", "mmsi_only"])
        imo_text, name, drop_imo, detail = None, None, False, "exact vessel identifiers"
        if variant == "imo_prefix":
            imo_text, detail = f"IMO {vessel.imo}", "IMO number written with prefix"
        elif variant == "renamed":
            name = f"{vessel.name.split()[0]} {rng.choice(VESSEL_WORDS[1].split())} II"
            detail = f"vessel renamed {name!r}, same IMO"
        elif variant == "mmsi_only":
            drop_imo, detail = True, "only the MMSI was recorded"
        port = self._pick_port("SEA")
        marks = [(item.item_id, variant, detail, [item.entity_id])]
        if rng.random() < 0.6:  # a crew member's crossing
            conveyance = self._conveyance(port, "SEA", vessel=vessel, imo_text=imo_text, vessel_name=name,
                                          drop_imo=drop_imo)
            crew = self._new_person(rng, rng.choice(["filipino", "filipino", "ukrainian", "russian", "spanish"]))
            self._queue_crossing_scene(port, "SEA", [(_present(crew, self._document_for(crew, "SEA", port)), marks)],
                                       conveyance=conveyance, extra_passengers=False)
        else:
            self._queue_seizure(port=port, mode="SEA", category=rng.choice(["NARCOTICS", "NARCOTICS", "PRECURSOR_CHEMICALS"]),
                                vessel=vessel, imo_text=imo_text, vessel_name=name, drop_imo=drop_imo, marks=marks)

    def _plant_phone(self, item: Planted) -> None:
        rng = self._rng
        variant = "company_phone" if item.kind == "organisation" else "exact"
        marks = [(item.item_id, variant, f"phone {item.phone}", [item.entity_id])]
        if rng.random() < 0.7:
            port = self._pick_port(rng.choice(["LAND", "LAND", "SEA", "AIR"]))
            self._queue_seizure(port=port, phones=[item.phone], marks=marks)
        else:  # declared by a traveller (booking or crossing-card data)
            port = self._pick_port()
            mode = self._pick_mode(port)
            person = self._traveller(port, mode)
            pr = _present(person, self._document_for(person, mode, port))
            pr.phones = [item.phone]
            self._queue_crossing_scene(port, mode, [(pr, marks)], extra_passengers=False)

    def _plant_namesake(self, item: Planted) -> None:
        person = item.person
        pr = _present(person, person.documents[0])
        detail = f"same name as {item.entity_id}, born {person.dob}, {person.nationality}"
        self._queue_crossing_scene(people=[(pr, [(item.item_id, "namesake", detail, [])])],
                                   extra_passengers=False)


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip: swap, drop, double or replace a letter (never the first one)."""
    positions = [i for i, ch in enumerate(word) if ch.isalpha() and i > 0]
    if not positions:
        return word + "e"
    i = rng.choice(positions)
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap" and i + 1 < len(word) and word[i + 1].isalpha() and word[i + 1] != word[i]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == "drop" and len(word) > 3:
        return word[:i] + word[i + 1:]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    replacement = rng.choice([c for c in "aeiourntsl" if c != word[i].lower()])
    return word[:i] + (replacement.upper() if word[i].isupper() else replacement) + word[i + 1:]


# ---------------------------------------------------------------------------- dataset

def write_dataset(count: int, output_dir: str | Path, seed: int = 0, *, start: datetime | None = None,
                  truth_rate: float = DEFAULT_TRUTH_RATE, show_progress: bool = True) -> dict[str, Any]:
    """Write ``count`` events and the planted watchlist and truth under ``output_dir``.

    Files: crossings.jsonl, seizures.jsonl, biometrics.jsonl (one gateway-ready event a line),
    watchlist.ftm.jsonl (FtM entities) and truth.json::

        {"seed", "start", "truth_rate", "event_counts": {kind: n},
         "items": [{"item_id", "kind", "expect", "entity_id", "entity_schema", "label",
                    "related_entity_ids", "event_ids",
                    "appearances": [{"event_id", "event_kind", "variant", "detail", "matched_via"}]}],
         "expected_alerts": [{"event_id", "event_kind", "entity_id", "item_id", "variant", "matched_via"}],
         "should_not_alert": [{"event_id", "event_kind", "entity_id", "item_id", "variant"}]}

    ``matched_via`` lists the watchlist entity ids the event should hit (the person and, when
    the listed document was shown, its Passport/Identification entity). Returns a summary.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulator(seed, start=start, truth_rate=truth_rate)
    files = {kind: (out / f"{kind}.jsonl").open("w", encoding="utf-8") for kind in KINDS}
    columns = (TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, disable=not show_progress) as progress:
            task = progress.add_task("events", total=count)
            stream = sim.events()
            for written in range(count):
                kind, event = next(stream)
                files[kind].write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
                if written % 500 == 0:
                    progress.update(task, completed=written)
            progress.update(task, completed=count)
    finally:
        for handle in files.values():
            handle.close()
    with (out / "watchlist.ftm.jsonl").open("w", encoding="utf-8") as handle:
        for entity in sim.watchlist_entities():
            handle.write(json.dumps(entity, ensure_ascii=False, sort_keys=True) + "\n")
    truth = sim.truth()
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"output_dir": str(out), "event_counts": truth["event_counts"],
            "watchlist_entities": len(sim.watchlist_entities()), "expected_alerts": len(truth["expected_alerts"]),
            "should_not_alert": len(truth["should_not_alert"])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a simulated borderhub dataset.")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", default="data/sim")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truth-rate", type=float, default=DEFAULT_TRUTH_RATE)
    args = parser.parse_args(argv)
    print(json.dumps(write_dataset(args.count, args.out, args.seed, truth_rate=args.truth_rate), indent=1))


if __name__ == "__main__":
    main()
