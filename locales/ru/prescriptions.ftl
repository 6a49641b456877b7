# Рецепты в аптеках (issue 17): список и QR-код пациента, сканирование и отпуск в аптеке,
# жалобы и решения органа здравоохранения.

cmd-prescriptions = Мои рецепты
rx-wallet = Лекарства по рецепту тоже в Социальном кошельке.
rx-wallet-button = 💊 Мои рецепты
rx-none = На вас и на детей, которых вы представляете, рецептов пока нет.
rx-not-verified = Рецепты показываются только после того, как реестр подтвердит ваш ИИН. Попробуйте позже.
rx-not-yours = Это не ваш рецепт, или его больше нет.
rx-item = { $inn }, { $form }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } упаковка
            [few] { $quantity } упаковки
           *[many] { $quantity } упаковок
        }
        [ml] { $quantity ->
            [one] { $quantity } мл
           *[other] { $quantity } мл
        }
        [g] { $quantity ->
            [one] { $quantity } г
           *[other] { $quantity } г
        }
       *[pieces] { $quantity ->
            [one] { $quantity } штука
            [few] { $quantity } штуки
           *[many] { $quantity } штук
        }
    }
rx-item-left = { $inn }, { $form }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } упаковка
            [few] { $quantity } упаковки
           *[many] { $quantity } упаковок
        }
        [ml] { $quantity ->
            [one] { $quantity } мл
           *[other] { $quantity } мл
        }
        [g] { $quantity ->
            [one] { $quantity } г
           *[other] { $quantity } г
        }
       *[pieces] { $quantity ->
            [one] { $quantity } штука
            [few] { $quantity } штуки
           *[many] { $quantity } штук
        }
    }; осталось: { $left }
rx-list-entry =
    📄 Рецепт { $rx }: { $state ->
        [active] действует
        [partly] отпущен частично
        [used] отпущен полностью
        [expired] срок действия истёк
       *[withdrawn] отозван медицинской организацией
    }
    Пациент: ИИН { $patient }
    Врач: { $prescriber }
    Выписан: { $issued }
    Действует до: { $expires }
    { $kind ->
        [discounted] Льготный: вы оплачиваете { $share } % стоимости.
       *[free] Бесплатный (гарантированный объём бесплатной медицинской помощи или страхование).
    }

    { $items }{ $dispensings ->
        [0] {""}
       *[other] {"\u000A\u000A"}Отпущено:{"\u000A"}{ $history }
    }
rx-history-line = • { $at } — аптека «{ $pharmacy }»
    { $items }{ $dispute_status ->
        [open] {"\u000A"}  ⚠️ Ваша жалоба подана.
        [review] {"\u000A"}  🔎 Ваша жалоба на рассмотрении.
        [upheld] {"\u000A"}  ✅ Ваша жалоба удовлетворена.
        [rejected] {"\u000A"}  ❌ Ваша жалоба отклонена.
       *[none] {""}
    }
rx-qr-button = Показать QR-код
rx-qr =
    QR-код рецепта { $rx }. Покажите его в аптеке; он действует { $minutes ->
        [one] { $minutes } минуту
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }, потом откройте новый здесь.
    Код для ввода: { $code }
rx-dispute-button = ⚠️ Лекарства не получены
rx-dispute-history-button = ⚠️ Не получено: «{ $pharmacy }», { $at }
rx-dispensed-notice =
    💊 Аптека «{ $pharmacy }» отпустила лекарства по рецепту { $rx }.
    Время: { $at }
    { $items }
    Если вы их не получали, нажмите кнопку ниже.
rx-not-pharmacist = Коды рецептов сканирует только фармацевт аптеки. Попросите в своей аптеке приглашение.
rx-code-invalid = Этот код рецепта недействителен.
rx-withdrawn = Рецепт { $rx } отозван медицинской организацией: по нему ничего отпустить нельзя.
rx-used = Рецепт { $rx } отпущен полностью: отпускать больше нечего.
rx-expired = Срок действия рецепта { $rx } истёк: по нему ничего отпустить нельзя.
rx-card =
    📄 Рецепт { $rx }
    Пациент: ИИН { $patient }
    { $kind ->
        [discounted] Льготный: пациент оплачивает { $share } % стоимости.
       *[free] Бесплатный (гарантированный объём бесплатной медицинской помощи или страхование).
    }
    Действует до: { $expires }

    { $items }

    Отпустите всё оставшееся или часть:
rx-give-all = ✅ Всё оставшееся
rx-give-item = { $inn }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } упаковка
            [few] { $quantity } упаковки
           *[many] { $quantity } упаковок
        }
        [ml] { $quantity ->
            [one] { $quantity } мл
           *[other] { $quantity } мл
        }
        [g] { $quantity ->
            [one] { $quantity } г
           *[other] { $quantity } г
        }
       *[pieces] { $quantity ->
            [one] { $quantity } штука
            [few] { $quantity } штуки
           *[many] { $quantity } штук
        }
    }
rx-dispensed =
    ✅ Отпущено:
    { $given }
    { $remaining ->
        [0] Рецепт отпущен полностью.
       *[other] Осталось по рецепту:{"\u000A"}{ $rest }
    }
    Пациент уведомлён.
rx-scan-again = Эти кнопки устарели. Отсканируйте QR-код пациента ещё раз.
rx-changed = После сканирования рецепт изменился (по нему уже что-то отпустили). Ничего не отпущено: отсканируйте QR-код ещё раз.
rx-beyond = Ничего не отпущено: по рецепту осталось { $inn } — { $left }.
rx-dispute-opened = Жалоба №{ $dispute } подана. Орган здравоохранения её рассмотрит, о решении мы сообщим здесь. Обращение в поддержку тоже открыто.
rx-dispute-exists = Жалоба на этот отпуск уже подана.
rx-dispute-not-yours = Пожаловаться можно только на отпуск по вашим рецептам или рецептам ребёнка, которого вы представляете.
rx-dispute-summary =
    ⚠️ Жалоба №{ $dispute }: пациент сообщает, что не получал лекарства.
    Рецепт: { $rx }
    Аптека: «{ $pharmacy }», БИН { $bin }
    Время: { $at }
    { $items }
rx-dispute-status = Жалоба №{ $dispute }: { $status ->
        [review] орган здравоохранения рассматривает её.
        [upheld] удовлетворена. Отпуск признан неполученным; орган здравоохранения принимает меры к аптеке.
       *[rejected] отклонена. Орган здравоохранения подтвердил отпуск.
    }
rx-dispute-decided = Жалоба №{ $dispute }: { $status ->
        [review] на рассмотрении
        [upheld] удовлетворена
       *[rejected] отклонена
    }. Пациент уведомлён.
rx-dispute-already = Жалоба №{ $dispute } уже { $status ->
        [open] подана
        [review] на рассмотрении
        [upheld] удовлетворена
       *[rejected] отклонена
    }: это решение к ней не применяется.
rx-not-authority = Жалобы решает только чат органа здравоохранения.
rx-decide-review = 🔎 Взять на рассмотрение
rx-decide-upheld = ✅ Удовлетворить
rx-decide-rejected = ❌ Отклонить
