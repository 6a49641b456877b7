# The voucher engine (issue 17): kinds, providers and their operators, voucher QR codes.

voucher-kind-meal = мектептегі тамақ
voucher-kind-medicine = дәрі-дәрмек (рецепт)
voucher-kind-club = үйірме сабақтары
voucher-provider-joined = Бұл чат енді оператор: { $kind ->
        [pharmacy] дәріхана
        [club] үйірме
       *[other] мектеп асханасы
    } ({ $provider }). Ваучердің QR-кодының суретін жіберіңіз немесе кодын енгізіңіз.
voucher-provider-invite-invalid = Шақыру жарамсыз: мерзімі өткен немесе бұрын пайдаланылған. Жаңасын сұраңыз.
voucher-provider-already-operator = Бұл чат осы дәріхананың операторы болып тұр ({ $provider }). Ештеңе өзгерген жоқ, шақыру пайдаланылмады.
voucher-provider-operates-elsewhere = ⛔ Бұл чат басқа дәріхананың операторы ({ $current }). Оператор тек бір дәріханада жұмыс істейді, сондықтан шақыру қабылданбады және пайдаланылмаған күйінде қалды (дәріхана: { $provider }). Ауысу үшін алдымен әкімшіден сізді қазіргі дәріханадан шығаруды сұраңыз.
voucher-qr-wrong-kind = ⛔ Бұл код басқа ваучерге арналған ({ $shown ->
        [meal] мектептегі тамақ
        [medicine] дәрі-дәрмек (рецепт)
        [club] үйірме сабақтары
       *[other] басқа
    }). Осы ваучердің QR-кодын сұраңыз.
voucher-qr-expired = ⛔ Бұл QR-кодтың мерзімі өтіп кеткен (скриншот болуы мүмкін). Иесінен әмияннан жаңа QR-код ашуын сұраңыз.
voucher-qr-invalid = ⛔ Бұл код жарамсыз: оны Әлеуметтік әмиян жасамаған.

# The wallet in the main menu, the morning QR (issue 17 item 6).
menu-wallet = 👛 Әлеуметтік әмиян
wallet-morning-button-on = 🌅 QR-кодты әр оқу күні таңертең жіберу
wallet-morning-button-off = QR-кодты таңертең жібермеу
wallet-morning-on = Дайын: әр оқу күні сағат 07:00-де бұл чатқа балаңыздың (ЖСН: { $child }) тамақ QR-коды келеді. Тоқтату үшін /wallet ішіндегі батырманы басыңыз.
wallet-morning-off = Таңғы QR-код енді жіберілмейді (ЖСН: { $child }).
wallet-morning-qr = 🌅 Қайырлы таң! Балаңыздың (ЖСН: { $child }, мектеп: { $school }) бүгінгі тамақ QR-коды. Жарамды күні: { $date }. Енгізуге арналған код: { $code }.

# Club vouchers (issue 17 item 5).
club-voucher = 🎨 Үйірме ваучері: бала (ЖСН: { $child }), үйірме: { $club }. Айына сабақ саны: { $sessions }; осы айда қалғаны: { $left }. Күйі: { $status ->
        [offered] жауап күтілуде
        [active] белсенді
       *[declined] бас тартылған
    }.
club-accept-button = ✅ Қабылдау
club-decline-button = Бас тарту
club-accepted = Ваучер қабылданды: бала (ЖСН: { $child }), үйірме: { $club }, айына сабақ саны: { $sessions }. Сабақ алдында /wallet ішінен баланың QR-кодын ашыңыз.
club-declined = Сіз үйірме ваучерінен бас тарттыңыз (ЖСН: { $child }, үйірме: { $club }).
club-already-answered = Бұл ұсынысқа бұрын жауап берілген.
club-qr-button = Үйірмеге арналған QR-код
club-qr = Балаңыздың (ЖСН: { $child }) үйірмеге арналған QR-коды (үйірме: { $club }). Жарамдылығы аяқталатын уақыт: { $time }; тек осы сабаққа арналған. Енгізуге арналған код: { $code }.
club-session-marked = ✅ САБАҚ БЕЛГІЛЕНДІ: бала (ЖСН: { $child }). Осы айдағы сабақ: { $number } / { $sessions }; қалғаны: { $left }.
club-session-notice = Балаңыз (ЖСН: { $child }) үйірмеге келді: { $club }, уақыты: { $time }. Осы айдағы сабақ: { $number } / { $sessions }; қалғаны: { $left }.
club-not-operator = Бұл чат үйірменің операторы емес. Үйірмеден шақыру сұраңыз.
club-not-accepted = ⛔ Ата-ана бұл ваучерді қабылдамаған.
club-another-club = ⛔ БАСҚА ҮЙІРМЕ: бұл ваучер басқа үйірмеге арналған ({ $club }).
club-already-today = ⛔ БҮГІН БЕЛГІЛЕНГЕН (уақыты: { $time }). Күніне бір сабақ.
club-none-left = ⛔ Осы айдағы сабақтар таусылды (айына: { $sessions }). Келесі айда жаңа сабақтар ашылады.
club-offer-sms = Әлеуметтік әмиян: балаңызға (ЖСН: { $child }) үйірмеде тегін сабақтар ұсынылады: { $club }, айына сабақ саны: { $sessions }. Келісу үшін { $number }#1, бас тарту үшін { $number }#2 деп жауап беріңіз (тегін).
club-accepted-sms = Рақмет! №{ $number } ұсыныс бойынша үйірме ваучері қабылданды. Баланың QR-коды үшін Ashyq ботына осы нөмірмен тіркеліңіз.
club-declined-sms = №{ $number } ұсыныстан (үйірме ваучері) бас тарттыңыз. Ваучер ашылмады.
