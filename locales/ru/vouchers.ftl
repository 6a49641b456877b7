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
voucher-qr-wrong-kind = ⛔ Это код другого ваучера ({ $shown ->
        [meal] школьное питание
        [medicine] лекарства по рецепту
        [club] занятия в кружке
       *[other] другой
    }). Попросите QR-код этого ваучера.
voucher-qr-expired = ⛔ Срок этого QR-кода истёк (возможно, это снимок экрана). Попросите владельца открыть новый QR-код в кошельке.
voucher-qr-invalid = ⛔ Этот код недействителен: его создал не Социальный кошелёк.
