# Venue check-in, staff feed, guard mode, sanitary alerts, posters (English).

## Commands and menu
cmd-left = Check out of the venue
cmd-occupancy = People inside now (staff)
cmd-guard = Guard mode: check a visitor by IIN (staff)
menu-checkin = 📷 Check in with a QR code
checkin-how =
    At the door, take a photo of the venue’s Ashyq QR code and send it here, or open the code’s link with your phone camera.
    If the camera fails, type the 8-character code printed under the QR (like K7P-2QX9).
    When you leave, scan the exit code or tap “I left”.

## Refused inputs
checkin-image-too-large = This image is too large. Take a closer photo of the QR code and send it as an ordinary photo.
checkin-not-an-image = This file is not an image. Send a photo of the QR code, or type the short code from the poster.
checkin-image-unreadable = This image could not be opened. Please send a JPEG or PNG photo.
checkin-no-qr = No QR code found in the photo. Hold the code in the middle of the frame in good light and try again, or type the short code from the poster.
checkin-not-ashyq = This QR code is not an Ashyq code. Scan the Ashyq poster at the venue’s entrance.
checkin-code-invalid = This code is not valid: it was not issued by Ashyq or it was altered. Please tell the staff.
checkin-code-revoked = This code is no longer valid: it has been withdrawn. Scan the current poster at the entrance.
checkin-code-unknown = There is no such code. Check the code on the poster and type it again.
checkin-venue-suspended = “{ $venue }” is suspended until { $until }: check-in is not possible.
checkin-register-first = To enter “{ $venue }”, please register first: it takes a minute. Your check-in completes by itself afterwards.
checkin-exit-without-entry = You are not checked in at “{ $venue }”, so there is no visit to close.
checkin-not-inside = You are not checked in anywhere right now.

## The result
checkin-result =
    { $colour ->
        [green] 🟩🟩🟩🟩🟩🟩🟩🟩
        [yellow] 🟨🟨🟨🟨🟨🟨🟨🟨
        [red] 🟥🟥🟥🟥🟥🟥🟥🟥
       *[blue] 🟦🟦🟦🟦🟦🟦🟦🟦
    }
    { $colour ->
        [green] 🟩 GREEN
        [yellow] 🟨 YELLOW
        [red] 🟥 RED
       *[blue] 🟦 BLUE
    } · { $verdict ->
        [admit] ✅ ADMIT
       *[deny] ⛔ DO NOT ADMIT
    }
    { $colour ->
        [green] 🟩🟩🟩🟩🟩🟩🟩🟩
        [yellow] 🟨🟨🟨🟨🟨🟨🟨🟨
        [red] 🟥🟥🟥🟥🟥🟥🟥🟥
       *[blue] 🟦🟦🟦🟦🟦🟦🟦🟦
    }
    { $venue }, entrance { $entrance }
    Scanned at { $time }
    Check code: { $code }
    Staff: the same code must appear in the venue’s staff chat.
checkin-refreshed =
    { $colour ->
        [green] 🟩🟩🟩🟩🟩🟩🟩🟩
        [yellow] 🟨🟨🟨🟨🟨🟨🟨🟨
        [red] 🟥🟥🟥🟥🟥🟥🟥🟥
       *[blue] 🟦🟦🟦🟦🟦🟦🟦🟦
    }
    { $colour ->
        [green] 🟩 GREEN
        [yellow] 🟨 YELLOW
        [red] 🟥 RED
       *[blue] 🟦 BLUE
    } · { $verdict ->
        [admit] ✅ ADMIT
       *[deny] ⛔ DO NOT ADMIT
    }
    { $venue }, entrance { $entrance }
    Scanned at { $time }, re-checked at { $checked }
    Check code: { $code }
    { $stale ->
        [yes] ⚠️ This result is stale: the code was scanned { $minutes } minutes ago. Scan the code at the door again.
       *[no] The result is current.
    }
checkin-refresh = 🔄 Refresh
checkin-left-button = 🚪 I left
checkin-left = Your exit from “{ $venue }” was recorded at { $time } ({ $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    } inside).
checkin-reminder = ⏰ In { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    } ({ $time }) you will be checked out of “{ $venue }” automatically. If you have left, tap “I left”.
checkin-auto-closed = Your visit to “{ $venue }” reached the venue’s maximum stay and was closed automatically at { $time }.

## Staff and sanitary control
checkin-staff-line = { $time } · entrance { $entrance } · { $colour ->
        [green] 🟩 green
        [yellow] 🟨 yellow
        [red] 🟥 red
       *[blue] 🟦 blue
    } · { $verdict ->
        [admit] ✅ admit
       *[deny] ⛔ do not admit
    } · code { $code }{ $via ->
        [guard] {" "}· guard mode
       *[other] {""}
    }
checkin-sanitary-alert = ⚠️ Sanitary control: at { $time } a person with { $colour ->
        [red] 🟥 RED
        [yellow] 🟨 YELLOW
        [green] 🟩 GREEN
       *[blue] 🟦 BLUE
    } status tried to enter “{ $venue }” (venue { $venue_id }), entrance { $entrance }. Reference: { $reference }.
invite-invalid = This invitation link is not valid: it was already used or it expired.
invite-accepted = You are now { $role ->
        [owner] an owner
       *[staff] staff
    } of “{ $venue }”. This chat will receive every check-in there: time, entrance, colour and check code, never a name or an IIN. /occupancy shows who is inside now, /guard checks a visitor by IIN.
staff-only = This is for venue staff only. Ask the venue’s administrator for an invitation link.
occupancy-line = “{ $venue }”: { $count ->
        [one] 1 person
       *[other] { $count } people
    } inside now.
guard-limit = At most { $limit } look-ups per hour. Please try again later.
guard-enter-iin = Guard mode: type the visitor’s IIN (12 digits).
guard-cancel = Cancel
guard-cancelled = Guard mode closed.
guard-confirm-consent = Has the visitor agreed to have their status checked? Without consent the check is not allowed.
guard-consent-yes = ✅ Yes, they agreed
guard-result =
    { $colour ->
        [green] 🟩 GREEN
        [yellow] 🟨 YELLOW
        [red] 🟥 RED
       *[blue] 🟦 BLUE
    } · { $verdict ->
        [admit] ✅ ADMIT
       *[deny] ⛔ DO NOT ADMIT
    }
    “{ $venue }”, { $time }, check code { $code }. The attempt is recorded.

## Posters (printed in Kazakh and Russian)
poster-kind = { $kind ->
        [exit] EXIT
       *[entry] ENTRY
    }
poster-entrance = Entrance { $name }
poster-code-label = Camera not working? Type the code
poster-instructions = Scan the QR code with your phone or send the code { $code } to the bot.
poster-staff = Staff: compare the 4-character code on the visitor’s screen with your staff chat.

## Terminal demo
checkin-demo-venue = Demo venue “{ $venue }”: type { $entry } to check in and { $exit } to check out.
