## Social Wallet: school-meal vouchers.

cmd-wallet = School meals: my children's vouchers
cmd-qr = Today's meal QR for my child
cmd-meals = Meals this month
cmd-menu = Canteen: today's menu (/menu text sets it)

wallet-offer = Social Wallet: free school meals for your child { $child } (grade { $grade }, { $school }). Reply { $number }#1 to accept or { $number }#2 to decline (free of charge) by { $until }.
wallet-offer-accept = ✅ Accept
wallet-offer-decline = ❌ Decline
wallet-answer-help = To answer a school-meal offer, send its number, # and 1 to accept or 2 to decline: for example 2#1 accepts offer 2, 2#2 declines it.
wallet-offer-unknown = No offer number { $number } was sent here. An offer can be answered only from the phone number or chat it was sent to.
wallet-offer-answered = Offer { $number } has already been answered ({ $answer ->
        [accepted] accepted
       *[declined] declined
    }); nothing changed.
wallet-offer-expired = Offer { $number } expired on { $date }; nothing changed. Call 1414 if you still need school meals.
wallet-consent-declined = You declined offer { $number } for { $child }. No voucher was opened.
wallet-consent-accepted = Thank you! The school-meal voucher for { $child } ({ $school }) is open until { $until }. Activate it with /wallet to get the child's QR for the canteen.
wallet-consent-accepted-sms = Thank you! The school-meal voucher for { $child } ({ $school }) is open until { $until }. To get the child's QR, register in the Ashyq bot with this phone number and send /wallet.
wallet-register-first = Register first (/start) with the phone number the school has for you: your children's vouchers are found by it.
wallet-none = No school-meal voucher is linked to your phone number or IIN yet. Offers come after the school's lists are imported; reply N#1 to an offer to open a voucher.
wallet-voucher = 🎒 { $child }, grade { $grade }, { $school }; valid until { $until }. Status: { $status ->
        [active] active
        [inactive] not activated yet
        [revoked] revoked
       *[expired] expired
    }.
wallet-activate-button = Activate
wallet-qr-button = Today's QR
wallet-reissue-button = Lost it: new QR
wallet-activated = The voucher is active. Here is today's meal QR for { $child } ({ $school }), valid on { $date } only; the canteen can also type the code { $code }. Send /qr every school day for a fresh one.
wallet-qr = Meal QR for { $child } ({ $school }), valid on { $date } only. Code for typing: { $code }.
wallet-reissued = The earlier QR codes of { $child } no longer work. The new QR for { $date } ({ $school }); code for typing: { $code }.
wallet-no-active = No active voucher: open /wallet and press "Activate" first.
wallet-voucher-unavailable = This voucher is not available to you (revoked, expired, or not linked to your phone number or IIN).
wallet-redeem-granted = ✅ MEAL GRANTED: grade { $grade }, pupil { $child }, { $school }.
wallet-redeem-already = ⛔ ALREADY RECEIVED TODAY (at { $time }). One meal per child per school day.
wallet-redeem-not-eligible = ⛔ NOT ELIGIBLE: the voucher is not activated or no longer valid.
wallet-redeem-revoked = ⛔ REVOKED: this code no longer works. The parent can send a new one from /wallet.
wallet-redeem-other-school = ⛔ ANOTHER SCHOOL: this pupil's voucher is for { $school }.
wallet-redeem-stale = ⛔ OLD CODE: this QR is from an earlier day. The parent sends today's with /qr.
wallet-redeem-invalid = ⛔ Not a valid meal code. Scan the QR again or type the 10-character code.
wallet-redeem-no-school-day = ⛔ No school meals today (weekend, holiday or vacation).
wallet-redeem-not-operator = This is a child's school-meal QR: it is scanned in the school canteen by its operators.
wallet-meal-notice = 🍽 { $child } had lunch at { $time }, { $school }. Menu: { $menu }. How was it? Rate 1-5:
wallet-rate-thanks = Thank you for the rating { $rating }.
wallet-comment-prompt = Would you like to add a comment for the school? Write it, or press "No comment".
wallet-comment-skip = No comment
wallet-comment-saved = Your comment has been passed on. Thank you!
wallet-comment-skipped = Fine, no comment.
wallet-rate-already = This meal has already been rated.
wallet-meals-none = No meals recorded in { $month }.
wallet-meals = Meals in { $month }: { $count }
    { $lines }
wallet-menu-today = Today's menu at { $school }: { $menu }
wallet-menu-none = No menu set for today at { $school }. Send /menu followed by the dishes.
wallet-menu-set = Menu of { $date } at { $school } saved: { $menu }. Parents see it with every meal.
canteen-invite-accepted = This chat is now a canteen operator of { $school }. Send a photo of a child's meal QR (or type its code) to serve a meal; /menu sets today's menu.
canteen-invite-invalid = This invitation is invalid, expired or already used. Ask for a new one.
canteen-only = Only canteen operators can do this. Join with the invitation link from the school.
