# The voucher engine (issue 17): kinds, providers and their operators, voucher QR codes.

voucher-kind-meal = школьное питание
voucher-kind-medicine = лекарства по рецепту
voucher-kind-club = занятия в кружке
voucher-provider-joined = Этот чат теперь оператор: { $kind ->
        [pharmacy] аптека
        [club] кружок
       *[other] школьная столовая
    } ({ $provider }). Пришлите фото QR-кода ваучера или введите его код.
voucher-provider-invite-invalid = Приглашение недействительно: его срок истёк или оно уже использовано. Попросите новое.
voucher-provider-already-operator = Этот чат уже является оператором этой аптеки ({ $provider }). Ничего не изменилось, приглашение не использовано.
voucher-provider-operates-elsewhere = ⛔ Этот чат является оператором другой аптеки ({ $current }). Оператор работает только в одной аптеке, поэтому приглашение не принято и остаётся неиспользованным (аптека: { $provider }). Чтобы перейти, сначала попросите администратора исключить вас из текущей аптеки.
voucher-qr-wrong-kind = ⛔ Это код другого ваучера ({ $shown ->
        [meal] школьное питание
        [medicine] лекарства по рецепту
        [club] занятия в кружке
       *[other] другой
    }). Попросите QR-код этого ваучера.
voucher-qr-expired = ⛔ Срок этого QR-кода истёк (возможно, это снимок экрана). Попросите владельца открыть новый QR-код в кошельке.
voucher-qr-invalid = ⛔ Этот код недействителен: его создал не Социальный кошелёк.

# The wallet in the main menu, the morning QR (issue 17 item 6).
menu-wallet = 👛 Социальный кошелёк
wallet-morning-button-on = 🌅 Присылать QR-код каждое учебное утро
wallet-morning-button-off = Не присылать QR-код по утрам
wallet-morning-on = Готово: каждый учебный день в 07:00 в этот чат будет приходить QR-код питания вашего ребёнка (ИИН { $child }). Чтобы отключить, нажмите кнопку в /wallet.
wallet-morning-off = QR-код по утрам больше не присылается (ИИН { $child }).
wallet-morning-qr = 🌅 Доброе утро! QR-код питания вашего ребёнка на сегодня (ИИН { $child }, школа: { $school }), действует только { $date }. Код для ввода: { $code }.

# Club vouchers (issue 17 item 5).
club-voucher = 🎨 Ваучер на кружок: ребёнок (ИИН { $child }), кружок: { $club }. Занятий в месяц: { $sessions }; осталось в этом месяце: { $left }. Статус: { $status ->
        [offered] ожидает ответа
        [active] активен
       *[declined] отклонён
    }.
club-accept-button = ✅ Принять
club-decline-button = Отказаться
club-accepted = Ваучер принят: ребёнок (ИИН { $child }), кружок: { $club }, занятий в месяц: { $sessions }. Перед занятием откройте QR-код ребёнка в /wallet.
club-declined = Вы отказались от ваучера на кружок (ИИН { $child }, кружок: { $club }).
club-already-answered = На это предложение уже ответили.
club-qr-button = QR-код для кружка
club-qr = QR-код вашего ребёнка (ИИН { $child }) для кружка «{ $club }». Действует до { $time }, только на это занятие. Код для ввода: { $code }.
club-session-marked = ✅ ЗАНЯТИЕ ОТМЕЧЕНО: ребёнок (ИИН { $child }). Занятие в этом месяце: { $number } из { $sessions }; осталось: { $left }.
club-session-notice = Ваш ребёнок (ИИН { $child }) пришёл на занятие: { $club }, время: { $time }. Занятие в этом месяце: { $number } из { $sessions }; осталось: { $left }.
club-not-operator = Этот чат не оператор кружка. Попросите у кружка приглашение.
club-not-accepted = ⛔ Родитель не принял этот ваучер.
club-another-club = ⛔ ДРУГОЙ КРУЖОК: этот ваучер предназначен для другого кружка ({ $club }).
club-already-today = ⛔ УЖЕ ОТМЕЧЕНО СЕГОДНЯ (в { $time }). Одно занятие в день.
club-none-left = ⛔ Занятия этого месяца закончились (в месяц: { $sessions }). В следующем месяце откроются новые.
club-offer-sms = Социальный кошелёк: бесплатные занятия в кружке для вашего ребёнка (ИИН { $child }): «{ $club }», занятий в месяц: { $sessions }. Ответьте { $number }#1, чтобы согласиться, или { $number }#2, чтобы отказаться (бесплатно).
club-accepted-sms = Спасибо! Ваучер на кружок по предложению №{ $number } принят. Для QR-кода ребёнка зарегистрируйтесь в боте Ashyq с этим номером.
club-declined-sms = Вы отказались от предложения №{ $number } (ваучер на кружок). Ваучер не открыт.
