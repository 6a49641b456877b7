## The venue page (ASHYQ_PUBLIC_URL) a poster's QR code opens
poster-page-title = { $kind ->
        [exit] Check out of the venue
       *[entry] Check in at the venue
    }
poster-page-lead = Choose your messenger: the Ashyq bot opens with this venue’s code.
poster-page-open = Open in { $messenger }
poster-page-code = Or send the bot this code: { $code }
poster-page-privacy = This page asks nothing about you and stores nothing.
poster-page-invalid-title = This code is not valid
poster-page-invalid = This QR code is not valid or is no longer in use. Ask the venue’s staff for the current poster.
poster-page-unavailable = The service is temporarily unavailable. Please try again shortly.
