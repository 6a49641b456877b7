# Venue check-in, staff feed, guard mode, sanitary alerts, posters (English).

## Commands and menu
cmd-left = Check out of the venue
cmd-occupancy = People inside the venue now (staff)
cmd-guard = Guard mode: check a visitor by IIN (staff)
menu-checkin = 📷 Check in with a QR code
checkin-how =
    At the door, take a photo of the venue’s Ashyq QR code and send it here, or open the code’s link with your phone camera.
    If the camera fails, type the 8-character code printed under the QR code (like K7P-2QX9).
    When you leave, scan the exit code or tap “Check out”.

## Refused inputs
checkin-image-too-large = This image is too large. Take a closer photo of the QR code and send it as an ordinary photo.
checkin-not-an-image = This file is not an image. Send a photo of the QR code, or type the short code from the poster.
checkin-image-unreadable = This image could not be opened. Please send a JPEG or PNG photo.
checkin-no-qr = No QR code found in the photo. Hold the code in the middle of the frame in good light and try again, or type the short code from the poster.
checkin-not-ashyq = This QR code is not an Ashyq code. Scan the Ashyq poster at the venue’s entrance.
checkin-code-invalid = This code is not valid: it was not issued by Ashyq or it was altered. Please tell the venue staff.
checkin-code-revoked = This code has been revoked and no longer works. Scan the current poster at the entrance.
checkin-code-unknown = There is no such code. Check the code on the poster and type it again.
checkin-venue-suspended = The venue “{ $venue }” is suspended until { $until }: check-in is not possible.
checkin-register-first = To enter the venue “{ $venue }”, please register first: it takes a minute. Your check-in completes by itself afterwards.
checkin-exit-without-entry = You are not checked in at the venue “{ $venue }”, so there is no visit to close.
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
    { $venue }, entrance №{ $entrance }
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
    { $venue }, entrance №{ $entrance }
    Scanned at { $time }, re-checked at { $checked }
    Check code: { $code }
    { $stale ->
        [yes] ⚠️ This result is stale: the code was scanned { $minutes ->
            [one] { $minutes } minute
           *[other] { $minutes } minutes
        } ago. Scan the code at the door again.
       *[no] The result is current.
    }
checkin-refresh = 🔄 Refresh
checkin-left-button = 🚪 Check out
checkin-left = Your exit from the venue “{ $venue }” was recorded at { $time } ({ $minutes } min inside).
checkin-reminder = ⏰ In { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } ({ $time }) you will be checked out of the venue “{ $venue }” automatically. If you have left, tap “Check out”.
checkin-auto-closed = Your visit to the venue “{ $venue }” reached its maximum stay; you were checked out automatically at { $time }.

## Staff and sanitary control
checkin-staff-line = { $time } · entrance №{ $entrance } · { $colour ->
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
checkin-sanitary-alert = ⚠️ For sanitary-epidemiological control: a person with { $colour ->
        [red] 🟥 RED
        [yellow] 🟨 YELLOW
        [green] 🟩 GREEN
       *[blue] 🟦 BLUE
    } status tried to enter the venue “{ $venue }” (№{ $venue_id }) through entrance №{ $entrance }. Time: { $time } (Astana time). Reference: { $reference }.
invite-invalid = This invitation link is not valid: it was already used or it expired.
invite-accepted = You are now { $role ->
        [owner] an owner
       *[staff] a staff member
    } of the venue “{ $venue }”. This chat will receive every check-in there: time, entrance, colour and check code, never a name or an IIN. /occupancy shows how many people are inside now, /guard checks a visitor by IIN.
staff-only = This is for venue staff only. Ask the venue’s owner for an invitation link.
occupancy-line = “{ $venue }”: { $count ->
        [one] { $count } person
       *[other] { $count } people
    } inside now.
guard-limit = At most { $limit ->
        [one] { $limit } look-up
       *[other] { $limit } look-ups
    } per hour. Please try again later.
guard-enter-iin = Guard mode: type the visitor’s IIN (12 digits).
guard-cancel = Cancel
guard-cancelled = Guard mode closed.
guard-confirm-consent = Has the visitor agreed to have their status checked? Without consent the check is not allowed.
guard-consent-yes = ✅ Yes, consent given
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
    “{ $venue }”, { $time }, check code: { $code }. { $verdict ->
        [admit] The entry is recorded.
       *[deny] The attempt to enter is recorded.
    }

## Posters (printed in Kazakh and Russian)
poster-kind = { $kind ->
        [exit] EXIT
       *[entry] ENTRY
    }
poster-entrance = Entrance №{ $name }
poster-code-label = Camera not working? Type the code
poster-instructions = Scan the QR code with your phone or send the code { $code } to the bot.
poster-staff = Staff: compare the 4-character code on the visitor’s screen with your staff chat.

## Terminal demo
checkin-demo-venue = Demo venue “{ $venue }”: type { $entry } to check in and { $exit } to check out.
