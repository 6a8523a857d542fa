"""Synthetic people, entries and events for the evaluation set and the benchmarks.

Deterministic for a seed. Names come from small pools per naming culture, in their own script
where they have one, with the Latin spellings people actually carry: several transliteration
systems for Cyrillic (ICAO 9303 as in passports, the popular BGN-like one, German and French
habits), spelling variants for Arabic, Korean and Greek names, pinyin for Chinese, accents folded
or not for Latin-script names. The matcher is never asked how to spell a name here: Latin forms
come from these tables, not from the matcher's own transliteration (ICAO 9303 excepted, since
that is what passports print).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from .names import _ICAO_CYRILLIC

# ---------------------------------------------------------------------------- pools

RU_MALE = ("Александр Алексей Андрей Антон Артём Борис Вадим Валентин Василий Виктор Владимир Владислав "
           "Вячеслав Геннадий Георгий Григорий Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин "
           "Леонид Максим Михаил Никита Николай Олег Павел Пётр Роман Руслан Сергей Станислав Степан Тимур "
           "Фёдор Юрий Ярослав").split()
RU_FEMALE = ("Анастасия Анна Валентина Вера Виктория Галина Дарья Евгения Екатерина Елена Елизавета Ирина "
             "Ксения Людмила Марина Мария Надежда Наталья Нина Ольга Полина Светлана Софья Татьяна Юлия Яна").split()
RU_FAMILY = ("Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков "
             "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин "
             "Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
             "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв "
             "Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов "
             "Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов "
             "Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов "
             "Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев "
             "Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников "
             "Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин "
             "Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков "
             "Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин Белоусов Нестеров "
             "Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронов Аксёнов Мальцев Логинов "
             "Горшков Савин Краснов Майоров Демидов Елисеев Рыбаков Сафонов Плотников Хохлов Жданов").split()
UA_FAMILY = ("Шевченко Коваленко Бондаренко Ткаченко Кравченко Олійник Мельник Бойко Коваль Поліщук Лисенко "
             "Мороз Марченко Савченко Руденко Петренко Левченко Гаврилюк Литвиненко Гончаренко").split()
UA_MALE = "Олександр Андрій Віталій Григорій Дмитро Євген Іван Микола Олег Петро Сергій Тарас Юрій Богдан".split()
UA_FEMALE = "Олена Ірина Наталія Оксана Тетяна Юлія Світлана Галина Людмила Ганна".split()

# Arabic names with the Latin spellings in use (first = most common).
AR_MALE = [
    ("محمد", "Mohammed|Muhammad|Mohamed|Mohammad|Mohamad|Muhammed"), ("أحمد", "Ahmed|Ahmad"), ("علي", "Ali|Aly"),
    ("حسن", "Hassan|Hasan"), ("حسين", "Hussein|Hussain|Husain|Husayn"), ("عمر", "Omar|Umar"),
    ("خالد", "Khalid|Khaled"), ("يوسف", "Yousef|Yusuf|Youssef|Yousif"), ("إبراهيم", "Ibrahim|Ebrahim"),
    ("عبد الله", "Abdullah|Abdallah|Abdulla"), ("عبد الرحمن", "Abdulrahman|Abdelrahman|Abdul-Rahman"),
    ("محمود", "Mahmoud|Mahmood|Mahmud"), ("مصطفى", "Mustafa|Mostafa"), ("سعيد", "Said|Saeed|Saied"),
    ("طارق", "Tariq|Tarek|Tareq"), ("ناصر", "Nasser|Nasir|Naser"), ("جمال", "Jamal|Gamal"),
    ("قاسم", "Qasim|Kassem|Qassem"), ("صالح", "Saleh|Salih"), ("سليمان", "Suleiman|Sulaiman|Soliman"),
    ("فيصل", "Faisal|Faysal"), ("كريم", "Karim|Kareem"), ("ماجد", "Majid|Maged|Majed"), ("وليد", "Walid|Waleed"),
    ("ياسر", "Yasser|Yasir"), ("زياد", "Ziad|Ziyad"), ("هشام", "Hisham|Hesham"), ("رامي", "Rami|Ramy"),
    ("سامي", "Sami|Samy"), ("عادل", "Adel|Adil"), ("منصور", "Mansour|Mansur"), ("عثمان", "Othman|Osman|Uthman"),
]
AR_FEMALE = [
    ("فاطمة", "Fatima|Fatma|Fatimah"), ("عائشة", "Aisha|Aicha|Ayesha"), ("مريم", "Maryam|Mariam"),
    ("زينب", "Zainab|Zaynab"), ("ليلى", "Layla|Leila|Laila"), ("نور", "Nour|Noor"), ("سارة", "Sara|Sarah"),
    ("هدى", "Huda|Houda"), ("أمل", "Amal"), ("رانيا", "Rania|Ranya"), ("سلمى", "Salma"),
    ("ياسمين", "Yasmin|Yasmine"), ("خديجة", "Khadija|Khadidja"), ("دينا", "Dina"), ("منى", "Mona|Muna"),
]
AR_FAMILY = [
    ("الحسن", "Al-Hassan|Al Hassan|Alhassan"), ("العلي", "Al-Ali|Al Ali"), ("الأحمد", "Al-Ahmad|Al Ahmad"),
    ("الخطيب", "Al-Khatib|El Khatib|Alkhatib"), ("الشامي", "Al-Shami|Alshami"), ("المصري", "Al-Masri|El Masry"),
    ("الحلبي", "Al-Halabi|Halabi"), ("النجار", "Al-Najjar|Najjar"), ("حداد", "Haddad"), ("خوري", "Khoury|Khouri"),
    ("عباس", "Abbas"), ("منصور", "Mansour|Mansur"), ("سلامة", "Salama|Salameh"), ("عيسى", "Issa|Eissa"),
    ("حمدان", "Hamdan"), ("يونس", "Younes|Yunus|Younis"), ("داود", "Daoud|Dawood|Dawud"), ("بكر", "Bakr|Bakir"),
    ("التميمي", "Al-Tamimi|Altamimi"), ("العتيبي", "Al-Otaibi|Alotaibi"), ("الدوسري", "Al-Dosari|Aldosari"),
    ("القحطاني", "Al-Qahtani|Al-Kahtani"), ("الغامدي", "Al-Ghamdi|Alghamdi"), ("الشهري", "Al-Shehri|Alshehri"),
    ("الزهراني", "Al-Zahrani|Alzahrani"), ("الجبوري", "Al-Jubouri|Al-Jabouri"), ("الدليمي", "Al-Dulaimi|Al-Dulaymi"),
    ("الكبيسي", "Al-Kubaisi|Alkubaisi"), ("الحكيم", "Al-Hakim|El Hakim"), ("البغدادي", "Al-Baghdadi|Albaghdadi"),
    ("الرفاعي", "Al-Rifai|Al-Refaie"), ("السعدي", "Al-Saadi|Alsaadi"), ("الحربي", "Al-Harbi|Alharbi"),
    ("المطيري", "Al-Mutairi|Almutairi"), ("العنزي", "Al-Anazi|Al-Enezi"), ("شريف", "Sharif|Sherif"),
    ("إسماعيل", "Ismail|Ismael"), ("موسى", "Musa|Moussa"), ("جابر", "Jaber|Jabir"), ("رشيد", "Rashid|Rachid"),
]

CN_FAMILY = [(h, p) for h, p in (x.split(":") for x in (
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun 马:ma 朱:zhu 胡:hu "
    "郭:guo 何:he 林:lin 罗:luo 高:gao 梁:liang 郑:zheng 谢:xie 宋:song 唐:tang 韩:han 冯:feng 邓:deng 曹:cao "
    "彭:peng 曾:zeng 肖:xiao 田:tian 董:dong 潘:pan 袁:yuan 蔡:cai 蒋:jiang 杜:du 叶:ye 程:cheng 魏:wei 苏:su "
    "丁:ding 任:ren 姚:yao 沈:shen 钟:zhong 崔:cui 谭:tan 范:fan 廖:liao 石:shi 金:jin 贾:jia 夏:xia 方:fang "
    "邹:zou 熊:xiong 白:bai 孟:meng 秦:qin 邱:qiu 侯:hou 尹:yin 薛:xue 段:duan 雷:lei 龙:long 史:shi 陶:tao "
    "毛:mao 郝:hao 顾:gu 龚:gong 邵:shao 钱:qian 戴:dai 严:yan 孔:kong 向:xiang 常:chang 欧阳:ouyang 司马:sima"
).split())]
CN_GIVEN = [(h, p) for h, p in (x.split(":") for x in (
    "伟:wei 芳:fang 娜:na 秀:xiu 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan 杰:jie "
    "娟:juan 涛:tao 明:ming 超:chao 霞:xia 平:ping 刚:gang 桂:gui 英:ying 华:hua 建:jian 文:wen 国:guo 志:zhi "
    "红:hong 辉:hui 鹏:peng 宇:yu 浩:hao 晨:chen 欣:xin 怡:yi 佳:jia 俊:jun 博:bo 凯:kai 婷:ting 雪:xue 琳:lin "
    "斌:bin 峰:feng 波:bo 海:hai 亮:liang 飞:fei 春:chun 梅:mei 兰:lan 玉:yu 成:cheng 东:dong 晓:xiao "
    "天:tian 子:zi 思:si 嘉:jia 雨:yu 新:xin 安:an 德:de 永:yong 近:jin 泽:ze"
).split())]

# Korean: family names with their passport spellings; given-name syllables with theirs.
KR_FAMILY = [
    ("김", "Kim|Gim"), ("이", "Lee|Yi|Rhee"), ("박", "Park|Pak|Bak"), ("최", "Choi|Choe"), ("정", "Jung|Jeong|Chung"),
    ("강", "Kang|Gang"), ("조", "Cho|Jo"), ("윤", "Yoon|Yun"), ("장", "Jang|Chang"), ("임", "Lim|Im"), ("한", "Han"),
    ("오", "Oh|O"), ("서", "Seo|Suh"), ("신", "Shin|Sin"), ("권", "Kwon|Gwon"), ("황", "Hwang"), ("안", "Ahn|An"),
    ("송", "Song"), ("류", "Ryu|Yoo"), ("홍", "Hong"),
]
KR_SYLLABLES = [
    ("민", "min"), ("준", "jun|joon"), ("서", "seo|suh"), ("지", "ji|jee"), ("현", "hyun|hyeon"), ("우", "woo|u"),
    ("영", "young|yeong"), ("수", "su|soo"), ("진", "jin"), ("성", "sung|seong"), ("호", "ho"), ("은", "eun|un"),
    ("혜", "hye"), ("경", "kyung|gyeong"), ("정", "jung|jeong"), ("동", "dong"), ("재", "jae"), ("상", "sang"),
    ("태", "tae"), ("희", "hee|hui"), ("미", "mi"), ("연", "yeon|yun"), ("하", "ha"), ("윤", "yoon|yun"),
    ("석", "seok|suk"), ("철", "chul|cheol"), ("훈", "hoon|hun"), ("용", "yong"), ("혁", "hyuk|hyeok"), ("규", "kyu|gyu"),
]

KR_SYLLABLES_EXTRA = [  # for diverse (benchmark) people only: the evaluation set keeps the pool above
    ("가", "ga|ka"), ("나", "na"), ("다", "da"), ("라", "ra|la"), ("보", "bo|po"), ("소", "so"), ("아", "a"),
    ("주", "ju|joo"), ("차", "cha"), ("채", "chae"), ("해", "hae"), ("환", "hwan"), ("효", "hyo"), ("기", "ki|gi"),
    ("선", "sun|seon"), ("명", "myung|myeong"), ("종", "jong"), ("창", "chang"), ("광", "kwang|gwang"), ("원", "won"),
]
GR_MALE = [
    ("Γεώργιος", "Georgios|Yeoryios"), ("Ιωάννης", "Ioannis|Yiannis"), ("Δημήτριος", "Dimitrios"),
    ("Κωνσταντίνος", "Konstantinos|Constantinos"), ("Νικόλαος", "Nikolaos"), ("Χρήστος", "Christos|Hristos"),
    ("Παναγιώτης", "Panagiotis|Panayiotis"), ("Βασίλειος", "Vasileios|Vasilios"), ("Αθανάσιος", "Athanasios"),
    ("Ευάγγελος", "Evangelos|Evaggelos"), ("Μιχαήλ", "Michail|Mikhail"), ("Αλέξανδρος", "Alexandros|Aleksandros"),
    ("Θεόδωρος", "Theodoros"), ("Σπυρίδων", "Spyridon|Spiridon"), ("Αντώνιος", "Antonios"),
]
GR_FEMALE = [
    ("Μαρία", "Maria"), ("Ελένη", "Eleni"), ("Αικατερίνη", "Aikaterini|Ekaterini"), ("Βασιλική", "Vasiliki"),
    ("Σοφία", "Sofia|Sophia"), ("Αναστασία", "Anastasia"), ("Δήμητρα", "Dimitra"), ("Γεωργία", "Georgia"),
    ("Ευαγγελία", "Evangelia|Evaggelia"), ("Χριστίνα", "Christina|Hristina"),
]
GR_FAMILY = [  # genitive forms, used for women and men alike
    ("Παπαγεωργίου", "Papageorgiou"), ("Οικονόμου", "Oikonomou|Economou"), ("Γεωργίου", "Georgiou"),
    ("Νικολάου", "Nikolaou"), ("Βασιλείου", "Vasileiou|Vasiliou"), ("Δημητρίου", "Dimitriou"),
    ("Ιωάννου", "Ioannou"), ("Κωνσταντίνου", "Konstantinou|Constantinou"), ("Αντωνίου", "Antoniou"),
    ("Αλεξίου", "Alexiou|Aleksiou"), ("Χριστοδούλου", "Christodoulou|Hristodoulou"), ("Παύλου", "Pavlou"),
    ("Μιχαηλίδου", "Michailidou"), ("Θεοδώρου", "Theodorou"), ("Σταύρου", "Stavrou"), ("Πέτρου", "Petrou"),
]

ES_MALE = ("José Juan Luis Carlos Jorge Miguel Francisco Antonio Manuel Pedro Alejandro Fernando Rafael Sergio "
           "Andrés Diego Javier Raúl Ramón Joaquín João Paulo Thiago Gonzalo Ricardo Héctor").split()
ES_FEMALE = ("María Ana Carmen Laura Lucía Isabel Rosa Elena Sofía Valentina Camila Gabriela Daniela Mariana "
             "Fernanda Luísa Beatriz Inês Pilar Dolores").split()
ES_FAMILY = ("García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández "
             "Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez "
             "Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias "
             "Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego Vidal "
             "León Márquez Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco Caballero Reyes Nieto Aguilar "
             "Pascual Santana Herrero Lorenzo Montero Hidalgo Giménez Ibáñez Ferrer Durán Silva Souza Oliveira "
             "Pereira Costa Carvalho Almeida Ferreira Ribeiro Gonçalves Rocha Mendes Barbosa Cardoso Teixeira").split()

DE_MALE = "Jürgen Günter Björn Jörg Sören Uwe Klaus Stefan Thomas Michael Andreas Markus Tobias Florian Lukas Felix".split()
DE_FEMALE = "Anna Lena Sabine Käthe Brigitte Ute Birgit Katrin Julia Hannah Jürgine Mareike".split()
DE_FAMILY = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter "
             "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Werner Krause "
             "Lehmann Köhler Herrmann König Walter Huber Kaiser Fuchs Peters Scholz Möller Weiß Jung Hahn "
             "Schubert Vogel Friedrich Keller Günther Berger Winkler Roth Lorenz Baumann Franke Albrecht Böhm "
             "Kraus Krämer Vogt Jäger Sommer Groß Seidel Brandt Haas Dörr Löffler").split()
TR_MALE = "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer Ramazan Halil Süleyman Kemal".split()
TR_FEMALE = "Fatma Ayşe Emine Hatice Zeynep Elif Meryem Şerife Zehra Sultan Merve Özlem Büşra".split()
TR_FAMILY = ("Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin "
             "Kara Koç Kurt Özkan Şimşek Polat Özcan Korkmaz Çakır Erdoğan Yavuz Acar Aktaş Güler Yalçın Güneş "
             "Bozkurt Bulut Keskin Ünal Turan Özer").split()
PL_MALE = "Łukasz Paweł Michał Krzysztof Tomasz Piotr Grzegorz Wojciech Mateusz Jakub Dawid Kamil".split()
PL_FEMALE = "Małgorzata Katarzyna Agnieszka Joanna Żaneta Magdalena Anna Ewa".split()
PL_FAMILY = ("Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak "
             "Dąbrowski Kozłowski Jankowski Mazur Wojciechowski Kwiatkowski Krawczyk Kaczmarek Piotrowski "
             "Grabowski Zając Pawłowski Michalski Król Wieczorek Jabłoński Wróbel Majewski Olszewski Stępień "
             "Malinowski Jaworski Adamczyk Dudek Nowicki Pawlak Górski Witkowski Walczak").split()
VN_FAMILY = "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý".split()
VN_MIDDLE_MALE = "Văn Đức Minh Hữu Quốc Thanh".split()
VN_MIDDLE_FEMALE = "Thị Ngọc Thanh Minh".split()
VN_GIVEN = ("Anh Hùng Dũng Hải Hương Lan Linh Long Nam Phương Quang Sơn Thảo Thành Trang Tuấn Việt Hoa Hà Khánh "
            "Tâm Trung Huy Bình Cường").split()
EN_MALE = ("Jean Pierre Michel Philippe Alain Nicolas François Olivier Éric Stéphane John James Robert Michael "
           "William David Richard Joseph Thomas Charles Christopher Daniel Matthew Patrick Sean").split()
EN_FEMALE = ("Marie Nathalie Isabelle Sylvie Catherine Françoise Hélène Mary Patricia Jennifer Linda Elizabeth "
             "Barbara Susan Jessica Sarah Karen Siobhan").split()
EN_FAMILY = ("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Michel "
             "David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre Mercier Dupont Lambert Bonnet "
             "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson White Harris "
             "Thompson Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson "
             "Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart O'Brien "
             "O'Connor McDonald MacLeod Murphy Kelly Byrne").split()

NATIONALITIES = {
    "ru": ["RU", "RU", "RU", "BY", "KZ"], "ua": ["UA"], "ar": ["SA", "EG", "IQ", "SY", "JO", "LB", "YE", "MA", "DZ", "TN", "AE"],
    "cn": ["CN", "CN", "CN", "SG"], "kr": ["KR"], "gr": ["GR", "CY"],
    "es": ["ES", "MX", "CO", "AR", "PE", "VE", "CL", "PT", "BR"], "de": ["DE", "AT", "CH"], "tr": ["TR"],
    "pl": ["PL"], "vn": ["VN"], "en": ["FR", "GB", "US", "CA", "IE", "AU", "BE"],
}
# Share of each culture among generated people (watchlists are not a census).
CULTURE_WEIGHTS = {"ru": 14, "ua": 5, "ar": 16, "cn": 9, "kr": 4, "gr": 4, "es": 14, "de": 6, "tr": 7, "pl": 4,
                   "vn": 4, "en": 13}
ALL_COUNTRIES = sorted({c for cs in NATIONALITIES.values() for c in cs})


# Made-up surnames for benchmarks at a million entries, where the pools above would make every
# traveller a namesake of dozens of listed people: roots and endings of each culture combined.
_RU_PREFIXES = ("", "", "", "Бело", "Ново", "Старо", "Черно", "Красно", "Добро", "Велико")
_RU_ENDINGS = ("ов", "ев", "ин", "ский", "цев", "енко", "ук", "ович", "аев", "ихин")
_AR_LETTERS = {"ب": "b", "ت": "t", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ر": "r", "ز": "z", "س": "s",
               "ش": "sh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "ط": "t",
               "ص": "s", "غ": "gh"}
_GR_ENDINGS = (("όπουλος", "opoulos"), ("ίδης", "idis"), ("άκης", "akis"), ("άτος", "atos"), ("ίου", "iou"))
_LATIN_ROOTS = {
    "de": ("Hof Berg Stein Feld Wald Bach Brunn Lind Horn Kirch Sommer Winter Eich Rosen Adler Falk Lang Kurz "
           "Hart Wei Roth Schwarz Gold Silber Eisen Holz Mühl Brand Ober Unter").split(),
    "en": ("Ash Black Brad Brook Cart Chad Clay Crom Dun Elling Fair Gar Hal Harring Kings Lang Mar Nor Pem "
           "Red Ross Sher Stan Thorn Wal Wes Whit Wood Win Al").split(),
    "pl": "Kowal Now Wiśn Zieliń Wojc Krawc Kaczm Sikor Bar Mazur Gór Las Dąb Brzez Kozł Wolsk Ostr Pias Jast Sob".split(),
    "tr": "Yıl Kay Dem Şah Çel Öz Ar Doğ Kıl Çet Ak Kar Gül Er Bay Tan Uç Ay Koca Sarı".split(),
    "es": "Alba Bel Cal Del Esc Fuen Gal Lar Mon Nav Oli Pal Quin Riv Sal Tor Val Vill Zam Bar".split(),
}
_LATIN_ENDINGS = {
    "de": ("mann", "er", "ner", "berger", "hofer", "bauer", "feld", "meier", "huber", "stein"),
    "en": ("ford", "ley", "ton", "wood", "well", "son", "er", "by", "ham", "worth"),
    "pl": ("ski", "ak", "ik", "czyk", "ewicz", "ecki", "owski", "ny", "iak", "ała"),
    "tr": ("maz", "a", "ır", "in", "ık", "türk", "demir", "can", "kaya", "oğlu"),
    "es": ("ez", "ada", "ero", "ales", "illo", "ino", "era", "ón", "ejo", "ado"),
}


def _diverse_family(rng: random.Random, culture: str, sex: str) -> tuple[str, list[str]] | None:
    """A made-up family name of the culture (native script, Latin spellings), None when the
    culture keeps its pool."""
    if culture in ("ru", "ua"):
        root = rng.choice(RU_FAMILY)
        for ending in ("ов", "ев", "ёв", "ин"):
            if root.endswith(ending):
                root = root[: -len(ending)]
                break
        name = rng.choice(_RU_PREFIXES) + root.lower() + rng.choice(_RU_ENDINGS)
        return _gendered_ru(name[0].upper() + name[1:], sex), []
    if culture == "ar":
        letters = [rng.choice(list(_AR_LETTERS)) for _ in range(3)]
        native = "ال" + letters[0] + "ا" + letters[1] + letters[2] + "ي"
        latin = _AR_LETTERS[letters[0]] + "a" + _AR_LETTERS[letters[1]] + _AR_LETTERS[letters[2]] + "i"
        return native, [f"Al-{latin.capitalize()}", f"Al{latin}", f"El-{latin.capitalize()}"]
    if culture in _LATIN_ROOTS:
        name = rng.choice(_LATIN_ROOTS[culture]) + rng.choice(_LATIN_ENDINGS[culture])
        return _gendered_pl(name, sex) if culture == "pl" else name, []
    if culture == "gr":
        given = rng.choice(GR_MALE)
        stem = given[0][:-2] if given[0].endswith(("ος", "ης")) else given[0]
        ending, latin_ending = rng.choice(_GR_ENDINGS)
        latin_stem = given[1].split("|")[0]
        latin_stem = latin_stem[:-2] if latin_stem.endswith(("os", "is")) else latin_stem
        return stem + ending, [latin_stem + latin_ending]
    return None


# ---------------------------------------------------------------------------- people

@dataclass
class Person:
    """A synthetic person: name parts in their own script (Latin spellings alongside where the
    script has several), birth date, nationality, sex."""

    culture: str
    sex: str
    given: list[str]  # native script
    family: list[str]
    middle: list[str] = field(default_factory=list)  # patronymic, Vietnamese middle name, father's name
    latin_given: list[list[str]] = field(default_factory=list)  # per given token: accepted Latin spellings
    latin_family: list[list[str]] = field(default_factory=list)
    latin_middle: list[list[str]] = field(default_factory=list)
    birth: date = date(1980, 1, 1)
    nationality: str = ""

    def native(self) -> str:
        """The name as printed in its own script and order."""
        if self.culture in ("cn", "kr"):
            return "".join(self.family) + "".join(self.given)
        if self.culture == "vn":
            return " ".join([*self.family, *self.middle, *self.given])
        if self.culture in ("ru", "ua"):
            return " ".join([*self.given, *self.middle, *self.family])
        return " ".join([*self.given, *self.middle, *self.family])


def _birth(rng: random.Random) -> date:
    return date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))


def _gendered_ru(family: str, sex: str) -> str:
    if sex == "F":
        if family.endswith(("ов", "ев", "ёв", "ин", "ын")):
            return family + "а"
        if family.endswith("ский"):
            return family[:-2] + "ая"
    return family


def _gendered_pl(family: str, sex: str) -> str:
    return family[:-1] + "a" if sex == "F" and family.endswith("ki") else family


def _patronymic(father: str, sex: str) -> str:
    stem = father[:-1] if father.endswith(("й", "ь")) else father
    if father.endswith("й"):
        return stem + ("евич" if sex == "M" else "евна")
    if father.endswith("а"):
        return father[:-1] + ("ич" if sex == "M" else "ична")
    return stem + ("ович" if sex == "M" else "овна")


def make_person(rng: random.Random, culture: str | None = None, sex: str | None = None,
                diverse: bool = False) -> Person:
    """A person of a culture (drawn by CULTURE_WEIGHTS when None). diverse: most family names
    made up from roots and endings, for realistic namesake rates at a million entries."""
    culture = culture or rng.choices(list(CULTURE_WEIGHTS), weights=list(CULTURE_WEIGHTS.values()))[0]
    sex = sex or rng.choice("MF")
    p = Person(culture=culture, sex=sex, given=[], family=[], birth=_birth(rng),
               nationality=rng.choice(NATIONALITIES[culture]))
    male = sex == "M"
    if culture == "ru":
        p.given = [rng.choice(RU_MALE if male else RU_FEMALE)]
        if rng.random() < 0.7:
            p.middle = [_patronymic(rng.choice(RU_MALE), sex)]
        p.family = [_gendered_ru(rng.choice(RU_FAMILY), sex)]
    elif culture == "ua":
        p.given = [rng.choice(UA_MALE if male else UA_FEMALE)]
        if rng.random() < 0.5:
            p.middle = [_patronymic(rng.choice(RU_MALE), sex)]
        p.family = [rng.choice(UA_FAMILY)]
    elif culture == "ar":
        given = rng.choice(AR_MALE if male else AR_FEMALE)
        p.given, p.latin_given = [given[0]], [given[1].split("|")]
        if rng.random() < 0.4:
            father = rng.choice(AR_MALE)
            p.middle, p.latin_middle = [father[0]], [father[1].split("|")]
        family = rng.choice(AR_FAMILY)
        p.family, p.latin_family = [family[0]], [family[1].split("|")]
    elif culture == "cn":
        family = rng.choice(CN_FAMILY)
        chars = [rng.choice(CN_GIVEN) for _ in range(rng.choice((1, 2, 2)))]
        p.family, p.latin_family = [family[0]], [[family[1].capitalize()]]
        p.given = ["".join(h for h, _ in chars)]
        p.latin_given = [["".join(py for _, py in chars).capitalize()]]
    elif culture == "kr":
        family = rng.choice(KR_FAMILY)
        syllables = [rng.choice(KR_SYLLABLES + KR_SYLLABLES_EXTRA if diverse else KR_SYLLABLES) for _ in range(2)]
        p.family, p.latin_family = [family[0]], [family[1].split("|")]
        p.given = ["".join(h for h, _ in syllables)]
        first, second = syllables[0][1].split("|"), syllables[1][1].split("|")
        p.latin_given = [[f"{a}{b}".capitalize() for a in first for b in second]
                         + [f"{first[0]}-{second[0]}".capitalize()]]
    elif culture == "gr":
        given = rng.choice(GR_MALE if male else GR_FEMALE)
        family = rng.choice(GR_FAMILY)
        p.given, p.latin_given = [given[0]], [given[1].split("|")]
        p.family, p.latin_family = [family[0]], [family[1].split("|")]
    elif culture == "es":
        p.given = [rng.choice(ES_MALE if male else ES_FEMALE)]
        if rng.random() < 0.25:
            p.given.append(rng.choice(ES_MALE if male else ES_FEMALE))
        p.family = [rng.choice(ES_FAMILY), rng.choice(ES_FAMILY)]
    elif culture == "vn":
        p.family = [rng.choice(VN_FAMILY)]
        p.middle = [rng.choice(VN_MIDDLE_MALE if male else VN_MIDDLE_FEMALE)]
        p.given = [rng.choice(VN_GIVEN)]
        if diverse:  # two-syllable given names ("Minh Khai")
            p.given.insert(0, rng.choice(VN_GIVEN))
    else:
        pools = {"de": (DE_MALE, DE_FEMALE, DE_FAMILY), "tr": (TR_MALE, TR_FEMALE, TR_FAMILY),
                 "pl": (PL_MALE, PL_FEMALE, PL_FAMILY), "en": (EN_MALE, EN_FEMALE, EN_FAMILY)}[culture]
        p.given = [rng.choice(pools[0] if male else pools[1])]
        if culture in ("de", "en") and rng.random() < 0.2:
            p.middle = [rng.choice(pools[0] if male else pools[1])]
        family = rng.choice(pools[2])
        p.family = [_gendered_pl(family, sex) if culture == "pl" else family]
    if diverse and rng.random() < 0.9:
        made_up = _diverse_family(rng, culture, sex)
        if made_up is not None:
            p.family, p.latin_family = [made_up[0]], ([made_up[1]] if made_up[1] else [])
            if culture == "es":
                p.family.append(rng.choice(ES_FAMILY))
                p.latin_family = []
    return p


# ---------------------------------------------------------------------------- Latin spellings

_POPULAR_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}
_GERMAN_CYRILLIC = {
    **_POPULAR_CYRILLIC, "ж": "sch", "з": "s", "в": "w", "й": "j", "х": "ch", "ц": "z", "ч": "tsch", "ш": "sch",
    "щ": "schtsch", "ю": "ju", "я": "ja", "ё": "jo", "е": "e", "с": "s",
}
_FRENCH_CYRILLIC = {
    **_POPULAR_CYRILLIC, "у": "ou", "ж": "j", "х": "kh", "ч": "tch", "ш": "ch", "щ": "chtch", "й": "i",
    "ю": "iou", "я": "ia", "ё": "io",
}
CYRILLIC_SYSTEMS = {"icao": _ICAO_CYRILLIC, "popular": _POPULAR_CYRILLIC, "german": _GERMAN_CYRILLIC,
                    "french": _FRENCH_CYRILLIC}
# Ukrainian letters ICAO handles specially (Г as H); the table above has the Russian values.
_ICAO_UKRAINIAN = {**_ICAO_CYRILLIC, "г": "h", "и": "y"}


def cyrillic_to_latin(text: str, system: str, ukrainian: bool = False) -> str:
    table = _ICAO_UKRAINIAN if ukrainian and system == "icao" else CYRILLIC_SYSTEMS[system]
    out = []
    for i, ch in enumerate(text):
        low = ch.lower()
        if system == "popular" and low == "е" and (i == 0 or text[i - 1].lower() in "аеёиоуыэюяьъ"):
            latin = "ye"
        else:
            latin = table.get(low, low)
        out.append(latin.capitalize() if ch.isupper() else latin)
    return "".join(out)


_GREEK_LATIN = {"α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k",
                "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t",
                "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o"}


def fold_accents(text: str) -> str:
    """Accents dropped (é -> e, ü -> u, ł -> l, ß -> ss): how many systems print Latin names."""
    text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("đ", "d").replace("Đ", "D")
    text = text.replace("ı", "i").replace("İ", "I").replace("ø", "o").replace("Ø", "O")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ICAO_FOLD = {"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "æ": "ae", "ø": "oe", "ß": "ss"}


def icao_fold(text: str) -> str:
    """ICAO 9303 folding of German and Nordic letters (ü -> ue), other accents dropped."""
    out = []
    for ch in text:
        low = ch.lower()
        if low in _ICAO_FOLD:
            latin = _ICAO_FOLD[low]
            out.append(latin.capitalize() if ch.isupper() else latin)
        else:
            out.append(ch)
    return fold_accents("".join(out))


def latin_tokens(rng: random.Random, native: list[str], spellings: list[list[str]], culture: str,
                 system: str) -> list[str]:
    """Latin spelling of name tokens: a spelling from the pool, or a transliteration."""
    if spellings:
        return [rng.choice(options) for options in spellings]
    if culture in ("ru", "ua"):
        return [cyrillic_to_latin(t, system, ukrainian=culture == "ua") for t in native]
    if culture == "gr":
        return ["".join(_GREEK_LATIN.get(c, c) for c in fold_accents(t).lower()).capitalize() for t in native]
    return [icao_fold(t) if system == "icao" else fold_accents(t) for t in native]


def latin_name(rng: random.Random, p: Person, *, system: str | None = None, family_first: bool = False,
               comma: bool = False, middle: bool = True, second_surname: bool = True, upper: bool = False) -> str:
    """One Latin rendering of a person's name, as a passport, a booking or a list might write it."""
    system = system or rng.choice(("icao", "icao", "popular", "popular", "german", "french"))
    given = latin_tokens(rng, p.given, p.latin_given, p.culture, system)
    mid = latin_tokens(rng, p.middle, p.latin_middle, p.culture, system) if middle and p.middle else []
    family = latin_tokens(rng, p.family, p.latin_family, p.culture, system)
    if not second_surname:
        family = family[:1]
    if p.culture in ("cn", "kr", "vn"):
        family_first = family_first or rng.random() < 0.6
    if family_first:
        text = " ".join(family) + (", " if comma else " ") + " ".join([*given, *mid])
    else:
        text = " ".join([*given, *mid, *family])
    return text.upper() if upper else text


# ---------------------------------------------------------------------------- entries and events

def base_entry(entry_id: str, kind: str, source_list: str = "synthetic", **fields) -> dict:
    entry = {"entry_id": entry_id, "kind": kind, "names": [], "aliases": [], "identifiers": [], "birth_dates": [],
             "nationalities": [], "sex": "UNKNOWN", "document_status": "UNKNOWN", "biometric_templates": [],
             "topics": [], "reason": "synthetic", "action_on_hit": "REFER_SECONDARY", "valid_from": None,
             "valid_until": None, "source_list": source_list, "updated_at": 1_700_000_000_000}
    entry.update(fields)
    return entry


def document_number(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choice(letters) for _ in range(rng.choice((0, 1, 2)))) + "".join(
        rng.choice("0123456789") for _ in range(rng.choice((7, 8, 9))))


def plate_number(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTVWXYZ"
    return (rng.choice(letters) + rng.choice(letters) + "-" + "".join(rng.choice("0123456789") for _ in range(3))
            + "-" + rng.choice(letters) + rng.choice(letters))


def imo_number(rng: random.Random) -> str:
    digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(5)]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10
    return "".join(map(str, digits)) + str(check)


def person_entry(rng: random.Random, entry_id: str, p: Person, source_list: str = "synthetic",
                 dob_share: float = 0.85) -> dict:
    """A listed person: names as lists publish them (native script and/or Latin, aliases);
    dob_share of them with a birth date."""
    names = [p.native()] if p.culture not in ("de", "tr", "pl", "en", "es", "vn") or rng.random() < 0.5 else []
    names.append(latin_name(rng, p, system="popular"))
    aliases = [latin_name(rng, p, middle=False)] if rng.random() < 0.4 else []
    entry = base_entry(entry_id, "PERSON", source_list, names=names[:1], aliases=names[1:] + aliases,
                       birth_dates=[p.birth.isoformat()] if rng.random() < dob_share else [],
                       nationalities=[p.nationality], sex=p.sex, topics=["wanted"], action_on_hit="ARREST")
    if rng.random() < 0.3:
        entry["identifiers"] = [{"scheme": "PASSPORT", "value": document_number(rng), "country": p.nationality}]
    return entry


def watchlist(rng: random.Random, n: int, prefix: str = "w", people: list[Person] | None = None,
              keep_every: int = 100, dob_share: float = 0.85, diverse: bool = False) -> Iterator[dict]:
    """n entries of every kind, about as a national watchlist mixes them (40% persons, 45%
    lost/stolen documents, vehicles, vessels, phones, organisations). Every keep_every-th
    listed person is appended to people (for events about listed travellers)."""
    for i in range(n):
        eid = f"{prefix}{i:07d}"
        r = rng.random()
        if r < 0.40:
            person = make_person(rng, diverse=diverse)
            yield person_entry(rng, eid, person, "national-wanted", dob_share)
            if people is not None and i % keep_every == 0:
                people.append(person)
        elif r < 0.85:
            yield base_entry(eid, "DOCUMENT", "interpol-sltd", document_status=rng.choice(("LOST", "STOLEN")),
                             identifiers=[{"scheme": rng.choice(("PASSPORT", "ID_CARD")), "value": document_number(rng),
                                           "country": rng.choice(ALL_COUNTRIES)}],
                             action_on_hit="SEIZE_DOCUMENT")
        elif r < 0.90:
            yield base_entry(eid, "VEHICLE", "stolen-vehicles", identifiers=[
                {"scheme": "VEHICLE_PLATE", "value": plate_number(rng), "country": rng.choice(ALL_COUNTRIES)}])
        elif r < 0.93:
            yield base_entry(eid, "VESSEL", "vessels-of-interest", names=[f"MV {rng.choice(EN_FAMILY)} {i}"],
                             identifiers=[{"scheme": "IMO", "value": imo_number(rng), "country": None},
                                          {"scheme": "MMSI", "value": str(rng.randrange(201_000_000, 775_999_999)),
                                           "country": None}])
        elif r < 0.98:
            yield base_entry(eid, "PHONE", "phones-of-interest", identifiers=[
                {"scheme": "PHONE", "value": f"+4477{rng.randrange(10**7, 10**8)}", "country": None}])
        else:
            yield base_entry(eid, "ORGANISATION", "sanctions",
                             names=[f"{rng.choice(EN_FAMILY)} {rng.choice(ES_FAMILY)} Trading {i} LLC"],
                             nationalities=[rng.choice(ALL_COUNTRIES)])


def crossing(rng: random.Random, i: int, p: Person, *, document: tuple[str, str] | None = None,
             plate: tuple[str, str] | None = None) -> dict:
    """A CrossingEvent datum for a traveller (names as a passport prints them)."""
    latin = latin_name(rng, p, system="icao", family_first=True, comma=True, upper=True)
    native_script = p.culture in ("ru", "ua", "gr", "ar", "cn", "kr")
    number, country = document or (document_number(rng), p.nationality)
    return {
        "event_id": f"00000000-0000-4000-8000-{i:012d}", "occurred_at": 1_735_689_600_000 + i * 1000,
        "port_locode": "FRPAR", "lane": None, "direction": "ENTRY", "mode": "AIR",
        "traveller": {"traveller_id": None, "given_names": " ".join(p.given) if native_script else latin.split(", ")[-1],
                      "family_names": " ".join(p.family) if native_script else latin.split(", ")[0],
                      "names_latin": latin, "date_of_birth": p.birth, "sex": p.sex, "nationality": p.nationality,
                      "phone_numbers": [f"+3361{rng.randrange(10**7, 10**8)}"]},
        "document": {"document_type": "PASSPORT", "number": number, "issuing_country": country,
                     "expiry_date": None, "mrz_lines": []},
        "conveyance": ({"vehicle_plate": plate[0], "vehicle_country": plate[1], "vehicle_vin": None, "vessel_name": None,
                        "vessel_imo": None, "vessel_mmsi": None, "flight_number": None, "container_numbers": []}
                       if plate else None),
        "travel_group_id": None, "declared_currency": [], "source_system": "synthetic",
    }
