## Страница объекта (ASHYQ_PUBLIC_URL): её открывает QR-код плаката
poster-page-title = { $kind ->
        [exit] Отметить выход с объекта
       *[entry] Отметить вход на объект
    }
poster-page-lead = Выберите мессенджер: бот Ashyq откроется с кодом этого объекта.
poster-page-open = Открыть в { $messenger }
poster-page-code = Или отправьте боту код: { $code }
poster-page-privacy = Эта страница ничего о вас не спрашивает и ничего не сохраняет.
poster-page-invalid-title = Код недействителен
poster-page-invalid = Этот QR-код недействителен или больше не используется. Попросите у персонала объекта актуальный плакат.
poster-page-unavailable = Сервис временно недоступен. Попробуйте ещё раз чуть позже.
