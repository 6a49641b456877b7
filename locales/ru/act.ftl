# Ежемесячный акт поставщика (`ashyq wallet act`): печатается на казахском и русском рядом.

act-title = Акт выполненных работ: школьное питание
act-period = Период: { $month }
act-supplier = Поставщик: { $name }, БИН { $bin }
act-status = { $status ->
        [final] Окончательный акт: месяц закончился, акт больше не меняется.
       *[draft] Проект: месяц ещё не закончился.
    }
act-ledger = Последняя запись журнала событий: №{ $seq }
act-col-school-bin = БИН школы
act-col-school = Школа
act-col-day = Дата
act-col-meals = Приёмов пищи
act-col-price = Цена одного приёма пищи
act-col-amount = Сумма
act-total = Итого
act-day = { $day }
