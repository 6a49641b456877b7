## Social Wallet: school-meal vouchers.
# The lists hold no children's names: a child is "your child (IIN •••• 1234)", with grade and school.

cmd-wallet = School meals: my children's vouchers
cmd-qr = Today's meal QR code for my child
cmd-meals = Meals this month
cmd-menu = Canteen: today's menu (/menu text sets it)

wallet-offer = Social Wallet: free school meals for your child (IIN { $child }, grade { $grade }, school: { $school }). Reply { $number }#1 to accept or { $number }#2 to decline (free of charge) by { $until }.
wallet-offer-accept = ✅ Accept
wallet-offer-decline = ❌ Decline
wallet-answer-help = To answer a school-meal offer, send its number, # and 1 to accept or 2 to decline: for example 2#1 accepts offer №2, 2#2 declines it.
wallet-offer-unknown = Offer №{ $number } was not sent to this chat. An offer can be answered only from the phone number or chat it was sent to.
wallet-offer-answered = Offer №{ $number } has already been answered ({ $answer ->
        [accepted] accepted
       *[declined] declined
    }); nothing changed.
wallet-offer-expired = The time to answer offer №{ $number } ran out on { $date }; nothing changed. Call 1414 if you still need school meals.
wallet-consent-declined = You declined offer №{ $number } (child: IIN { $child }). No voucher was opened.
wallet-consent-accepted = Thank you! The school-meal voucher for your child (IIN { $child }, school: { $school }) is open until { $until }. Activate it with /wallet to get the child's QR code for the canteen.
wallet-consent-accepted-sms = Thank you! The school-meal voucher of offer №{ $number } is open until { $until }. For the QR code, register in the Ashyq bot with this phone number.
wallet-register-first = Register first (/start) with the phone number the school has for you: your children's vouchers are found by it.
wallet-none = No school-meal voucher is linked to your phone number or IIN yet. Offers come after the school's lists are imported; reply N#1 to an offer to open a voucher.
wallet-voucher = 🎒 Your child (IIN { $child }), grade { $grade }, school: { $school }; valid until { $until }. Status: { $status ->
        [active] active
        [inactive] not activated yet
        [revoked] revoked
       *[expired] expired
    }.
wallet-activate-button = Activate
wallet-qr-button = Today's QR code
wallet-reissue-button = Lost it: new QR code
wallet-activated = The voucher is active. Here is the meal QR code for your child (IIN { $child }, school: { $school }), valid on { $date } only; the canteen can also type the code { $code }. Send /qr every school day for a fresh one.
wallet-qr = Meal QR code for your child (IIN { $child }, school: { $school }), valid on { $date } only. Code for typing: { $code }.
wallet-reissued = The earlier QR codes of your child (IIN { $child }) no longer work. The new QR code is valid on { $date } (school: { $school }); code for typing: { $code }.
wallet-no-active = No active voucher: open /wallet and press “Activate” first.
wallet-voucher-unavailable = This voucher is not available to you: it is revoked, expired, or not linked to your phone number or IIN.
wallet-redeem-granted = ✅ MEAL GRANTED: pupil of grade { $grade } (IIN { $child }), school: { $school }.
wallet-redeem-already = ⛔ ALREADY RECEIVED TODAY (at { $time }). One meal per child per school day.
wallet-redeem-not-eligible = ⛔ NOT ELIGIBLE: the voucher is not activated or no longer valid.
wallet-redeem-revoked = ⛔ REVOKED: this code no longer works. The parent can get a new one with /wallet.
wallet-redeem-other-school = ⛔ ANOTHER SCHOOL: this pupil's voucher is for another school ({ $school }).
wallet-redeem-stale = ⛔ OLD CODE: this QR code is from an earlier day. The parent gets today's with /qr.
wallet-redeem-invalid = ⛔ Not a valid meal code. Scan the QR code again or type the 10-character code.
wallet-redeem-no-school-day = ⛔ No school meals today (weekend, holiday or vacation).
wallet-redeem-not-operator = This is a child's school-meal QR code: the school canteen's operators scan it.
wallet-meal-notice = 🍽 Your child (IIN { $child }) had lunch at { $time }; school: { $school }. Menu: { $menu }. How was it? Rate it from 1 to 5:
wallet-rate-thanks = Thank you for your rating: { $rating } out of 5.
wallet-comment-prompt = Would you like to leave feedback for the school? Write it, or press “No feedback”.
wallet-comment-skip = No feedback
wallet-comment-saved = Your feedback has been passed on to the school. Thank you!
wallet-comment-skipped = Fine, no feedback.
wallet-rate-already = This meal has already been rated.
wallet-meals-none = No meals recorded in { $month }.
wallet-meals = Meals in { $month }: { $count }
    { $lines }
wallet-meal-line = { $at } · { $school } · { $menu }{ $rating ->
        [0] {""}
       *[other] {" "}· { $rating } ⭐
    }
wallet-menu-today = Today's menu (school: { $school }): { $menu }
wallet-menu-none = No menu set for today (school: { $school }). Send /menu followed by the dishes.
wallet-menu-set = Menu saved (date: { $date }; school: { $school }): { $menu }. Parents see it with every meal.
canteen-invite-accepted = This chat is now a canteen operator (school: { $school }). Send a photo of a child's meal QR code (or type its code) to serve a meal; /menu sets today's menu.
canteen-invite-invalid = This invitation is invalid: it expired or was already used. Ask for a new one.
canteen-only = Only canteen operators can do this. Join with the invitation link from the school.
