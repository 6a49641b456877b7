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
voucher-qr-wrong-kind = ⛔ Бұл код басқа ваучерге арналған ({ $shown ->
        [meal] мектептегі тамақ
        [medicine] дәрі-дәрмек (рецепт)
        [club] үйірме сабақтары
       *[other] басқа
    }). Осы ваучердің QR-кодын сұраңыз.
voucher-qr-expired = ⛔ Бұл QR-кодтың мерзімі өтіп кеткен (скриншот болуы мүмкін). Иесінен әмияннан жаңа QR-код ашуын сұраңыз.
voucher-qr-invalid = ⛔ Бұл код жарамсыз: оны Әлеуметтік әмиян жасамаған.
