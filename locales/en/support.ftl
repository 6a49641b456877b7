# Support desk. Keys exist in kk, ru and en with the same placeables.
# A ticket is a support question (not a business application).


cmd-support = Write to support
menu-support = 💬 Support

## The user's side
support-intro = This is Ashyq support. Unified contact centre: 1414 for citizens, 1432 for businesses. You can write to us here too.
support-unavailable = Support in the chat is not available right now. Please call the unified contact centre: 1414 (citizens) or 1432 (businesses).
support-choose-category = What is your question about?
support-cat-citizen = 👤 Citizens (1414)
support-cat-business = 🏢 Businesses (1432)
support-cat-voucher = 🎟 Vouchers
support-exit = ⬅️ Back to the menu
support-use-buttons = Please choose with one of the buttons.
support-ask-question = Describe your question in a few words. Photos, files and voice messages are welcome too.
support-faq-did-it-help = Did this answer your question?
support-faq-helped = 👍 That helped
support-faq-not-helped = 👎 That didn’t help
support-faq-glad = Glad it helped! If anything else comes up, write to /support.
support-left = You have left the support chat. Your ticket stays open: write /support to continue.
support-resumed = Your ticket #{ $ticket } is still open. Write here: the operators will see it.
support-prompt = Ticket #{ $ticket }: write your message, the operators will answer here.
support-ticket-opened = Ticket #{ $ticket } is open. An operator will answer here; you can add details, photos or files.
support-reopened = Ticket #{ $ticket } has been reopened. Write here: the operators will see it.
support-closed = Ticket #{ $ticket } has been closed. How would you rate the help you got?
support-rated = Thank you for your rating!
support-banned = You cannot write to support until { $until } (Astana time). For urgent matters call 1414 or 1432.
support-flood = Please slow down: at most { $limit ->
        [one] { $limit } message
       *[other] { $limit } messages
    } a minute reach the operators. Wait a moment and write again.
support-not-relayed = { $kind ->
        [sticker] A sticker
        [photo] A photo
        [voice] A voice message
        [video] A video
        [audio] An audio file
        [location] A location
        [document] A file
        [poll] A poll
       *[other] A message of another kind
    } cannot be passed to the operators. Please describe it in words or send a photo.
support-off-hours = Operators work on weekdays, { $hours } (Astana time). Your message has been saved; we will answer during working hours.
support-reply =
    💬 Support:
    { $text }
support-reply-signature = 💬 Support
support-reply-media = 💬 Support sent { $kind ->
        [sticker] a sticker
        [photo] a photo
        [voice] a voice message
        [video] a video
        [audio] an audio file
        [location] a location
        [document] a file
        [poll] a poll
       *[other] a message of another kind
    }, but it could not be delivered. Please ask the operator to describe it.

## The operators' side
support-topic-title = #{ $ticket } · { $category ->
        [business] businesses (1432)
        [voucher] vouchers
       *[citizen] citizens (1414)
    }
support-op-new-ticket =
    🆕 Ticket #{ $ticket }: { $category ->
        [business] businesses (1432)
        [voucher] vouchers
       *[citizen] citizens (1414)
    }
    Language: { $language }. Registered: { $registered ->
        [yes] yes
        [phone] phone only
       *[no] no
    }.
    Reply in this topic to answer. #note at the start keeps a message internal. /close, /reopen, /assign, /ban 1d, /info.
support-op-user-text =
    👤 #{ $ticket }:
    { $text }
support-op-user-signature = 👤 #{ $ticket }
support-op-user-caption = 👤 #{ $ticket }: { $text }
support-op-user-forwarded =
    👤 #{ $ticket }: a forwarded message:
    { $text }
support-op-user-media = 👤 #{ $ticket } sent { $kind ->
        [sticker] a sticker
        [photo] a photo
        [voice] a voice message
        [video] a video
        [audio] an audio file
        [location] a location
        [document] a file
        [poll] a poll
       *[other] a message of another kind
    }, but it could not be copied here.
support-op-user-uncopyable = 👤 #{ $ticket } sent { $kind ->
        [sticker] a sticker
        [photo] a photo
        [voice] a voice message
        [video] a video
        [audio] an audio file
        [location] a location
        [document] a file
        [poll] a poll
       *[other] a message of another kind
    }, which cannot be relayed. The user was asked to describe it.
support-op-reopened-by-user = 🔄 Ticket #{ $ticket } reopened: the user wrote again.
support-op-rated = ⭐ Ticket #{ $ticket } rated { $rating } out of 5.
support-op-delivery-failed = ⚠️ Ticket #{ $ticket }: the message could not be delivered: the user has blocked the bot or deleted the chat.
support-op-unknown-command = Unknown command. In a ticket topic: /close, /reopen, /assign, /ban 1d, /unban, /info.
support-op-not-in-ticket = This command works only inside a ticket’s topic (or as a reply to a ticket’s message).
support-op-cannot-relay = { $kind ->
        [sticker] A sticker
        [photo] A photo
        [voice] A voice message
        [video] A video
        [audio] An audio file
        [location] A location
        [document] A file
        [poll] A poll
       *[other] A message of another kind
    } cannot be sent to the user. Please write in words or send a photo or file.
support-op-ticket-closed-note = Note: ticket #{ $ticket } is closed; the message was delivered anyway. /reopen reopens it.
support-op-already-closed = Ticket #{ $ticket } is already closed.
support-op-closed = ✅ Ticket #{ $ticket } closed. The user has been asked to rate it.
support-op-already-open = Ticket #{ $ticket } is open.
support-op-reopened = 🔄 Ticket #{ $ticket } reopened.
support-op-assigned = 👤 Ticket #{ $ticket } is assigned to operator { $operator }.
support-op-ban-usage = Usage: /ban DURATION, e.g. /ban 30m, /ban 12h, /ban 7d, /ban 2w.
support-op-banned = 🚫 The user cannot write to support until { $until }.
support-op-unbanned = The user may write to support again.
support-op-info =
    Ticket #{ $ticket } ({ $status ->
        [open] open
       *[closed] closed
    }), opened { $opened }, category: { $category ->
        [business] businesses (1432)
        [voucher] vouchers
       *[citizen] citizens (1414)
    }
    Language: { $language }
    Registered: { $registered ->
        [yes] yes
        [phone] phone only
       *[no] no
    }
    Phone: { $phone }
    Tickets of this user: { $tickets }
    Messages: { $from_user } from the user, { $from_operators } from operators

## FAQ: keywords are word beginnings; answers are shown before a ticket opens
faq-colours-keywords = colour color green yellow blue status last long change expire
faq-colours =
    🎨 How long each colour lasts
    🔴 Red: 14 days from the sample date of your latest positive PCR test; a new positive test restarts the 14 days.
    🟡 Yellow: 14 days from the date of the contact with a positive case.
    🔵 Blue: no current test; you become blue automatically when red or yellow runs out.
    🟢 Green: 3 days (72 hours) from the result of a negative PCR test taken after any isolation ended.
    The colour changes when a laboratory result or a contact record arrives, or when its term runs out.
faq-ill-red-keywords = ill sick red covid recover positive isolation
faq-ill-red =
    🔴 Why am I red after being ill?
    Red lasts 14 days from the date the sample of your latest positive test was taken, and a negative test during those days does not lift it. When the 14 days are over you become blue automatically. A negative test taken after that makes you green for 3 days. If the dates look wrong, press “That didn’t help” and an operator will check.
faq-business-qr-keywords = business qr code poster entrance company apply shop cafe
faq-business-qr =
    🏢 QR codes for a business
    A business applies for its venue’s codes (contact centre for businesses: 1432). Each venue gets at least two codes, entry and exit, and one per entrance when it has several. The codes are signed by the service, cannot be forged, and work when photographed from a printed poster.
faq-guard-keywords = guard staff visitor smartphone security doorman without
faq-guard =
    🛡 Guard mode
    For visitors without a smartphone: a staff member of the venue types the visitor’s IIN, with the visitor’s consent, sees the colour status and records the entry.
faq-checkout-keywords = check checkout out exit leave leaving
faq-checkout =
    🚪 Checking out
    Scan the venue’s exit QR code when you leave, or tap “Check out”. If you forget, you are checked out automatically after the venue’s maximum stay.
faq-vouchers-keywords = 2#1 voucher vouchers meal school child parent wallet canteen offer
faq-vouchers =
    🎟 Vouchers and the 2#1 reply
    A parent gets a meal-voucher offer from the short number 1414 and agrees by replying 2#1 (free of charge) from the number the offer came to: 2 is the offer, 1 means yes; 2#2 declines. The voucher then opens in the wallet: activate it and share its QR with the child. The child gets at most one meal per school day.
faq-data-keywords = data personal privacy delete iin phone stored forget
faq-data =
    🔒 Your personal data
    We keep your phone number and IIN only encrypted, use them only to look up your status with your consent, never show them to venues and never pass them on. Operators never see your IIN. /forget deletes your data at any time.
