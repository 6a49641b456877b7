# Prescriptions at pharmacies (issue 17): the patient's list and QR code, the pharmacist's
# scan and dispensing, complaints and the health authority's decisions.

cmd-prescriptions = My prescriptions
rx-wallet = Medicines on prescription are in the Social Wallet too.
rx-wallet-button = 💊 My prescriptions
rx-none = No prescription has been issued to you or to a child you represent.
rx-not-verified = Prescriptions are shown only after the identity registry confirms your IIN. Please try again later.
rx-not-yours = This prescription is not yours, or it no longer exists.
rx-item = { $inn }, { $form }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } pack
           *[other] { $quantity } packs
        }
        [ml] { $quantity } ml
        [g] { $quantity } g
       *[pieces] { $quantity ->
            [one] { $quantity } piece
           *[other] { $quantity } pieces
        }
    }
rx-item-left = { $inn }, { $form }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } pack
           *[other] { $quantity } packs
        }
        [ml] { $quantity } ml
        [g] { $quantity } g
       *[pieces] { $quantity ->
            [one] { $quantity } piece
           *[other] { $quantity } pieces
        }
    }; left: { $left }
rx-list-entry =
    📄 Prescription { $rx }: { $state ->
        [active] active
        [partly] partly dispensed
        [used] fully used
        [expired] expired
       *[withdrawn] revoked by the medical organisation
    }
    Patient: IIN { $patient }
    Prescriber: { $prescriber }
    Issued: { $issued }
    Valid until: { $expires }
    { $kind ->
        [discounted] Discounted: you pay { $share } % of the price.
       *[free] Free (guaranteed volume of free medical care or insurance).
    }

    { $items }{ $dispensings ->
        [0] {""}
       *[other] {"\u000A\u000A"}Dispensed:{"\u000A"}{ $history }
    }
rx-history-line = • { $at } — pharmacy «{ $pharmacy }»
    { $items }{ $dispute_status ->
        [open] {"\u000A"}  ⚠️ Your complaint has been filed.
        [review] {"\u000A"}  🔎 Your complaint is under review.
        [upheld] {"\u000A"}  ✅ Your complaint has been upheld.
        [rejected] {"\u000A"}  ❌ Your complaint has been rejected.
       *[none] {""}
    }
rx-qr-button = Show the QR code
rx-qr =
    QR code of prescription { $rx }. Show it at the pharmacy; it works for { $minutes } minutes, then open a new one here.
    Code to type: { $code }
rx-dispute-button = ⚠️ I did not receive this
rx-dispute-history-button = ⚠️ Not received: «{ $pharmacy }», { $at }
rx-dispensed-notice =
    💊 Pharmacy «{ $pharmacy }» dispensed medicines on prescription { $rx }.
    Time: { $at }
    { $items }
    If you did not receive them, press the button below.
rx-not-pharmacist = Only a pharmacist can scan prescription codes. Ask your pharmacy for an invitation.
rx-code-invalid = This prescription code is not valid.
rx-withdrawn = Prescription { $rx } has been revoked by the medical organisation: nothing can be dispensed on it.
rx-used = Prescription { $rx } is fully used: nothing is left to dispense.
rx-expired = Prescription { $rx } has expired: nothing can be dispensed on it.
rx-card =
    📄 Prescription { $rx }
    Patient: IIN { $patient }
    { $kind ->
        [discounted] Discounted: the patient pays { $share } % of the price.
       *[free] Free (guaranteed volume of free medical care or insurance).
    }
    Valid until: { $expires }

    { $items }

    Dispense everything that is left, or a part:
rx-give-all = ✅ Everything that is left
rx-give-item = { $inn }: { $unit ->
        [packs] { $quantity ->
            [one] { $quantity } pack
           *[other] { $quantity } packs
        }
        [ml] { $quantity } ml
        [g] { $quantity } g
       *[pieces] { $quantity ->
            [one] { $quantity } piece
           *[other] { $quantity } pieces
        }
    }
rx-dispensed =
    ✅ Dispensed:
    { $given }
    { $remaining ->
        [0] The prescription is now fully used.
       *[other] Left on the prescription:{"\u000A"}{ $rest }
    }
    The patient has been notified.
rx-scan-again = These buttons are too old. Scan the patient's QR code again.
rx-changed = The prescription changed after your scan (something was dispensed on it). Nothing was dispensed: scan the QR code again.
rx-beyond = Nothing was dispensed: only { $left } of { $inn } is left on the prescription.
rx-dispute-opened = Complaint №{ $dispute } has been filed. The health authority will review it, and we will tell you its decision here. A support ticket has been opened too.
rx-dispute-exists = A complaint about this dispensing has already been filed.
rx-dispute-not-yours = You can complain only about dispensings on your own prescriptions or those of a child you represent.
rx-dispute-summary =
    ⚠️ Complaint №{ $dispute }: the patient says the medicines were not received.
    Prescription: { $rx }
    Pharmacy: «{ $pharmacy }», BIN { $bin }
    Time: { $at }
    { $items }
rx-dispute-status = Complaint №{ $dispute }: { $status ->
        [review] the health authority is reviewing it.
        [upheld] upheld. The dispensing is recognised as not received; the health authority takes measures with the pharmacy.
       *[rejected] rejected. The health authority confirmed the dispensing.
    }
rx-dispute-decided = Complaint №{ $dispute }: { $status ->
        [review] under review
        [upheld] upheld
       *[rejected] rejected
    }. The patient has been notified.
rx-dispute-already = Complaint №{ $dispute } is already { $status ->
        [open] open
        [review] under review
        [upheld] upheld
       *[rejected] rejected
    }: this decision does not apply to it.
rx-not-authority = Only the health authority's chat decides complaints.
rx-decide-review = 🔎 Take under review
rx-decide-upheld = ✅ Uphold
rx-decide-rejected = ❌ Reject
