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
voucher-qr-wrong-kind = ⛔ This is the code of another voucher ({ $shown ->
        [meal] school meals
        [medicine] medicines on prescription
        [club] club sessions
       *[other] another kind
    }). Ask for this voucher's QR code.
voucher-qr-expired = ⛔ This QR code has expired (it may be a screenshot). Ask its holder to open a new QR code in the wallet.
voucher-qr-invalid = ⛔ This code is not valid: it was not made by the Social Wallet.
