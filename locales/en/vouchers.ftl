# The voucher engine (issue 17): kinds, providers and their operators, voucher QR codes.

voucher-kind-meal = school meals
voucher-kind-medicine = medicines on prescription
voucher-kind-club = club sessions
voucher-provider-joined = This chat is now an operator: { $kind ->
        [pharmacy] pharmacy
        [club] club
       *[other] school canteen
    } ({ $provider }). Send a photo of a voucher's QR code or type its code.
voucher-provider-invite-invalid = This invitation is invalid: it expired or was already used. Ask for a new one.
voucher-provider-already-operator = This chat is already an operator of this pharmacy ({ $provider }). Nothing has changed; the invitation was not used.
voucher-provider-operates-elsewhere = ⛔ This chat is an operator of another pharmacy ({ $current }). An operator works for one pharmacy only, so the invitation to { $provider } was not accepted and remains unused. To move, first ask the administrator to remove you from your current pharmacy.
voucher-qr-wrong-kind = ⛔ This is the code of another voucher ({ $shown ->
        [meal] school meals
        [medicine] medicines on prescription
        [club] club sessions
       *[other] another kind
    }). Ask for this voucher's QR code.
voucher-qr-expired = ⛔ This QR code has expired (it may be a screenshot). Ask its holder to open a new QR code in the wallet.
voucher-qr-invalid = ⛔ This code is not valid: it was not made by the Social Wallet.

# The wallet in the main menu, the morning QR (issue 17 item 6).
menu-wallet = 👛 Social Wallet
wallet-morning-button-on = 🌅 Send the QR code every school morning
wallet-morning-button-off = Stop the morning QR code
wallet-morning-on = Done: every school day at 07:00 this chat receives your child's meal QR code (IIN { $child }). To stop, press the button in /wallet.
wallet-morning-off = The morning QR code is no longer sent (IIN { $child }).
wallet-morning-qr = 🌅 Good morning! Today's meal QR code for your child (IIN { $child }, school: { $school }), valid on { $date } only. Code for typing: { $code }.

# Club vouchers (issue 17 item 5).
club-voucher = 🎨 Club voucher: child (IIN { $child }), club: { $club }. Sessions a month: { $sessions }; left this month: { $left }. Status: { $status ->
        [offered] awaiting your answer
        [active] active
       *[declined] declined
    }.
club-accept-button = ✅ Accept
club-decline-button = Decline
club-accepted = Voucher accepted: child (IIN { $child }), club: { $club }, sessions a month: { $sessions }. Before a session, open the child's QR code in /wallet.
club-declined = You declined the club voucher (IIN { $child }, club: { $club }).
club-already-answered = This offer has already been answered.
club-qr-button = QR code for the club
club-qr = Your child's QR code (IIN { $child }) for the club { $club }. Valid until { $time }, for this session only. Code for typing: { $code }.
club-session-marked = ✅ SESSION MARKED: child (IIN { $child }). Session this month: { $number } of { $sessions }; left: { $left }.
club-session-notice = Your child (IIN { $child }) came to a session: { $club }, time: { $time }. Session this month: { $number } of { $sessions }; left: { $left }.
club-not-operator = This chat is not a club's operator. Ask the club for an invitation.
club-not-accepted = ⛔ The parent has not accepted this voucher.
club-another-club = ⛔ ANOTHER CLUB: this voucher is for another club ({ $club }).
club-already-today = ⛔ ALREADY MARKED TODAY (at { $time }). One session a day.
club-none-left = ⛔ This month's sessions are used up (a month: { $sessions }). New ones open next month.
club-offer-sms = Social Wallet: free club sessions for your child (IIN { $child }): { $club }, sessions a month: { $sessions }. Reply { $number }#1 to accept or { $number }#2 to decline (free of charge).
club-accepted-sms = Thank you! The club voucher of offer №{ $number } is accepted. For the child's QR code, register in the Ashyq bot with this phone number.
club-declined-sms = You declined offer №{ $number } (a club voucher). No voucher was opened.
