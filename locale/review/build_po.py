"""Writes django.po for the review mechanism's Arabic catalogue (run: python locale/review/build_po.py).

Kept as a script because most entries are plurals whose six Arabic forms follow one pattern.
"""

from pathlib import Path

HEADER = '''msgid ""
msgstr ""
"Project-Id-Version: tracker-review\\n"
"Language: ar\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;\\n"

'''


def days(var):
    """The six Arabic forms of "N days" (0, 1, 2, 3-10, 11-99, 100+)."""
    return [f"%({var})d يوم", "يوم واحد", "يومين", f"%({var})d أيام", f"%({var})d يومًا", f"%({var})d يوم"]


def cycles(var):
    return [f"%({var})d دورة مغلقة", "دورة مغلقة واحدة", "دورتين مغلقتين", f"%({var})d دورات مغلقة",
            f"%({var})d دورة مغلقة", f"%({var})d دورة مغلقة"]


def changes(var):
    return [f"%({var})s تغيير", "تغيير واحد", "تغييران", f"%({var})s تغييرات", f"%({var})s تغييرًا",
            f"%({var})s تغيير"]


SINGULAR = {
    "Meeting": "الاجتماع",
    "Recommendation": "التوصية",
    "Recommendation text": "نص التوصية",
    "Member state": "الدولة العضو",
    "Status": "الحالة",
    "Progress (%)": "نسبة التقدم (%)",
    "Last submitted report": "آخر تقرير مقدَّم",
    "Stalled": "متعثرة",
    "Reasons": "الأسباب",
    "Yes": "نعم",
    "No": "لا",
    "Review": "المراجعة",
    "Exported on %(date)s": "صُدِّر بتاريخ %(date)s",
    "Most stalled first": "الأكثر تعثرًا أولًا",
    "Least completed first": "الأقل إنجازًا أولًا",
    "Oldest report first": "الأقدم تقريرًا أولًا",
    "Body": "الهيئة",
    "Review cycle": "دورة المراجعة",
    "Current cycle": "الدورة الحالية",
    "All meetings": "كل الاجتماعات",
    "All member states": "كل الدول الأعضاء",
    "Thematic area": "المجال المواضيعي",
    "All thematic areas": "كل المجالات المواضيعية",
    "All statuses": "كل الحالات",
    "All items": "كل البنود",
    "Stalled for any reason": "متعثرة لأي سبب",
    "Sort": "الترتيب",
    "Matrix": "المصفوفة",
    "Table": "الجدول",
    "Obstacle category": "فئة العقبة",
    "Obstacle found": "العقبة المحددة",
    "Solution agreed": "الحل المتفق عليه",
    "Who follows up": "الجهة المكلفة بالمتابعة",
    "Follow up by (date)": "موعد المتابعة",
    "Recording a solution clears the item's obstacle flag.": "تسجيل حلٍّ يرفع علامة العقبة عن البند.",
    "The review view is for the secretariat and reviewers.": "صفحة المراجعة مخصصة للأمانة العامة والمراجعين.",
    "Some filters were not understood and were ignored.": "تعذّر فهم بعض عوامل التصفية فتم تجاهلها.",
    "Only the secretariat moves review cycles.": "الأمانة العامة وحدها تنقل دورات المراجعة من مرحلة إلى أخرى.",
    "Choose a cycle and a valid state.": "اختر دورة وحالة صحيحة.",
    "%(cycle)s is now %(state)s.": "أصبحت %(cycle)s في حالة: %(state)s.",
    "Only the secretariat records review outcomes.": "الأمانة العامة وحدها تسجّل نتائج المراجعة.",
    "The review outcome was recorded.": "سُجِّلت نتيجة المراجعة.",
    "No submitted report for too long": "لم يُقدَّم تقرير منذ مدة طويلة",
    "Deadline passed without a report for this cycle": "انقضى الموعد النهائي دون تقرير لهذه الدورة",
    "No change over several closed cycles": "لا تغيير على مدى عدة دورات مغلقة",
    "Target date has passed": "انقضى التاريخ المستهدف",
    "Obstacle reported, no solution recorded": "أُبلغ عن عقبة ولم يُسجَّل حل",
    "Obstacle or support need reported; the review has recorded no solution":
        "أُبلغ عن عقبة أو عن دعم مطلوب، ولم تسجّل المراجعة أي حل",
    "Review outcome": "نتيجة المراجعة",
    "Back to the review": "العودة إلى المراجعة",
    "Why it is stalled": "أسباب التعثر",
    "This item is not stalled.": "هذا البند غير متعثر.",
    "Record what the review concluded": "تسجيل ما انتهت إليه المراجعة",
    "Record outcome": "تسجيل النتيجة",
    "Outcomes recorded": "النتائج المسجلة",
    "No outcome recorded yet.": "لم تُسجَّل أي نتيجة بعد.",
    "never": "لم يُقدَّم قط",
    "Outcomes": "النتائج",
    "No item matches these filters.": "لا يوجد بند يطابق عوامل التصفية هذه.",
    "was %(before)s": "كانت: %(before)s",
    "Cycle report": "تقرير الدورة",
    "Print": "طباعة",
    "report deadline": "الموعد النهائي للتقارير",
    "review meeting": "اجتماع المراجعة",
    "Overview": "نظرة عامة",
    "Items followed up": "البنود قيد المتابعة",
    "Implemented": "منفذة",
    "Reports submitted in this cycle": "التقارير المقدمة في هذه الدورة",
    "Stalled items": "البنود المتعثرة",
    "Completion per member state": "نسبة الإنجاز لكل دولة عضو",
    "Items": "البنود",
    "Stalled items and why": "البنود المتعثرة وأسباب تعثرها",
    "No stalled item.": "لا توجد بنود متعثرة.",
    "Outcomes recorded in this cycle": "النتائج المسجلة في هذه الدورة",
    "Item": "البند",
    "No outcome recorded in this cycle.": "لم تُسجَّل أي نتيجة في هذه الدورة.",
    "Situation on %(date)s": "الوضع في %(date)s",
    "The first %(limit)s are listed; narrow the filters to see the others.":
        "تُعرض أول %(limit)s بندًا فقط؛ ضيّق عوامل التصفية لرؤية البقية.",
    "No body has been set up yet.": "لم تُعدّ أي هيئة بعد.",
    "No review cycle has been planned for this body yet.": "لم تُخطَّط أي دورة مراجعة لهذه الهيئة بعد.",
    "Apply": "تطبيق",
    "Reset": "إعادة الضبط",
    "items followed up": "بندًا قيد المتابعة",
    "implemented": "منفذة",
    "stalled": "متعثرة",
    "Export CSV": "تصدير CSV",
    "Export XLSX": "تصدير XLSX",
    "Cycle report (Arabic)": "تقرير الدورة (بالعربية)",
    "Cycle report (English)": "تقرير الدورة (بالإنجليزية)",
    "Previous page": "الصفحة السابقة",
    "Next page": "الصفحة التالية",
    "Filters": "عوامل التصفية",
    "Summary": "الملخص",
    "Views and exports": "طرق العرض والتصدير",
    "Pages": "الصفحات",
    "changes are shown since %(cycle)s closed": "تُعرض التغييرات منذ إغلاق %(cycle)s",
    "Move the cycle to: %(state)s": "نقل الدورة إلى: %(state)s",
    "Page %(page)s": "الصفحة %(page)s",
    "Not started": "لم يبدأ التنفيذ",
    "In progress": "قيد التنفيذ",
    "Not applicable": "لا تنطبق",
    "Changed since the last closed cycle": "تغيّر منذ آخر دورة مغلقة",
    "Matrix of recommendations and member states": "مصفوفة التوصيات والدول الأعضاء",
    "Does not apply": "لا تنطبق على هذه الدولة",
    "Unknown cycle state: %(target)s.": "حالة دورة غير معروفة: %(target)s.",
    "From %(current)s it can only become: %(allowed)s.": "من حالة «%(current)s» لا يمكن الانتقال إلا إلى: %(allowed)s.",
    "A closed cycle stays closed.": "الدورة المغلقة تبقى مغلقة.",
    "A cycle that is %(current)s cannot become %(target)s.":
        "لا يمكن نقل دورة حالتها «%(current)s» إلى حالة «%(target)s».",
    "Another cycle of this body is already open: close it first.":
        "توجد دورة أخرى مفتوحة لهذه الهيئة: أغلقها أولًا.",
    # Model choices shown on the review pages (also in the core catalogue).
    "Planned": "مخطط لها",
    "Open": "مفتوحة",
    "Under review": "قيد المراجعة",
    "Closed": "مغلقة",
    "Legal or policy framework": "الإطار القانوني أو السياساتي",
    "Resources or funding": "الموارد أو التمويل",
    "Technical capacity": "القدرات الفنية",
    "Coordination between agencies": "التنسيق بين الجهات",
    "Data or information": "البيانات أو المعلومات",
    "Security situation": "الوضع الأمني",
    "Other": "أخرى",
}

PLURAL = {
    ("Never reported, followed up for %(days)d day (limit %(limit)d)",
     "Never reported, followed up for %(days)d days (limit %(limit)d)"):
        [f"لم يُقدَّم أي تقرير منذ بدء المتابعة قبل {d} (الحد %(limit)d)" for d in days("days")],
    ("No submitted report for %(days)d day (limit %(limit)d)",
     "No submitted report for %(days)d days (limit %(limit)d)"):
        [f"لم يُقدَّم أي تقرير منذ {d} (الحد %(limit)d)" for d in days("days")],
    ("No report for %(cycle)s, deadline %(deadline)s passed %(days)d day ago",
     "No report for %(cycle)s, deadline %(deadline)s passed %(days)d days ago"):
        [f"لا تقرير عن %(cycle)s، وقد انقضى الموعد النهائي %(deadline)s منذ {d}" for d in days("days")],
    ("Status and progress unchanged over %(count)d closed cycle (limit %(limit)d)",
     "Status and progress unchanged over %(count)d closed cycles (limit %(limit)d)"):
        [f"لم تتغير الحالة ولا نسبة التقدم على مدى {c} (الحد %(limit)d)" for c in cycles("count")],
    ("Target date %(date)s passed %(days)d day ago", "Target date %(date)s passed %(days)d days ago"):
        [f"انقضى التاريخ المستهدف %(date)s منذ {d}" for d in days("days")],
    ("%(counter)s change on this page since the last closed cycle",
     "%(counter)s changes on this page since the last closed cycle"):
        [f"{c} في هذه الصفحة منذ آخر دورة مغلقة" for c in changes("counter")],
}


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build():
    out = [HEADER]
    for msgid, msgstr in SINGULAR.items():
        flag = "#, python-format\n" if "%(" in msgid else ""
        out.append(f"{flag}msgid {quote(msgid)}\nmsgstr {quote(msgstr)}\n\n")
    for (singular, plural), forms in PLURAL.items():
        out.append(f"#, python-format\nmsgid {quote(singular)}\nmsgid_plural {quote(plural)}\n")
        out.extend(f"msgstr[{n}] {quote(form)}\n" for n, form in enumerate(forms))
        out.append("\n")
    path = Path(__file__).parent / "ar" / "LC_MESSAGES" / "django.po"
    path.write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    build()
