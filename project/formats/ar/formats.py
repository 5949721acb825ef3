# Arabic formats, read with FORMAT_MODULE_PATH before Django's django/conf/locale/ar/formats.py (which leaves
# DATETIME_FORMAT to the English "N j, Y, P", hence "يوليو 2, 2026, منتصف الليل"). The *_FORMAT strings use
# Django's date format syntax: https://docs.djangoproject.com/en/5.2/ref/templates/builtins/#date

# Day month year, as Django's Arabic DATE_FORMAT; the date-time adds a 24-hour clock, the usage of
# ministries' correspondence: "2 يوليو، 2026، 14:30".
DATE_FORMAT = "j F، Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F، Y، H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
# Django's Arabic short date: a right-to-left mark (U+200F) after the day and after the month keeps
# 02/07/2026 in day/month/year order inside right-to-left text.
SHORT_DATE_FORMAT = "d\u200f/m\u200f/Y"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y H:i"
# Saturday: the first day of the week in most member states' calendars (CLDR: Egypt, Jordan, Iraq, Syria,
# Libya, Algeria, Sudan, Kuwait, Qatar, Bahrain, Oman; Saudi Arabia starts on Sunday). Django's Arabic file
# leaves it to the global default, Sunday. The admin's date picker uses it.
FIRST_DAY_OF_WEEK = 6

# Python strftime syntax: https://docs.python.org/3/library/datetime.html#strftime-strptime-behavior
# ISO first: <input type="date"> and <input type="datetime-local"> send it whatever the language.
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-07-02'
    "%d/%m/%Y",  # '02/07/2026'
    "%d-%m-%Y",  # '02-07-2026'
    "%Y/%m/%d",  # '2026/07/02'
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",  # '2026-07-02 14:30:59'
    "%Y-%m-%d %H:%M",  # '2026-07-02 14:30'
    "%Y-%m-%dT%H:%M:%S",  # '2026-07-02T14:30:59'
    "%Y-%m-%dT%H:%M",  # '2026-07-02T14:30' (<input type="datetime-local">)
    "%d/%m/%Y %H:%M:%S",  # '02/07/2026 14:30:59'
    "%d/%m/%Y %H:%M",  # '02/07/2026 14:30'
]

# Western digits with a decimal point and a comma between thousands, as in the Gulf and the Mashreq (CLDR
# "ar" with Latin digits) and as <input type="number"> takes them. Django's Arabic file has the Maghreb's
# decimal comma.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
