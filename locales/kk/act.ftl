# Жеткізушінің айлық актісі (`ashyq wallet act`): қазақша және орысша қатар басылады.

act-title = Орындалған жұмыстар актісі: мектептегі тамақ
act-period = Кезеңі: { $month }
act-supplier = Жеткізуші: { $name }, БСН { $bin }
act-status = { $status ->
        [final] Түпкілікті акт: ай аяқталды, акт енді өзгермейді.
       *[draft] Жоба: ай әлі аяқталған жоқ.
    }
act-ledger = Оқиғалар журналының соңғы жазбасы: №{ $seq }
act-col-school-bin = Мектептің БСН-і
act-col-school = Мектеп
act-col-day = Күні
act-col-meals = Тамақ саны
act-col-price = Бір тамақтың бағасы
act-col-amount = Сомасы
act-total = Барлығы
act-day = { $day }
