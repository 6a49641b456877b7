## Нысан бетінің мәтіндері (ASHYQ_PUBLIC_URL): плакаттағы QR-код ашатын бет
poster-page-title = { $kind ->
        [exit] Нысаннан шығуды белгілеу
       *[entry] Нысанға кіруді белгілеу
    }
poster-page-lead = Мессенджерді таңдаңыз: Ashyq боты осы нысанның кодымен ашылады.
poster-page-open = { $messenger } арқылы ашу
poster-page-code = Немесе ботқа мына кодты жіберіңіз: { $code }
poster-page-privacy = Бұл бет сіз туралы ештеңе сұрамайды және ештеңе сақтамайды.
poster-page-invalid-title = Код жарамсыз
poster-page-invalid = Бұл QR-код жарамсыз немесе енді қолданылмайды. Нысан қызметкерлерінен жаңа плакатты сұраңыз.
poster-page-unavailable = Сервис уақытша қолжетімсіз. Сәлден кейін қайталап көріңіз.
