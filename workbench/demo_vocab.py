"""Vocabularies and weights of the demo data set.

Everything the generator draws from lives here, so a reader can see the shape
of the demo CRM (who, where, what is sold) without reading numpy code. The
generator indexes these tuples by integer codes; their order is part of the
data set, so reordering them changes every generated database.
"""

from __future__ import annotations

from typing import Final

MALE_FIRST: Final = (
    "Aleksandr", "Dmitry", "Maksim", "Sergey", "Andrey", "Aleksey", "Artyom",
    "Ilya", "Kirill", "Mikhail", "Nikita", "Matvey", "Roman", "Egor", "Ivan",
    "Vladimir", "Pavel", "Nikolay", "Oleg", "Denis", "Anton", "Yury", "Igor",
    "Konstantin", "Vadim", "Evgeny", "Timur", "Stanislav", "Viktor", "Grigory",
)
FEMALE_FIRST: Final = (
    "Anastasia", "Maria", "Anna", "Victoria", "Ekaterina", "Natalia", "Elena",
    "Olga", "Tatiana", "Irina", "Svetlana", "Yulia", "Daria", "Polina", "Alina",
    "Ksenia", "Sofia", "Veronika", "Valeria", "Marina", "Kristina",
    "Aleksandra", "Evgenia", "Galina", "Lyudmila", "Nadezhda", "Vera",
    "Elizaveta", "Diana", "Arina",
)
# Male forms; every one ends in -ov, -ev or -in, so the female form adds "a".
LAST: Final = (
    "Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov",
    "Mikhailov", "Novikov", "Fedorov", "Morozov", "Volkov", "Alekseev",
    "Lebedev", "Semenov", "Egorov", "Pavlov", "Kozlov", "Stepanov", "Nikolaev",
    "Orlov", "Andreev", "Makarov", "Nikitin", "Zakharov", "Zaitsev", "Solovyov",
    "Borisov", "Yakovlev", "Grigoriev", "Romanov", "Vorobyov", "Sergeev",
    "Kuzmin", "Frolov", "Aleksandrov", "Dmitriev", "Korolev", "Gusev",
    "Kiselev",
)
LAST_FEMALE: Final = tuple(name + "a" for name in LAST)

# Reserved example domains only, so an exported demo list can reach nobody.
EMAIL_DOMAINS: Final = (
    "example.com", "example.org", "example.net", "mail.example.com",
    "inbox.example.net", "corp.example.org",
)
EMAIL_DOMAIN_WEIGHTS: Final = (0.3, 0.2, 0.15, 0.15, 0.1, 0.1)

# Area codes: mobile (9xx) first, then city landlines.
PHONE_CODES: Final = (
    916, 903, 905, 909, 912, 915, 921, 926, 929, 937, 950, 960, 977, 985, 999,
    495, 499, 812, 383, 343, 843,
)
PHONE_FORMATS: Final = (
    "+7 (%03d) %03d-%02d-%02d",
    "8 %03d %03d %02d %02d",
    "%03d%03d%02d%02d",
)
PHONE_FORMAT_WEIGHTS: Final = (0.5, 0.3, 0.2)

# (city, region, weight); Moscow and Saint Petersburg are the largest.
CITIES: Final = (
    ("Moscow", "Moscow", 0.30),
    ("Saint Petersburg", "Saint Petersburg", 0.15),
    ("Novosibirsk", "Novosibirsk Oblast", 0.06),
    ("Yekaterinburg", "Sverdlovsk Oblast", 0.06),
    ("Kazan", "Republic of Tatarstan", 0.05),
    ("Nizhny Novgorod", "Nizhny Novgorod Oblast", 0.05),
    ("Chelyabinsk", "Chelyabinsk Oblast", 0.04),
    ("Samara", "Samara Oblast", 0.04),
    ("Omsk", "Omsk Oblast", 0.035),
    ("Rostov-on-Don", "Rostov Oblast", 0.04),
    ("Ufa", "Republic of Bashkortostan", 0.035),
    ("Krasnoyarsk", "Krasnoyarsk Krai", 0.035),
    ("Voronezh", "Voronezh Oblast", 0.035),
    ("Perm", "Perm Krai", 0.03),
    ("Volgograd", "Volgograd Oblast", 0.03),
)
CITY_NAMES: Final = tuple(c[0] for c in CITIES)
CITY_REGIONS: Final = tuple(c[1] for c in CITIES)
CITY_WEIGHTS: Final = tuple(c[2] for c in CITIES)

CONTACT_SOURCES: Final = (
    "Website", "Advertising", "Call", "E-mail", "Referral", "Exhibition", "Other",
)
CONTACT_SOURCE_WEIGHTS: Final = (0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.1)
CONTACT_TYPES: Final = ("Client", "Partner", "Supplier", "Other")
CONTACT_TYPE_WEIGHTS: Final = (0.75, 0.1, 0.07, 0.08)
TAGS: Final = ("newsletter", "b2b", "b2c", "webinar", "event-2026", "loyalty")
TAG_WEIGHTS: Final = (0.3, 0.15, 0.2, 0.1, 0.1, 0.15)
TAG_COUNT_WEIGHTS: Final = (0.35, 0.35, 0.2, 0.1)  # 0, 1, 2 or 3 tags

# (department, number of users); everyone but Marketing owns clients.
DEPARTMENTS: Final = (
    ("Corporate sales", 10),
    ("Retail sales", 10),
    ("Key accounts", 6),
    ("Customer success", 8),
    ("Marketing", 6),
)

INDUSTRIES: Final = (
    "IT", "Retail", "Manufacturing", "Construction", "Finance", "Logistics",
    "Healthcare", "Education",
)
INDUSTRY_WEIGHTS: Final = (0.2, 0.18, 0.14, 0.12, 0.1, 0.1, 0.08, 0.08)
# Upper bounds of the size bands, by number of employees.
SIZE_BANDS: Final = (
    (10, "1-10"), (50, "11-50"), (250, "51-250"), (1000, "251-1000"),
    (None, "1000+"),
)
COMPANY_FORMS: Final = ("LLC", "JSC", "PJSC")
COMPANY_ROOTS: Final = (
    "Nord", "Vega", "Alfa", "Sever", "Ural", "Volga", "Baltika", "Sibir",
    "Orion", "Titan", "Strela", "Zenit", "Avrora", "Granit", "Kedr", "Almaz",
    "Polyus", "Meridian", "Vostok", "Start", "Yug", "Atlant", "Gorizont",
    "Impuls", "Kvant", "Lotos", "Magistral", "Neva", "Okean", "Pulsar",
)
COMPANY_SUFFIXES: Final = (
    "Tech", "Stroy", "Trade", "Logistics", "Soft", "Prom", "Invest", "Med",
    "Service", "Group", "Energo", "Agro", "Consult", "Systems", "Market",
)

PIPELINES: Final = ("Sales", "Repeat sales")
# Open stages in funnel order; every pipeline ends in Won or Lost.
OPEN_STAGES: Final = (
    ("New", "Qualification", "Proposal", "Negotiation"),
    ("New", "Offer", "Negotiation"),
)
OPEN_STAGE_WEIGHTS: Final = ((0.3, 0.25, 0.25, 0.2), (0.4, 0.35, 0.25))
STAGES: Final = ("New", "Qualification", "Proposal", "Negotiation", "Offer",
                 "Won", "Lost")
DEAL_PRODUCTS: Final = (
    "Software license", "Implementation", "Support plan", "Training",
    "Hardware", "Consulting",
)
CURRENCIES: Final = ("RUB", "USD", "EUR")
CURRENCY_WEIGHTS: Final = (0.95, 0.03, 0.02)

# (name, category, median list price in RUB)
PRODUCTS: Final = (
    ("Wireless headphones", "Electronics", 6990),
    ("Smart watch", "Electronics", 14990),
    ("Power bank", "Electronics", 2490),
    ("Bluetooth speaker", "Electronics", 4990),
    ("USB-C charger", "Electronics", 1590),
    ("E-reader", "Electronics", 12990),
    ("Coffee maker", "Home", 8990),
    ("Bed linen set", "Home", 4490),
    ("Kitchen knife set", "Home", 3290),
    ("Table lamp", "Home", 2790),
    ("Bath towel", "Home", 990),
    ("Cast iron pan", "Home", 3990),
    ("Detective novel", "Books", 590),
    ("Cookbook", "Books", 1290),
    ("Business strategy guide", "Books", 990),
    ("Children's encyclopedia", "Books", 1890),
    ("Travel atlas", "Books", 1490),
    ("Yoga mat", "Sports", 1990),
    ("Dumbbell set", "Sports", 5490),
    ("Running shoes", "Sports", 7990),
    ("Water bottle", "Sports", 790),
    ("Fitness tracker", "Sports", 3990),
    ("Ski gloves", "Sports", 2290),
    ("Face cream", "Beauty", 1490),
    ("Shampoo", "Beauty", 490),
    ("Perfume", "Beauty", 5990),
    ("Hair dryer", "Beauty", 3490),
    ("Lipstick", "Beauty", 890),
    ("Building blocks", "Toys", 3990),
    ("Board game", "Toys", 2490),
    ("Plush bear", "Toys", 1290),
    ("Remote control car", "Toys", 4490),
    ("Puzzle 1000 pieces", "Toys", 890),
    ("Office chair", "Office", 12990),
    ("Notebook A5", "Office", 290),
    ("Gel pens, 10 pcs", "Office", 390),
    ("Desk organizer", "Office", 990),
    ("Laser printer", "Office", 17990),
    ("Paper A4, 500 sheets", "Office", 490),
    ("Monitor stand", "Office", 2490),
)
ORDER_STATUSES: Final = ("paid", "delivered", "cancelled", "returned")

SITE: Final = "https://shop.example.com"
PAGES: Final = ("/", "/pricing", "/catalog", "/blog", "/contacts", "/cart",
                "/checkout")
# Weights of the fixed pages, then of all product pages together.
PAGE_WEIGHTS: Final = (0.25, 0.1, 0.18, 0.1, 0.05, 0.07, 0.05)
PRODUCT_PAGE_WEIGHT: Final = 0.2
VISIT_SOURCES: Final = ("organic", "direct", "ads", "email", "social")
VISIT_SOURCE_WEIGHTS: Final = (0.35, 0.25, 0.2, 0.1, 0.1)
# utm_source value by visit source; organic and direct visits carry none.
UTM_BY_SOURCE: Final = ("", "", "yandex", "newsletter", "vk")

OPT_OUT_REASONS: Final = (
    "Unsubscribed via link", "Too many messages", "Not relevant",
    "Asked by phone", "Spam complaint",
)

LEAD_STATUSES: Final = ("NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK")
LEAD_SEMANTICS: Final = ("open", "open", "open", "converted", "junk")

# Field changes recorded for contacts; a change's values are text.
CONTACT_CHANGED_FIELDS: Final = ("city", "type", "phone", "tags")
