# Dependants (issue 18 item 4): only from official records.

cmd-family = Your children from official records
family-empty = No dependants are linked to you. Children are linked only from official records (the civil registry, school lists), never by typing an IIN.
family-list =
    Your dependants from official records ({ $count }):
    { $list }
    They come from the civil registry and school lists; to correct them, contact the registry office or the school.

## `/family IIN`, invitations of adult relatives, removals.

family-typed-refused = { $kind ->
        [adult] Nobody is added by a typed IIN. An adult relative becomes your dependant only by confirming it from their own verified chat: send /family invite and pass them the link or the code.
        [child] Nobody is added by a typed IIN. Children are linked only from official records (the civil registry, school lists); to correct them, contact the registry office or the school.
       *[invalid] Nobody is added by a typed IIN. To invite an adult relative, send /family invite.
    }
family-remove-button = Remove { $who }
family-withdraw-button = Stop sharing with { $who }
family-guardians =
    Adults who see your status and may check you in, with your consent ({ $count }):
    { $list }
    You may withdraw your consent at any time.
family-invite-code =
    An invitation for an adult relative (valid once, until { $until }).
    They send the bot this message from their own chat: /family { $code }
    Once they confirm it from their own verified chat, you will see their status, get its changes and may check them in with you. Children need no invitation: they come from official records.
family-invite-limit = You already have { $max } open invitations. Wait until they are used or expire.
family-invite =
    An invitation for an adult relative (valid once, until { $until }):
    { $link }
    Or they send: /family { $code }
    Once they confirm it from their own verified chat, you will see their status, get its changes and may check them in with you. Children need no invitation: they come from official records.
family-invite-invalid = This invitation is not valid: it was used, it expired, or the code is wrong.
family-invite-own = This is your own invitation: pass it to the relative you invited.
family-invite-minor = Only an adult may confirm an invitation. Children are linked only from official records.
family-invite-already = You are already linked to { $who }.
family-invite-confirm =
    The person with IIN { $who } invites you to be their dependant in Ashyq.
    If you agree, they will see your status, get its changes and may check you in at venues together with them. You may withdraw this at any time in /family.
family-invite-yes = I agree
family-invite-no = Decline
family-invite-declined = You declined the invitation. Nothing was shared.
family-invite-accepted = Done: { $who } now sees your status and may check you in. To withdraw, send /family.
family-relative-joined = { $who } confirmed your invitation: they are now your dependant in /family.
family-remove-gone = This link no longer exists.
family-remove-official = This link comes from official records; to correct it, contact the registry office or the school.
family-removed = { $side ->
        [adult] Removed. They are no longer your dependant.
       *[dependant] Done: you no longer share your status with that adult.
    }
family-status-changed =
    The Ashyq status of your dependant { $who } has changed: now { $colour ->
        [red] { -red }
        [yellow] { -yellow }
        [green] { -green }
       *[blue] { -blue }
    }{ $has_until ->
        [yes] {" "}until { $until }.
       *[no] .
    }
    { $colour ->
        [red] They may go nowhere: strict home isolation.
        [yellow] Only grocery shops and pharmacies near home.
        [green] They may go everywhere.
       *[blue] Everywhere except places that require a PCR test (e.g. airports).
    }

## Group check-in: "who is with you?"

checkin-group-ask =
    { $venue }: who is with you? Mark the dependants entering with you and press “Done”. Each person gets their own check code.
    Marked: { $selected } of { $count }.
checkin-group-member = { $on ->
        [yes] ✅
       *[no] ⬜
    } { $who }
checkin-group-only-me = Only me
checkin-group-done = Done
checkin-group-expired = The question for { $venue } has expired. Scan the entrance code again.
checkin-group-line = { $self ->
        [yes] You
       *[no] { $who }
    }: { $colour ->
        [green] 🟩 GREEN
        [yellow] 🟨 YELLOW
        [red] 🟥 RED
       *[blue] 🟦 BLUE
    } · { $verdict ->
        [admit] ✅ MAY ENTER
       *[deny] ⛔ MAY NOT ENTER
    } · check code { $code }
checkin-group-result =
    { $venue }, entrance №{ $entrance }
    Scanned at { $time }
    { $lines }
    May enter: { $admitted } of { $count }.{ $removed ->
        [0] {""}
       *[other] {" "}No longer linked to you, not checked in: { $gone }.
    }
    Staff: each code must appear in the venue’s staff chat.
