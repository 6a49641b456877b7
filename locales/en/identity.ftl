# Identity registry (issue 15): the IIN is checked against the mobile citizens database.

identity-mismatch = The mobile citizens database does not link your phone number to this IIN, so the IIN was not saved. Check the IIN. If it is correct, register your number in the mobile citizens database: on egov.kz (with an electronic signature) or at any public service centre with your ID card. Then send your IIN here again.
identity-pending = We are checking your IIN with the mobile citizens database, but it cannot answer right now. We will keep trying for up to 24 hours and write to you here as soon as it is settled. Until then your status is not shown.
identity-pending-wait = We are still waiting for the mobile citizens database to confirm your IIN and will write to you here. Until then your status is not shown. If you made a mistake in the IIN, send the correct one.
identity-confirmed = The mobile citizens database confirmed your IIN. Registration is complete: use the menu below.
identity-gave-up = The mobile citizens database did not answer within 24 hours, so your IIN could not be confirmed. Please send your IIN again later.
identity-binding-moved = The mobile citizens database has confirmed that the IIN of this account belongs to the owner of another phone number, and it is now registered to them. This chat no longer has access to its status, notices or vouchers. If the IIN is yours, make sure your number is registered to you in the mobile citizens database (egov.kz or a public service centre) and send your IIN again.
identity-recheck = Before showing health data we now confirm every IIN with the mobile citizens database. It cannot answer right now: we will keep trying for up to 24 hours and write to you here.
identity-recheck-mismatch = Before showing health data we now confirm every IIN with the mobile citizens database, and it does not link your phone number to the IIN of this account, so the IIN has been removed. If it is yours, register your number in the mobile citizens database on egov.kz or at a public service centre, then send your IIN again.
identity-too-many = Too many IIN attempts: at most { $limit } per { $period ->
        [hour] hour
       *[day] day
    }. Please try again later.
identity-sms-voucher-activated = Ashyq: the school meal voucher of your child (IIN { $child }, school: { $school }) was activated in the chat bot. If it was not you, call 1414.
identity-sms-voucher-reissued = Ashyq: a new meal QR code was issued for your child (IIN { $child }, school: { $school }); the earlier codes no longer work. If it was not you, call 1414.
