## Businesses: applications, review, owner tools, monitoring, authorities
# An application (business) is not a ticket (support).

cmd-business = Business: apply for QR codes, manage your venue
checkin-test-mode = The venue “{ $venue }” is in its test week: this check-in is recorded as a test and sanitary control is not alerted.

biz-intro = Application for Ashyq QR codes. You will be asked for the BIN, the legal name, the address, the region, the economic activity code (OKED), the category, the number of entrances and the maximum stay of a visitor. /cancel stops at any step.
biz-ask-bin = Enter the business identification number (BIN): 12 digits.
biz-bin-invalid = { $reason ->
    [length] A BIN has exactly 12 digits.
    [digits] A BIN contains only digits.
    [month] This BIN has an impossible registration month.
   *[checksum] This BIN's check digit does not match: check for a typo.
}
biz-ask-name = Enter the legal name of the business, as registered.
biz-name-invalid = The name must contain letters and be 2 to 200 characters long.
biz-ask-address = Enter the venue's address (city, street, building).
biz-address-invalid = The address must contain letters and be 5 to 300 characters long.
biz-duplicate = An application for this BIN and this address already exists. A second one is not accepted; wait for the decision on the first.
biz-ask-location = Send the venue's location pin (📎 → Location), or skip this step.
biz-location-hint = Send a location pin, or press “Skip”.
biz-location-outside = This point is outside Kazakhstan. Send the venue's location.
biz-skip-button = Skip
biz-ask-region = Enter the region or city of republican significance (for example: Almaty, Karaganda region).
biz-region-invalid = Enter the region name in letters (2 to 64 characters).
biz-ask-oked = Enter the main economic activity code (OKED): 5 digits, for example 56101.
biz-oked-format = An OKED code has 5 digits, for example 56101.
biz-oked-ineligible = Refused: activity code { $code } is not on the list of activities admitted to the Ashyq project (resolution of the Chief State Sanitary Doctor of the Republic of Kazakhstan). Enter another code or send /cancel.
biz-ask-category = Choose the category of the venue.
biz-category = { $category ->
    [catering] Catering
    [cinemas] Cinema
    [theatres] Theatre, philharmonic
    [concert_halls] Concert hall
    [computer_clubs] Computer or PlayStation club
    [bowling_billiards] Bowling, billiards
    [beauty_salons] Beauty salon
    [fitness] Fitness, yoga, sport
    [spa] Spa
    [pools_baths] Pool, bath house
    [stadiums] Stadium
    [karaoke] Karaoke
    [banquet_halls] Banquet hall
    [tourist_transport] Intercity tourist transport
    [airports] Airport
   *[other] { $category }
}
biz-ask-entrances = How many entrances does the venue have? At most { $max }. Each gets an entry code and an exit code.
biz-entrances-invalid = Enter a whole number from 1 to { $max }.
biz-ask-max-stay = Maximum stay of a visitor, after which the check-out is recorded automatically. For example: 3 h, 90 min, 1.5 h.
biz-max-stay-invalid = Enter a duration between 10 minutes and 24 hours, for example 3 h or 90 min.
biz-summary = Please check the application:
    BIN: { $bin }
    Name: { $name }
    Address: { $address }
    Location: { $location }
    Region: { $region }
    OKED: { $oked }
    Category: { $category }
    Entrances: { $entrances }
    Maximum stay: { $minutes } min
biz-submit-button = ✅ Submit
biz-cancel-button = Cancel
biz-cancelled = Application cancelled; nothing was saved.
biz-use-buttons = Please use the buttons under the message.
biz-type-answer = Please type the answer as text.
biz-submitted = Application №{ $id } submitted. { $stage ->
    [association] Catering venues and cinemas are first reviewed by their sector association; then the administrators decide.
   *[other] The administrators will review it; the decision will come to this chat.
}

biz-review-card = Application №{ $id } ({ $stage ->
    [association] for the sector association's pre-approval
   *[other] for approval
})
    { $name }, BIN { $bin }
    { $address } ({ $location }), region: { $region }
    OKED: { $oked }, category: { $category }
    Entrances: { $entrances }; maximum stay: { $minutes } min
biz-approve-button = ✅ Approve
biz-preapprove-button = ✅ Pre-approve
biz-reject-button = ❌ Reject
biz-reject-ask-reason = Type the reason for rejecting application №{ $id } (the applicant will see it), or send /cancel.
biz-not-reviewer = Only the reviewers of this application can do that.
biz-review-approved = Application №{ $id } approved: the venue “{ $venue }”, test mode until { $until }.
biz-review-preapproved = Application №{ $id } pre-approved and sent to the administrators.
biz-review-rejected = Application №{ $id } rejected; the applicant was told.
biz-review-already = Application №{ $id } was already decided: { $status ->
    [approved] approved
    [rejected] rejected
   *[other] under review
}.
biz-review-refused = { $reason ->
    [not_found] There is no application №{ $id }.
    [association] Application №{ $id } still waits for its sector association.
    [not_association] Application №{ $id } does not wait for a sector association.
    [no_reason] A rejection needs a reason.
   *[no_key] No QR signing key is active; ask the operators.
}
biz-preapproved = The sector association pre-approved application №{ $id }. Now the administrators will review it.
biz-rejected = Application №{ $id } was rejected{ $stage ->
    [association] {" "}(decision of the sector association)
   *[other] {""}
}. Reason: { $reason }
biz-approved = Application №{ $id } approved! The venue “{ $venue }” runs in test mode until { $until }: check-ins work and are marked as test. After that it goes live by itself. { $posters ->
    [one] Your poster to print follows.
   *[other] Your { $posters } posters to print follow.
} /business opens the owner tools.
biz-poster-caption = “{ $venue }”, entrance №{ $entrance }: { $kind ->
    [exit] EXIT
   *[entry] ENTRY
} code. Print it on A4 and place it at the door.
biz-live-now = The test week of the venue “{ $venue }” is over: the venue is live now.

biz-owner-tools = The venue “{ $venue }”: what would you like to do?
biz-owner-choose = Choose a venue.
biz-owner-only = Only an active owner of the venue can do that.
biz-tool-invite = ➕ Invite staff
biz-tool-staff = 👥 Staff
biz-tool-entrance = 🚪 Add entrance
biz-tool-codes = 🔁 Codes
biz-tool-occupancy = Inside now
biz-tool-today = Today
biz-tool-chart = 📊 Week chart
biz-tool-new-application = New application
biz-invite-link = One-time invitation for a staff member of the venue “{ $venue }”, valid until { $until }: { $link }
biz-invite-command = One-time invitation for a staff member of the venue “{ $venue }”, valid until { $until }. This messenger opens no invitation links: the staff member sends the bot this message from their own chat:
    { $code }
biz-staff-none = The venue “{ $venue }” has no staff members yet.
biz-staff-list = The venue “{ $venue }”: { $count ->
    [one] { $count } staff member
   *[other] { $count } staff members
}. Press one to remove it.
biz-staff-remove-button = Remove staff member №{ $id } (added { $since })
biz-staff-removed = Staff member №{ $id } removed.
biz-staff-removed-notice = You are no longer a staff member of the venue “{ $venue }”.
biz-entrance-added = Entrance №{ $entrance } added to the venue “{ $venue }”; its posters follow.
biz-too-many-entrances = This venue already has too many entrances.
biz-codes-choose = The venue “{ $venue }”: replace an entrance's codes (the old ones stop working) or revoke them.
biz-code-rotate-button = 🔁 Entrance №{ $entrance }: replace codes
biz-code-revoke-button = ⛔ Entrance №{ $entrance }: revoke codes
biz-code-rotated = The codes of entrance №{ $entrance } of the venue “{ $venue }” were replaced; the old posters no longer work. New posters follow.
biz-code-revoked = The codes of entrance №{ $entrance } of the venue “{ $venue }” were revoked.
biz-last-entrance = This is the venue's last entrance: replace its codes instead of revoking them.
biz-occupancy = The venue “{ $venue }”: { $count ->
    [one] { $count } person
   *[other] { $count } people
} inside now.
biz-today = The venue “{ $venue }” today: admitted { $admitted }, refused { $refused }.
biz-chart-title = { $venue }: check-ins by hour, last 7 days
biz-chart-caption = The venue “{ $venue }”: { $total ->
    [one] { $total } check-in
   *[other] { $total } check-ins
} in the last 7 days, by hour.

biz-monitor-only = Only a monitoring group can record violations.
biz-monitor-region = Your monitoring group works only in this region: { $region }.
biz-violation-usage = Write: /violation VENUE_NUMBER what was found
biz-venue-unknown = There is no active venue №{ $id }.
biz-violation-recorded = Violation at the venue “{ $venue }” (№{ $id }) recorded{ $repeat ->
    [yes] {" "}(a repeat one)
   *[no] {""}
}. The venue is suspended until { $until }.
biz-suspended-owner = A monitoring group recorded a violation at the venue “{ $venue }”: { $note }. Check-in is suspended until { $until }{ $repeat ->
    [yes] {" "}(repeat violation: 2 months)
   *[no] {" "}(2 weeks)
}.
biz-suspension-ended = The suspension of the venue “{ $venue }” has ended: check-in works again.
biz-authority-only = This command is for authorities.
biz-region-header = { $region ->
    [all] All regions
   *[other] Region: { $region }
}. { $venues ->
    [one] { $venues } venue
   *[other] { $venues } venues
}, { $inside ->
    [one] { $inside } person
   *[other] { $inside } people
} inside now.
biz-region-line = №{ $id } “{ $venue }”, { $address }: { $inside } inside{ $mode ->
    [test] , test week
    [suspended] , suspended
   *[live] {""}
}
biz-region-more = …and { $count ->
    [one] { $count } more venue
   *[other] { $count } more venues
} (see the HTTP endpoint).
